"""A real `kubecamp run` process killed with SIGKILL in the middle of its work, then restarted.

* Hints: the run had started 35 minutes before the bot came up, so on start its jobs are overdue and run
  at once: the automatic verification, which posts the first and second hints of each of the four
  scenarios with its results, then the later hint jobs, which find nothing left to post. The bot is
  killed twice: inside the automatic verification (its snapshot hangs), before anything about it was
  written down, and once its post has landed in Discord. Discord is slowed down (429s) and loses an
  answer after accepting a message (a 500 after the fact).
* Alerts: several Alertmanager replicas post a storm of notifications for several alert groups (alerts
  firing, then some resolving, some groups resolving whole); the bot is killed at a seeded point of the
  storm, and every post that got no answer, or no 200, is posted again to the restarted bot until it is
  answered 200, as Alertmanager retries.

Afterwards every message must be in Discord exactly once, every alert in its final state, and the outbox
must be empty.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.notifications import Group
from bot.challenges import preflight
from bot.challenges.flow import ChallengeFlow
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.incidents.render import FIRING, RESOLVED
from bot.outbox import Outbox, OutboxStore
from bot.store import Store, upgrade
from tests.discord.live import answer, post_notification, process_environment
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.state import Channel, Message
from tests.emulators.kube import KubeCluster
from tests.peers.processes import KubecampProcess
from tests.scenarios.test_catalogue_behaviour import CATALOG

# Each test starts, kills and restarts `kubecamp run` processes: one at a time, beside the benchmarks' none.
pytestmark = [pytest.mark.every_database, pytest.mark.reliability, pytest.mark.xdist_group("kubecamp-processes")]


class _NoScheduler:
    """The setup only writes the run; the bot process under test does the scheduling."""

    def schedule_run(self, run: object) -> None:
        return None

    def cancel_run(self, run_id: int) -> None:
        return None


class _Unsent:
    """A transport for the setup's outbox, which is never started: nothing is sent from the test."""


async def create_teams(url: str, room: Classroom, *teams: str) -> None:
    """The store of the bot under test, migrated, with `teams` linked to their roles and channels."""
    await upgrade(url)
    store = await Store.open(url)
    try:
        for team in teams:
            await store.teams.create(
                team, f"kubecamp-{team}", role_id=room.team_roles[team].id, channel_id=room.team_channels[team].id
            )
    finally:
        await store.close()


async def start_run_minutes_ago(url: str, kube: KubeCluster, room: Classroom, minutes: int) -> int:
    """Team blue's run of challenge 2, started `minutes` ago; its briefing waits in the outbox."""
    return (await start_runs_minutes_ago(url, kube, room, minutes, "blue"))["blue"]


async def start_runs_minutes_ago(
    url: str, kube: KubeCluster, room: Classroom, minutes: int, *teams: str
) -> dict[str, int]:
    """Each team's run of challenge 2 (by team), started `minutes` ago; their briefings wait in the outbox."""
    await create_teams(url, room, *teams)
    store = await Store.open(url)
    cluster = Cluster.for_host(kube.url, token="setup")
    try:
        past = datetime.now(UTC) - timedelta(minutes=minutes)
        runs = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=lambda: past)
        outbox = Outbox(store=OutboxStore(store.db), transport=_Unsent())  # type: ignore[arg-type]  # never started
        flow = ChallengeFlow(
            runs=runs,
            store=store,
            catalog=CATALOG,
            outbox=outbox,
            scheduler=_NoScheduler(),
            lang="en",
            clock=lambda: past,
            cooldown_seconds=15,
        )
        return {team: (await flow.start(team, 2)).run.id for team in teams}
    finally:
        await cluster.close()
        await store.close()


def run_thread_posts(discord: DiscordEmulator, room: Classroom) -> list[list[str]]:
    """Each message in team blue's run thread, as the titles of its embeds."""
    threads = discord.threads(room.team_channels["blue"])
    if not threads:
        return []
    return [[e["title"] for e in m.embeds] for m in discord.messages(threads[0])]


def hints(posts: list[list[str]]) -> list[str]:
    """The hints' titles among `posts`."""
    return [t for post in posts for t in post if "Hint" in t]


