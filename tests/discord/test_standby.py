"""An active + warm standby pair: two real `kubecamp run` processes on one PostgreSQL database and one Lease.

The class's run started 35 minutes before the bots came up, so its automatic verification (the 20- and 30-minute
hints of the four scenarios, with the results) is overdue. The leader is killed with SIGKILL inside that job (its
snapshot hangs), before anything of it was written down: the follower takes the Lease within its duration and
posts the results. The old leader comes back as the follower; the new leader is killed once its post has landed:
the other takes over again and, rerunning the job, posts nothing twice. Meanwhile Alertmanager posts to the
follower's webhook: the leader publishes the incident.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from benchmarks.notifications import Group
from bot.outbox import OutboxStore
from bot.store import Store
from tests.databases import TEST_DATABASE_URL
from tests.discord.live import post_notification, process_environment
from tests.discord.test_restart import hints, run_thread_posts, start_run_minutes_ago
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.admission import RELEASE_NAMESPACE, chart_settings
from tests.emulators.kube import KubeCluster
from tests.peers.processes import KubecampProcess

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.xdist_group("kubecamp-processes"),
    pytest.mark.skipif(TEST_DATABASE_URL is None, reason="two replicas need PostgreSQL: KUBECAMP_TEST_DATABASE_URL"),
]

#: Seconds the Lease holds without renewal: short, so the takeover is measured in a test's time.
LEASE_SECONDS = 6


@pytest_asyncio.fixture
async def kube_cluster() -> AsyncIterator[KubeCluster]:
    """The cluster with the chart installed for two replicas: its policy lets the bot write its Lease."""
    async with KubeCluster(crds=True, replicas=2) as cluster:
        cluster.create("namespaces", {"metadata": {"name": RELEASE_NAMESPACE}})
        yield cluster


async def leader_of(process: KubecampProcess) -> dict[str, Any]:
    """What the replica's /readyz says of the election."""
    async with aiohttp.ClientSession() as session, session.get(process.ready_url) as response:
        body: dict[str, Any] = await response.json()
        return dict(body["leader"])


async def wait_leading(process: KubecampProcess, timeout: float) -> float:  # noqa: ASYNC109 - the test's bound
    """Seconds until `process` leads; fails after `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if (await leader_of(process))["leading"]:
                return time.monotonic() - began
        except (aiohttp.ClientError, KeyError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{process.environment['KUBECAMP_LEADER_IDENTITY']} did not lead within {timeout} s")


async def test_the_follower_takes_over_a_killed_leader_and_posts_every_result_once(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    url = postgres_url
    run_id = await start_run_minutes_ago(url, kube_cluster, discord_classroom, 35)
    due_hints = 8  # levels 1 and 2 (at 20 and 30 minutes) of each of the four scenarios
    lease = chart_settings(2)

    def replica(name: str) -> KubecampProcess:
        (tmp_path / name).mkdir()
        env = process_environment(tmp_path / name, discord_emulator, discord_classroom, kube_cluster, database_url=url)
        env |= {k: v for k, v in lease.items() if k.startswith("KUBECAMP_LEADER_")}
        env |= {"KUBECAMP_LEADER_IDENTITY": name, "KUBECAMP_LEADER_LEASE_SECONDS": str(LEASE_SECONDS)}
        return KubecampProcess(tmp_path / name / "process", environment=env)

    def thread_posts() -> list[list[str]]:
        return run_thread_posts(discord_emulator, discord_classroom)

    a, b = replica("kubecamp-bot-a"), replica("kubecamp-bot-b")
    takeovers: list[float] = []
    try:
        # 1. a leads and is inside the automatic verification (its snapshot's lists get no answer); b follows.
        snapshot = kube_cluster.hang(verb="list")
        await a.start()
        await wait_leading(a, 10)
        await b.start()
        assert await leader_of(b) == {"identity": "kubecamp-bot-b", "leading": False, "holder": "kubecamp-bot-a"}
        await discord_emulator.wait_until(lambda: snapshot.hits, 30, "the automatic verification's snapshot")

        # The follower's webhook takes a notification; the leader publishes it.
        group = Group("KubeNodeNotReady", "monitoring", datetime.now(UTC))
        body = group.notification([0], at=datetime.now(UTC))
        assert await post_notification(f"{b.url}/webhooks/alertmanager", body) == 200
        await discord_emulator.wait_until(
            lambda: discord_emulator.threads(discord_classroom.alerts), 15, "the incident's thread, from the leader"
        )

        a.kill()
        kube_cluster.clear_faults()
        takeovers.append(await wait_leading(b, LEASE_SECONDS + 5))
        await discord_emulator.wait_until(lambda: hints(thread_posts()), 30, "the results, posted by the new leader")

        # 2. a comes back as the follower; b is killed once its post has landed: a reruns the job, posts nothing.
        await a.start()
        assert (await leader_of(a))["holder"] == "kubecamp-bot-b"
        b.kill()
        takeovers.append(await wait_leading(a, LEASE_SECONDS + 5))
        await asyncio.sleep(3)  # anything posted twice would have arrived by now
    finally:
        await a.stop()
        await b.stop()
    for process in (a, b):
        assert "Traceback" not in process.log_tail(10_000)
    assert all(seconds <= LEASE_SECONDS + LEASE_SECONDS / 3 + 1 for seconds in takeovers), takeovers

    post, *_ = [p for p in thread_posts() if p and p[0].startswith("⏰ Automatic verification")]
    assert [p for p in thread_posts() if p and p[0].startswith("⏰ Automatic verification")] == [post]
    assert len(set(hints([post]))) == len(hints([post])) == due_hints, post
    assert sum("Hint 1/" in t for t in post) == sum("Hint 2/" in t for t in post) == 4, post

    store = await Store.open(url)
    try:
        assert len(await store.runs.hints_posted(run_id)) == due_hints
        pending, _ = await OutboxStore(store.db).stats(datetime.now(UTC))
        assert pending == 0
    finally:
        await store.close()
    assert len(discord_emulator.threads(discord_classroom.alerts)) == 1
