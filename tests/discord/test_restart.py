"""A real `kubecamp run` process killed with SIGKILL in the middle of posting, then restarted.

The run had started 25 minutes before the bot came up, so on start its 20-minute jobs are overdue and
run at once: the automatic verification and the first hint of each of the four scenarios. Discord is
slowed down (429s) and made to lose an answer after accepting a message (a 500 after the fact), the
process is killed once the first hint has landed, and a second process finishes the work. Every
message must be in Discord exactly once, and the outbox must be empty.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.challenges.flow import ChallengeFlow
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.notify import Outbox
from bot.store import Store, upgrade
from tests.discord.live import process_environment
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.peers.processes import KubecampProcess
from tests.scenarios.test_catalogue_behaviour import CATALOG


class _NoScheduler:
    """The setup only writes the run; the bot process under test does the scheduling."""

    def schedule_run(self, run: object) -> None:
        return None

    def cancel_run(self, run_id: int) -> None:
        return None


class _Unsent:
    """A transport for the setup's outbox, which is never started: nothing is sent from the test."""


async def start_run_25_minutes_ago(url: str, kube: KubeCluster, room: Classroom) -> int:
    await upgrade(url)
    store = await Store.open(url)
    cluster = Cluster.for_host(kube.url, token="setup")
    try:
        blue = room.team_channels["blue"]
        await store.create_team("blue", "kubecamp-blue", role_id=room.team_roles["blue"].id, channel_id=blue.id)
        past = datetime.now(UTC) - timedelta(minutes=25)
        runs = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=lambda: past)
        outbox = Outbox(store=store, transport=_Unsent())  # type: ignore[arg-type]  # never started
        flow = ChallengeFlow(
            runs=runs,
            store=store,
            catalog=CATALOG,
            outbox=outbox,
            scheduler=_NoScheduler(),
            lang="en",
            clock=lambda: past,
        )
        report = await flow.start("blue", 2)
        return report.run.id
    finally:
        await cluster.close()
        await store.close()


async def test_sigkill_in_the_middle_loses_nothing_and_posts_nothing_twice(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubecamp.db'}"
    run_id = await start_run_25_minutes_ago(url, kube_cluster, discord_classroom)
    env = process_environment(tmp_path, discord_emulator, discord_classroom, kube_cluster)
    messages_route = "POST /channels/{channel_id}/messages"
    discord_emulator.inject(429, times=3, route=messages_route, retry_after=0.5)
    discord_emulator.inject(500, times=1, route=messages_route, after=True)  # accepted, but the answer is lost

    def thread_titles() -> list[str]:
        threads = discord_emulator.threads(discord_classroom.team_channels["blue"])
        if not threads:
            return []
        return [m.embeds[0]["title"] for m in discord_emulator.messages(threads[0]) if m.embeds]

    bot = KubecampProcess(tmp_path / "process", environment=env)
    try:
        await bot.start()
        await discord_emulator.wait_until(lambda: any("Hint 1/" in t for t in thread_titles()), 30, "a first hint")
    finally:
        bot.kill()

    try:
        await bot.start()
        await discord_emulator.wait_until(
            lambda: sum("Hint 1/" in t for t in thread_titles()) >= 4, 30, "all four first hints"
        )
        await asyncio.sleep(2)  # anything posted twice would have arrived by now
    finally:
        await bot.stop()
    assert "Traceback" not in bot.log_tail(10_000)

    titles = thread_titles()
    assert sum(t.startswith("⏰ Automatic verification") for t in titles) == 1, titles
    assert sorted(t for t in titles if "Hint" in t) == sorted(set(t for t in titles if "Hint" in t)), titles
    assert sum("Hint 1/" in t for t in titles) == 4, titles
    assert len(discord_emulator.threads(discord_classroom.team_channels["blue"])) == 1

    store = await Store.open(url)
    try:
        assert len(await store.hints_posted(run_id)) == 4
        pending, _ = await store.outbox_stats(datetime.now(UTC))
        assert pending == 0
    finally:
        await store.close()