async def test_sigkill_mid_job_and_mid_posting_loses_no_hint_and_posts_none_twice(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    db_url: str,
) -> None:
    url = db_url
    run_id = await start_run_minutes_ago(url, kube_cluster, discord_classroom, 35)
    due_hints = 8  # levels 1 and 2 (at 20 and 30 minutes) of each of the four scenarios
    env = process_environment(tmp_path, discord_emulator, discord_classroom, kube_cluster, database_url=url)

    def thread_posts() -> list[list[str]]:
        return run_thread_posts(discord_emulator, discord_classroom)

    bot = KubecampProcess(tmp_path / "process", environment=env)
    try:
        # 1. Killed inside the overdue automatic verification: its snapshot's lists never get an answer.
        snapshot = kube_cluster.hang(verb="list")
        await bot.start()
        await discord_emulator.wait_until(lambda: snapshot.hits, 30, "the automatic verification's snapshot")
        bot.kill()
        kube_cluster.clear_faults()
        store = await Store.open(url)
        try:  # the job died before its verification or any hint was written down: only a rerun can post them
            assert await store.runs.hints_posted(run_id) == []
            assert await OutboxStore(store.db).get(f"run:{run_id}:auto") is None
        finally:
            await store.close()

        # 2. Killed once the automatic verification's post has landed: Discord takes two messages a second
        # per channel, answers 429 three times, and loses its answer to the message it accepted.
        messages_route = "POST /channels/{channel_id}/messages"
        discord_emulator.set_rate_limit(messages_route, 2, 1.0)
        discord_emulator.inject(429, times=3, route=messages_route, retry_after=0.5)
        discord_emulator.inject(500, times=1, route=messages_route, after=True)
        await bot.start()
        await discord_emulator.wait_until(lambda: hints(thread_posts()), 30, "the automatic verification's post")
        bot.kill()

        await bot.start()
        await asyncio.sleep(3)  # its jobs run again on start: anything posted twice would have arrived by now
    finally:
        await bot.stop()
    assert "Traceback" not in bot.log_tail(10_000)

    (post,) = thread_posts()
    assert post[0].startswith("⏰ Automatic verification"), post
    assert len(set(hints([post]))) == len(hints([post])) == due_hints, post
    assert sum("Hint 1/" in t for t in post) == sum("Hint 2/" in t for t in post) == 4, post
    assert len(discord_emulator.threads(discord_classroom.team_channels["blue"])) == 1

    store = await Store.open(url)
    try:
        assert len(await store.runs.hints_posted(run_id)) == due_hints
        pending, _ = await OutboxStore(store.db).stats(datetime.now(UTC))
        assert pending == 0
    finally:
        await store.close()


# --- first solves -------------------------------------------------------------------------------------------------


