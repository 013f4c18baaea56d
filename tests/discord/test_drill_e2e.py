"""An incident drill, end to end: the real App against the Discord emulator and the emulated cluster.

An instructor starts drill 91 for team blue (`/admin drill`); challenge 2's image pull failure is applied and
the simulated kubelet fails to pull, and nothing is posted to the team. Alertmanager's notification of
KubecampImagePullFailing for the team's namespace (the body Alertmanager 0.25 sent, its Pod the failing one)
opens the incident thread in the team's channel, calling the team's role; the run's posts go into it. Only a
member of the team acknowledges it; the bot restarts; the team fixes the Deployment through the cluster,
verifies, and the drill's results (time to acknowledge, time to fix, points) are posted once and counted on the
scoreboard.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.cluster import Cluster
from tests.discord.live import Class, answer, deliver, incident_starter, open_class, quiet, slash
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student

PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"


def _failing_pod(live: Class) -> str:
    """The frontend Pod whose container the simulated kubelet cannot pull, once there is one."""
    for pod in live.kube.objects("pods", "kubecamp-blue"):
        for status in pod.get("status", {}).get("containerStatuses") or []:
            if (status.get("state", {}).get("waiting") or {}).get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                return str(pod["metadata"]["name"])
    return ""


def _notification(pod: str) -> bytes:
    """Alertmanager's body for the team's alert, naming the Pod the cluster really has."""
    body = json.loads((PAYLOADS / "firing_one.json").read_text(encoding="utf-8"))
    captured = body["alerts"][0]["labels"]["pod"]
    return json.dumps(body).replace(captured, pod).encode()


async def test_a_drill_from_the_alert_to_the_scoreboard(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    # The class announces first solves: a drill's never are (they would tell the next team what breaks).
    announcements = discord_emulator.add_text_channel(discord_classroom.guild, "announcements")
    opened = {"announcements_channel": announcements.id}
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder, **opened) as live:
        incident_id, thread, run_id = await _alerted_and_acknowledged(live)
    # The bot restarts: the drill, its incident and its acknowledgement are the store's.
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, create_teams=False, **opened
    ) as live:
        await _fixed_and_scored(live, incident_id, thread, run_id)
        assert live.discord.messages(announcements) == []


async def _alerted_and_acknowledged(live: Class) -> tuple[int, Any, int]:
    """The drill started, its alert's thread calling the team, acknowledged by a member: the incident, its thread,
    the run."""
    blue = live.room.team_channels["blue"]

    refused = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=91)
    assert "is an incident drill: an instructor starts it" in await answer(refused)
    not_a_drill = await slash(live, "instructor", "alerts", "admin", "drill", team="blue", challenge=2)
    assert "Challenge 2 is not an incident drill" in await answer(not_a_drill)
    assert live.kube.get("deployments", "kubecamp-blue", "frontend") is None

    started = await slash(live, "instructor", "alerts", "admin", "drill", team="blue", challenge=91)
    assert "Incident drill 91 (Incident drill: deployment disaster) started for team blue" in await answer(started)
    assert started.ephemeral
    # The break is the cluster's: the simulated kubelet cannot pull the new version's image.
    await live.discord.wait_until(lambda: _failing_pod(live), 10, "the frontend's image pull failing")
    pod = _failing_pod(live)
    await quiet(live)
    assert live.discord.messages(blue, include_ephemeral=False) == [] and live.discord.threads(blue) == []

    # The alert reaches the team: its incident thread opens in the team's channel and calls the team's role.
    assert await deliver(live, _notification(pod)) == 200
    starter, incident_id = await incident_starter(live, blue, "KubecampImagePullFailing", "kubecamp-blue")
    role = live.room.team_roles["blue"].id
    assert str(starter.content).startswith(f"<@&{role}> 🚨 This is an incident drill")
    assert "frontend" not in str(starter.content)  # what broke is the team's to find
    (thread,) = live.discord.threads(blue)
    await quiet(live)
    team = await live.app.store.teams.get("blue")
    assert team is not None
    (run,) = await live.app.store.runs.of_team(team.id)
    assert run.thread_id == thread.id  # the run's posts go into the incident's thread

    # Someone outside the team who sees its channel (the server's owner), and an instructor, cannot take the
    # team's acknowledgement.
    ack = f"kubecamp:incident:{incident_id}:ack"
    other = await live.discord.click(starter, ack, "server-owner")
    assert other.text() == f"Only team blue or an instructor can acknowledge incident #{incident_id}."
    instructor = await live.discord.click(starter, ack, "instructor")
    assert instructor.text() == (
        f"Incident #{incident_id} is team blue's incident drill: until the drill ends, only the team's members "
        "can acknowledge it."
    )
    incident = await live.app.store.incidents.get(incident_id)
    assert incident is not None and incident.acknowledged_at is None
    member = await live.discord.click(starter, ack, "blue-2")
    assert member.text() == f"You acknowledged incident #{incident_id}."
    await quiet(live)
    return incident_id, thread, run.id


async def _fixed_and_scored(live: Class, incident_id: int, thread: Any, run_id: int) -> None:
    blue = live.room.team_channels["blue"]

    # Before the fix a verification fails, in the drill's thread; then the team fixes the Deployment.
    failing = await slash(live, "blue-1", "team-blue", "challenge", "verify")
    assert "0 of 1 pass" in await answer(failing)
    student = Cluster.for_host(live.kube.url, token="student")
    try:
        await apply_like_a_student(student, CATALOG.get(91).scenario("image-pull"))
    finally:
        await student.close()
    await live.discord.wait_until(lambda: not _failing_pod(live), 10, "the frontend's Pods pulling again")
    live.clock.offset = timedelta(seconds=20)  # past the team's verification cooldown
    verified = await slash(live, "blue-2", "team-blue", "challenge", "verify")
    assert "1 of 1 pass" in await answer(verified)

    def results() -> list[dict[str, object]]:
        posted = live.discord.messages(blue, include_ephemeral=False)
        return [e for m in posted if m.thread_id is None for e in m.embeds if "drill" in e["title"]]

    await live.discord.wait_until(results, 10, "the drill's results")
    await quiet(live)
    (embed,) = results()
    assert embed["title"] == "🎉 Incident drill 91 fixed: Incident drill: deployment disaster"
    fields = {f["name"]: f["value"] for f in embed["fields"]}  # type: ignore[attr-defined]
    assert "Image deployment failure" in fields["What broke"]
    assert fields["Time to acknowledge (from the alert)"].endswith("by Blue Student 2")
    assert fields["Points"] == "fix 25 (tier 100%) + acknowledge 10 = 35/35 points"
    in_thread = [e["title"] for m in live.discord.messages(thread) for e in m.embeds]
    assert any(str(t).startswith("🔍 Verification") for t in in_thread), in_thread

    ended = await live.app.store.runs.get(run_id)
    assert ended is not None and ended.status == "finished" and ended.points == 35
    kept = (ended.notes or {})["drill"]
    assert kept["incident"] == incident_id and kept["acknowledged_by"] == "Blue Student 2"
    assert 0 <= kept["acknowledge_seconds"] < 60 and kept["acknowledge_points"] == 10

    board = await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=91)
    assert "🥇 **blue** — 35 pts" in board.original.embed_text()
    overall = await slash(live, "red-1", "team-red", "scoreboard", "show")
    assert "🥇 **blue** — 35 pts" in overall.original.embed_text()
