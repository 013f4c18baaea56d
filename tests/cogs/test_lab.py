"""A whole lab through real Discord payloads, with the bot restarted in the middle: the Swarm lab (challenge 3)
is started, its tick buttons pressed before and after the restart (the dynamic items of the bot that runs after
it understand the buttons the one before posted), a command's output pasted, and the progress and the
scoreboard add it all up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.scoreboard import Scoreboard
from tests.discord.live import Class, answer, open_class, quiet, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.evidence.test_docker import sample


def _button(live: Class, item: str) -> tuple[Any, str]:
    """The message in blue's run thread that carries the tick button of `item`, and the button's custom id."""
    thread = thread_of(live, "blue")
    assert thread is not None
    for message in live.discord.messages(thread):
        for custom_id in message.custom_ids():
            if custom_id.endswith(f":{item}"):
                return message, custom_id
    raise AssertionError(f"no button for {item}")


async def _ticks(live: Class) -> list[Any]:
    team = await live.app.store.teams.get("blue")
    assert team is not None
    return await live.app.store.ticks.of_team(team.id, 3)


async def _points(live: Class) -> tuple[int, int]:
    ranking = await Scoreboard(store=live.app.store, catalog=live.app.catalog).ranking(3)
    [blue] = [r for r in ranking if r.team == "blue"]
    return blue.points, blue.rubric_points


async def test_a_lab_runs_through_a_restart(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder) as live:
        started = await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=3))
        assert started.startswith("Challenge 3 started! Team blue")
        await quiet(live)
        thread = thread_of(live, "blue")
        assert thread is not None and thread.name == "Challenge 3 · blue · Failure scenarios & orchestration lab"
        # The thread starts from the briefing, which stands in the team's channel; the buttons follow in the thread.
        (briefing,) = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
        tick_posts = [m for m in live.discord.messages(thread) if m.custom_ids()]
        text = briefing.embed_text()
        assert "Phase 1: A single container's failure (2 hours, from the start)" in text
        assert "Phase 3: Advanced orchestration scenarios (90 minutes, from 4 hours after the start)" in text
        assert "• Docker Swarm cluster built (docker node ls) — 5 pts, command output pasted" in text
        assert "• Load balancing seen working — 5 pts, ticked by the team" in text
        # One message of buttons per phase, a button per checkpoint the team ticks (7 of the 12).
        assert [len(m.custom_ids()) for m in tick_posts] == [4, 1, 2]
        assert tick_posts[0].custom_ids()[0] == f"kubecamp:tick:{1}:failure-experienced"
        # Nothing was made on the cluster: the bot cannot reach the Docker host the lab runs on.
        assert kube_cluster.get("namespaces", None, "kubecamp-blue") is None

        message, button = _button(live, "failure-experienced")
        ticked = await live.discord.click(message, button, "blue-1")
        assert ticked.ephemeral
        assert ticked.text() == (
            "✅ Lived through a single container's failure: ticked (5 points). 1/12 checkpoints reached."
        )
        # Another team cannot see the thread; an instructor can, and is no member of the team.
        instructor = await live.discord.click(message, button, "instructor")
        assert instructor.ephemeral and instructor.text() == "only a member of team blue can tick this checkpoint"
        assert [(t.item, t.ticked_by) for t in await _ticks(live)] == [
            ("failure-experienced", str(live.room.students["blue"][0].id))
        ]
        status = await slash(live, "blue-2", "team-blue", "challenge", "status")
        assert status.ephemeral and "This lab's checkpoints: /challenge progress" in status.text()
        verify = await slash(live, "blue-1", "team-blue", "challenge", "verify")
        assert (await answer(verify)).startswith("challenge 3 has no checkpoint the bot verifies on the cluster")

    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder, create_teams=False) as live:
        # The same buttons, pressed in the bot that runs now.
        message, button = _button(live, "failure-experienced")
        again = await live.discord.click(message, button, "blue-2")
        assert again.ephemeral
        assert again.text().startswith("☑️ Lived through a single container's failure: already ticked by <@")
        assert len(await _ticks(live)) == 1  # a second press changes nothing
        message, button = _button(live, "load-balancing")
        ticked = await live.discord.click(message, button, "blue-2")
        assert ticked.text() == "✅ Load balancing seen working: ticked (5 points). 2/12 checkpoints reached."

        form = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="3/self-healing")
        assert form.modal is not None
        before = await live.discord.submit_modal(form, {"output": sample("docker-service-ps-killed.txt")})
        assert before.text().startswith("❌ Self-healing seen working (docker service ps web-service): not passed yet.")
        form = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="self-healing")
        passed = await live.discord.submit_modal(form, {"output": sample("docker-service-ps-recovered.txt")})
        assert passed.text().startswith("✅ Self-healing seen working (docker service ps web-service): passed.")
        ticks = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="load-balancing")
        assert ticks.modal is None and ticks.text() == (
            "item load-balancing is ticked by the team with its button in the run's thread: there is no command "
            "output to paste for it"
        )

        progress = await slash(live, "blue-2", "team-blue", "challenge", "progress")
        shown = progress.original.embed_text()
        assert "Required: 15/60 pts · bonus: 0/0 pts\n3/12 checkpoints reached" in shown
        assert "✅ Lived through a single container's failure — 5/5 pts" in shown
        assert "✅ Load balancing seen working — 5/5 pts" in shown
        assert "✅ Self-healing seen working (docker service ps web-service) — 5/5 pts" in shown
        assert "⏳ Rolling update done without downtime (docker service ps web-service) — 0/5 pts" in shown
        fields = [f["name"] for f in progress.original.embeds[0]["fields"]]
        assert fields == ["A single container's failure", "Docker Swarm basics", "Advanced orchestration scenarios"]
        assert await _points(live) == (15, 15)  # ticked and pasted items count while the run is under way

        stopped = await slash(live, "instructor", "alerts", "challenge", "stop", team="blue")
        assert "stopped" in await answer(stopped)
        message, button = _button(live, "network-failure")
        late = await live.discord.click(message, button, "blue-1")
        assert late.text() == (
            "this run of challenge 3 is over, so its checkpoints can no longer be ticked: ask an instructor"
        )
        assert len(await _ticks(live)) == 2