async def test_sigkill_between_a_solve_and_its_announcement_announces_it_once(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    """Blue solves a scenario first; the bot is killed while Discord refuses the 🩸 line (the solve recorded, the
    line not posted), then again once Discord has taken the line but its answer was lost. After the restarts red
    finishes first, blue after it: every line is in the announcements channel once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubecamp.db'}"
    room = discord_classroom
    channel = discord_emulator.add_text_channel(room.guild, "announcements")
    runs = await start_runs_minutes_ago(url, kube_cluster, room, 5, "blue", "red")
    env = process_environment(tmp_path, discord_emulator, room, kube_cluster)
    env["KUBECAMP_DISCORD_ANNOUNCEMENTS_CHANNEL"] = str(channel.id)
    announcing = rf"/channels/{channel.id}/messages"

    def said() -> list[str]:
        return [str(m.content) for m in discord_emulator.messages(channel)]

    async def verify(team: str, *fixed: str) -> None:
        student = Cluster.for_host(kube_cluster.url, token="student")
        try:
            for scenario_id in fixed:
                await preflight.apply_like_a_student(student, f"kubecamp-{team}", CATALOG.get(2).scenario(scenario_id))
        finally:
            await student.close()
        verified = await discord_emulator.slash(
            room.guild, f"team-{team}", f"{team}-1", "challenge", None, subcommand="verify"
        )
        assert "pass" in await answer(verified)

    bot = KubecampProcess(tmp_path / "process", environment=env)
    try:
        # 1. Killed after the solve, while Discord refuses the line it brings (503: try again later).
        refused = discord_emulator.inject(503, times=1000, route=announcing, method="POST")
        await bot.start()
        await verify("blue", "image-pull")
        await discord_emulator.wait_until(lambda: refused.hits, 20, "the first attempt at the 🩸 line")
        bot.kill()
        discord_emulator.faults.remove(refused)
        store = await Store.open(url)
        try:  # the solve and its line were written down together; Discord has none of it
            states = {s.scenario_id: s.status for s in await store.runs.scenario_states(runs["blue"])}
            assert states["image-pull"] == "solved"
            line = await OutboxStore(store.db).get(f"run:{runs['blue']}:first-solve:image-pull")
            assert line is not None and line.sent_at is None
        finally:
            await store.close()
        assert said() == []

        # 2. Killed once Discord has taken the line, its answer lost (a 500 after the fact).
        lost = discord_emulator.inject(500, times=1, route=announcing, method="POST", after=True)
        await bot.start()
        await discord_emulator.wait_until(lambda: lost.hits, 20, "the 🩸 line landing")
        bot.kill()

        # 3. Red finishes first, blue after it.
        await bot.start()
        await verify("red", "image-pull", "unschedulable", "rolling-update", "node-affinity")
        await verify("blue", "unschedulable", "rolling-update", "node-affinity")
        await discord_emulator.wait_until(lambda: len(said()) >= 6, 30, "every line")
        await asyncio.sleep(2)  # anything posted twice would have arrived by now
    finally:
        await bot.stop()
    assert "Traceback" not in bot.log_tail(10_000)

    lines = said()
    assert len(lines) == len(set(lines)) == 6, lines
    assert lines[0].startswith("🩸 **blue** is the first to solve “Image deployment failure"), lines
    assert sorted(lines[1:4]) == sorted(
        f"🩸 **red** is the first to solve “{CATALOG.get(2).scenario(s).spec.title.get('en')}” (Challenge 2)!"
        for s in ("unschedulable", "rolling-update", "node-affinity")
    )
    assert lines[4].startswith("🏆 **red** is the first to finish Challenge 2"), lines
    assert lines[5].startswith("🏁 **blue** finished Challenge 2"), lines
    store = await Store.open(url)
    try:
        outbox = OutboxStore(store.db)
        assert (await outbox.stats(datetime.now(UTC)))[0] == 0
        assert await outbox.failed() == []
    finally:
        await store.close()


# --- a webhook storm ----------------------------------------------------------------------------------------------

#: Alertmanager replicas (HA): each posts every notification of every group, independently.
REPLICAS = 2
#: Seeds the point of the kill and the posters' pacing: a failure replays the same storm.
SEED = 20261123
#: Alerts that start firing per notification.
WAVE = 4


@dataclass(frozen=True)
class Storm:
    """What Alertmanager says about one alert group: alerts fire in waves, then every third alert
    resolves, then the next third; a group that `closes` ends with every alert resolved."""

    group: Group
    size: int
    closes: bool

    @property
    def title(self) -> str:
        return f"{self.group.alertname} · {self.group.namespace}"

    def pod(self, index: int) -> str:
        return self.group.labels(index)["pod"]

    def notifications(self) -> list[bytes]:
        everyone = range(self.size)
        steps: list[tuple[list[int], list[int]]] = [
            (list(range(min(self.size, wave * WAVE))), []) for wave in range(1, math.ceil(self.size / WAVE) + 1)
        ]
        for thirds in ({0}, {0, 1}):
            resolved = [i for i in everyone if i % 3 in thirds]
            steps.append(([i for i in everyone if i % 3 not in thirds], resolved))
        if self.closes:
            steps.append(([], list(everyone)))
        return [
            self.group.notification(firing, resolved, at=self.group.started + timedelta(minutes=step))
            for step, (firing, resolved) in enumerate(steps, start=1)
        ]

    def final(self) -> dict[str, str]:
        """Each alert's pod → the mark Discord must show for it in the end."""
        return {self.pod(i): RESOLVED if self.closes or i % 3 != 2 else FIRING for i in range(self.size)}


def storms(started: datetime) -> list[Storm]:
    """Groups in the teams' namespaces (their channels) and in namespaces of no team (the alerts channel),
    each within the 24 fields of the starter embed."""
    return [
        Storm(Group("KubePodCrashLooping", "kubecamp-blue", started), 20, closes=False),
        Storm(Group("KubePodNotReady", "kubecamp-blue", started), 12, closes=True),
        Storm(Group("KubeDeploymentReplicasMismatch", "kubecamp-red", started), 16, closes=False),
        Storm(Group("KubePersistentVolumeClaimPending", "kubecamp-red", started), 8, closes=True),
        Storm(Group("KubePodCrashLooping", "monitoring", started), 18, closes=True),
        Storm(Group("KubeContainerWaiting", "training", started), 10, closes=False),
    ]


class Alertmanagers:
    """Replicas posting notifications in order, each until it is answered 200 (acknowledged)."""

    def __init__(self, bot: KubecampProcess) -> None:
        self.bot = bot
        self.acknowledged = 0
        self.unanswered = 0  # killed mid-request, or not listening yet
        self.refused: Counter[int] = Counter()  # answered, but not 200
        self._progress = asyncio.Condition()

    async def post(self, body: bytes) -> None:
        while True:
            try:
                async with asyncio.timeout(10):
                    status = await post_notification(f"{self.bot.url}/webhooks/alertmanager", body)
            except (aiohttp.ClientError, TimeoutError):
                self.unanswered += 1
            else:
                if status == 200:
                    async with self._progress:
                        self.acknowledged += 1
                        self._progress.notify_all()
                    return
                self.refused[status] += 1
            await asyncio.sleep(0.1)

    def __str__(self) -> str:
        return f"{self.acknowledged} acknowledged, {self.unanswered} unanswered, refused {dict(self.refused)}"

    async def acknowledging(self, count: int) -> None:
        """Return once `count` posts have been acknowledged."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.acknowledged >= count)

    async def replica(self, storm: Storm, pacing: random.Random) -> None:
        for body in storm.notifications():
            await self.post(body)
            await asyncio.sleep(pacing.uniform(0, 0.05))


def channel_of(room: Classroom, namespace: str) -> Channel:
    """A team's namespace's incidents go to the team's channel, the others to the alerts channel."""
    return room.team_channels.get(namespace.removeprefix("kubecamp-"), room.alerts)


@dataclass
class IncidentView:
    """What Discord shows of one alert group: its threads and starter messages, and the thread's lines."""

    threads: list[Channel]
    starters: list[Message]
    lines: list[str]

    @property
    def shown(self) -> dict[str, list[str]]:
        """The starter embed as it is now: pod → the marks of the fields naming it."""
        fields: dict[str, list[str]] = {}
        for pod, mark in marks(self.starters[0].embeds[0]) if self.starters else []:
            fields.setdefault(pod, []).append(mark)
        return fields

    @property
    def first_shown(self) -> dict[str, str]:
        """The starter embed as it was first posted: pod → mark."""
        first = self.starters[0].history[0]["embeds"] if self.starters[0].history else self.starters[0].embeds
        return dict(marks(first[0]))


def marks(embed: dict[str, Any]) -> list[tuple[str, str]]:
    """A starter embed's fields (``🔥 pod=…``) as (pod, mark)."""
    named = [field["name"].partition(" ") for field in embed["fields"]]
    return [(described.removeprefix("pod="), mark) for mark, _, described in named]


def view(discord: DiscordEmulator, room: Classroom, storm: Storm) -> IncidentView:
    channel = channel_of(room, storm.group.namespace)
    threads = [t for t in discord.threads(channel) if t.name.endswith(f" {storm.title}")]
    starters = [m for m in discord.messages(channel) if m.embeds and m.embeds[0]["title"].endswith(f" {storm.title}")]
    lines = [line for t in threads for m in discord.messages(t) for line in str(m.content).splitlines()]
    return IncidentView(threads, starters, lines)


def settled(discord: DiscordEmulator, room: Classroom, storm: Storm) -> bool:
    """Discord shows the group's final state: every alert's mark, and a closed group's thread archived."""
    seen = view(discord, room, storm)
    if not seen.starters or {pod: marks[-1] for pod, marks in seen.shown.items()} != storm.final():
        return False
    return not storm.closes or all(t.archived and t.name.startswith(RESOLVED) for t in seen.threads)


async def test_sigkill_in_a_webhook_storm_keeps_every_acknowledged_alert_once(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    db_url: str,
) -> None:
    url = db_url
    await create_teams(url, discord_classroom, "blue", "red")
    groups = storms(datetime.now(UTC) - timedelta(minutes=30))
    total = REPLICAS * sum(len(s.notifications()) for s in groups)
    seeded = random.Random(SEED)  # noqa: S311 - a reproducible fault schedule, not a secret
    env = process_environment(
        tmp_path, discord_emulator, discord_classroom, kube_cluster, edit_interval=0.5, database_url=url
    )
    # Discord takes three messages and three edits a second per channel: deliveries lag behind the publisher.
    for route in ("POST /channels/{channel_id}/messages", "PATCH /channels/{channel_id}/messages/{message_id}"):
        discord_emulator.set_rate_limit(route, 3, 1.0)
    bot = KubecampProcess(tmp_path / "process", environment=env)
    alertmanagers = Alertmanagers(bot)
    # Once early in the storm (the publisher has barely begun), once late (it is catching up).
    kills = [seeded.randint(total // 5, total // 3), seeded.randint(total // 2, 3 * total // 4)]

    async def kill_and_restart() -> None:
        for acknowledged in kills:
            await alertmanagers.acknowledging(acknowledged)
            bot.kill()
            await bot.start()

    try:
        await bot.start()
        replicas = [
            alertmanagers.replica(s, random.Random(seeded.random()))  # noqa: S311 - as above
            for s in groups
            for _ in range(REPLICAS)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(kill_and_restart(), *replicas), 60)
        except TimeoutError:
            raise AssertionError(f"the storm did not end: {alertmanagers}; log:\n{bot.log_tail()}") from None
        assert alertmanagers.acknowledged == total
        await discord_emulator.wait_until(
            lambda: all(settled(discord_emulator, discord_classroom, s) for s in groups), 30, "every final state"
        )
        await asyncio.sleep(2)  # anything posted twice would have arrived by now
    finally:
        await bot.stop()
    assert "Traceback" not in bot.log_tail(10_000)
    assert alertmanagers.unanswered, "the kill came after the storm: every post was answered"
    assert set(alertmanagers.refused) <= {503}, alertmanagers.refused  # the store was busy: retry later

    for storm in groups:
        seen = view(discord_emulator, discord_classroom, storm)
        assert len(seen.threads) == 1, (storm.title, [t.name for t in seen.threads])
        assert len(seen.starters) == 1, storm.title
        assert seen.shown == {pod: [mark] for pod, mark in storm.final().items()}, storm.title
        said = Counter(line for line in seen.lines if line.startswith((f"{FIRING} pod=", f"{RESOLVED} pod=")))
        assert [line for line, times in said.items() if times > 1] == [], storm.title
        # An alert that Discord first showed firing (or not at all) and that ended resolved is said to have
        # resolved, once; one that fired after the thread started is said to fire, once.
        first = seen.first_shown
        for pod, mark in storm.final().items():
            if mark == RESOLVED and first.get(pod) != RESOLVED:
                assert said[f"{RESOLVED} pod={pod}"] == 1, (storm.title, pod, seen.lines)
            if mark == FIRING and pod not in first:
                assert said[f"{FIRING} pod={pod}"] == 1, (storm.title, pod, seen.lines)
        resolutions = [line for line in seen.lines if line.startswith(f"{RESOLVED} Every alert of incident")]
        assert len(resolutions) == (1 if storm.closes else 0), (storm.title, resolutions)

    store = await Store.open(url)
    try:
        incidents = await store.incidents.recent(limit=100)
        assert sorted(i.group_key for i in incidents) == sorted(s.group.key for s in groups)
        assert all(i.published_version == i.version for i in incidents)
        outbox = OutboxStore(store.db)
        pending, _ = await outbox.stats(datetime.now(UTC))
        assert pending == 0
        assert await outbox.failed() == []
    finally:
        await store.close()
