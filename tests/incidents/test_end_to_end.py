"""Incidents end to end with real processes: Prometheus (Debian's) evaluates the project's rules over
kube-state-metrics series derived from the emulated cluster, Alertmanager 0.25 posts to the bot's
webhook with a bearer token, and the bot, connected to the Discord emulator, keeps the incident
thread in step until it resolves. The rules' `for` is shortened to 2 s (promtool's unit tests cover
the real durations); nothing here writes a status by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import Cluster
from tests.discord.live import WEBHOOK_TOKEN, Class, open_class, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.peers.fixtures import StartAlertmanager, StartPrometheus
from tests.peers.processes import AlertmanagerProcess, Exposition, Sample, free_port
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student
from tests.scheduling import SLEEPS_ON_REAL_TIMERS

ALERT = "KubecampImagePullFailing"
PULL_REASONS = {"ErrImagePull", "ImagePullBackOff"}
#: A namespace no team owns: its incident goes to #alerts.
STRAY: Sample = (
    "kube_pod_container_status_waiting_reason",
    {"namespace": "kubecamp-green", "pod": "web-0", "container": "web", "reason": "ImagePullBackOff"},
    1.0,
)


def kube_state_metrics(kube: KubeCluster, namespace: str) -> list[Sample]:
    """What kube-state-metrics would export for the containers of `namespace` waiting on an image pull."""
    samples: list[Sample] = []
    for pod in kube.objects("pods", namespace):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in PULL_REASONS:
                labels = {"namespace": namespace, "pod": pod["metadata"]["name"], "container": status["name"]}
                samples.append(("kube_pod_container_status_waiting_reason", {**labels, "reason": reason}, 1.0))
    return samples


@pytest.fixture
async def alerting_class(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    class_folder: Path,
    start_alertmanager: StartAlertmanager,
) -> AsyncIterator[tuple[Class, AlertmanagerProcess]]:
    port = free_port()
    alertmanager = await start_alertmanager(
        f"http://127.0.0.1:{port}/webhooks/alertmanager", bearer_token=WEBHOOK_TOKEN
    )
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        class_folder,
        alertmanager_url=alertmanager.url,
        edit_interval=0.5,
        web_port=port,
    ) as live:
        yield live, alertmanager


def _incident_thread(live: Class, channel: Any, namespace: str) -> Any:
    for thread in live.discord.threads(channel):
        if f"{ALERT} · {namespace}" in thread.name:
            return thread
    return None


def _starter(live: Class, channel: Any, thread: Any) -> Any:
    [message] = [m for m in live.discord.messages(channel) if m.thread_id == thread.id]
    return message


@SLEEPS_ON_REAL_TIMERS
async def test_alerts_become_an_incident_thread_that_follows_them_until_resolved(
    alerting_class: tuple[Class, AlertmanagerProcess], exposition: Exposition, start_prometheus: StartPrometheus
) -> None:
    live, alertmanager = alerting_class
    discord, room = live.discord, live.room
    blue = room.team_channels["blue"]

    # Team blue is in a run of challenge 2: its frontend cannot pull its image.
    await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    await discord.wait_until(lambda: thread_of(live, "blue"), 10, "the run's thread")
    run_thread = thread_of(live, "blue")
    await discord.wait_until(lambda: len(kube_state_metrics(live.kube, "kubecamp-blue")) == 3, 15, "3 pull failures")
    exposition.set_samples([*kube_state_metrics(live.kube, "kubecamp-blue"), STRAY])
    await start_prometheus(exposition, alertmanager=alertmanager)

    # The incident thread opens in the team's channel, one field per failing pod.
    await discord.wait_until(lambda: _incident_thread(live, blue, "kubecamp-blue"), 30, "the incident thread")
    thread = _incident_thread(live, blue, "kubecamp-blue")
    assert thread.name.startswith("🔥 #")
    starter = _starter(live, blue, thread)
    embed = starter.embeds[0]
    assert embed["title"] == f"🔥 {ALERT} · kubecamp-blue"
    pods = sorted(labels["pod"] for _, labels, _ in kube_state_metrics(live.kube, "kubecamp-blue"))
    assert sorted(f["name"].split("pod=")[1].split(",")[0] for f in embed["fields"]) == pods
    assert all("cannot pull its image" in f["value"] and "runbook" in f["value"] for f in embed["fields"])
    incident_id = int(thread.name.split("#")[1].split()[0])
    assert set(starter.custom_ids()) == {
        f"kubecamp:incident:{incident_id}:{a}" for a in ("ack", "silence1h", "silence4h")
    }

    # The thread says what the cluster says; the run's thread points at the incident.
    def said(channel: Any) -> str:
        return "\n".join(str(m.content) for m in discord.messages(channel))

    # A few seconds into a bad pull the kubelet still says ErrImagePull; ImagePullBackOff comes with the back-off.
    await discord.wait_until(lambda: any(r in said(thread) for r in PULL_REASONS), 15, "the cluster context")
    assert "Failed" in said(thread) and "nginx:1.27-alpinee" in said(thread)
    await discord.wait_until(lambda: f"<#{thread.id}>" in said(run_thread), 15, "the run thread's notice")
    assert "Your cluster is telling you something" in said(run_thread)

    # An alert in a namespace no team owns goes to #alerts.
    await discord.wait_until(lambda: _incident_thread(live, room.alerts, "kubecamp-green"), 30, "the #alerts thread")

    # Silence: refused to a student, done for the instructor, through Alertmanager's API.
    refused = await discord.click(starter, f"kubecamp:incident:{incident_id}:silence1h", "blue-1")
    assert refused.ephemeral and "instructor" in refused.text().lower()
    done = await discord.click(starter, f"kubecamp:incident:{incident_id}:silence1h", "instructor")
    assert done.ephemeral and "silenced for 1 h" in done.text()
    silence_id = done.text().split("`")[1]
    [silence] = [s for s in await alertmanager.silences() if s["id"] == silence_id]
    assert silence["status"]["state"] == "active"
    assert {m["name"]: m["value"] for m in silence["matchers"]} == {
        "alertname": ALERT,
        "namespace": "kubecamp-blue",
        "container": "frontend",
        "severity": "warning",
    }
    assert silence["createdBy"] == "Instructor Kim"
    await discord.wait_until(
        lambda: "unsilence" in " ".join(_starter(live, blue, thread).custom_ids()), 10, "the Unsilence button"
    )
    assert silence_id in _starter(live, blue, thread).embeds[0]["description"]
    lifted = await discord.click(
        _starter(live, blue, thread), f"kubecamp:incident:{incident_id}:unsilence", "instructor"
    )
    assert "no longer silenced" in lifted.text()
    [expired] = [s for s in await alertmanager.silences() if s["id"] == silence_id]
    assert expired["status"]["state"] == "expired"

    acked = await discord.click(_starter(live, blue, thread), f"kubecamp:incident:{incident_id}:ack", "blue-2")
    assert "acknowledged" in acked.text()
    await discord.wait_until(
        lambda: "Acknowledged by" in _starter(live, blue, thread).embeds[0]["description"], 10, "the acknowledgement"
    )

    # The team fixes the image; kube-state-metrics stops reporting the pull failures.
    student = Cluster.for_host(live.kube.url, token="student")
    try:
        await apply_like_a_student(student, CATALOG.get(2).scenario("image-pull"))
    finally:
        await student.close()
    await discord.wait_until(lambda: not kube_state_metrics(live.kube, "kubecamp-blue"), 20, "the pods to pull")
    exposition.set_samples([STRAY])

    def resolved() -> bool:  # the thread's rename and archive and the starter's edit are separate deliveries
        current = discord.threads(blue)
        archived = any(t.id == thread.id and t.archived and t.name.startswith("✅") for t in current)
        return archived and _starter(live, blue, thread).embeds[0]["title"].startswith("✅")

    await discord.wait_until(resolved, 40, "the incident thread resolved and archived, its starter edited")
    assert "has resolved. It lasted" in said(thread)
    final = _starter(live, blue, thread)
    assert final.embeds[0]["title"] == f"✅ {ALERT} · kubecamp-blue"
    assert final.custom_ids() == []
