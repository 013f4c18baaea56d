"""What the ingestion and footprint benchmarks share: the class's teams, alert groups spread over them,
a webhook load generator, and the check that the bot kept every alert.

* `seed_teams` writes teams into the bot's store before it starts, each with its own Discord channel,
  so that incidents are spread over the team channels (and the alerts channel) as in a real class;
* `spread_groups` names alert groups over those teams' namespaces and one namespace of no team;
* `post_load` posts bodies to the webhook over a fixed number of keep-alive connections, each posting
  its next body as soon as the last one is answered, and records every answer and its latency;
* `settled` waits, reading the bot's store, until it has published every incident and delivered
  everything it had to say;
* `Expected` keeps what each accepted notification said about each alert, and `lost_alerts` compares
  it with the store once the bot has stopped.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, TypeVar

import aiohttp

from benchmarks.harness import Bench, percentile
from benchmarks.notifications import Group
from bot.incidents.publisher import thread_key
from bot.outbox import OutboxStore
from bot.store import Store, sqlite_url, upgrade
from bot.store.models import AlertStatus
from tests.discord.live import WEBHOOK_TOKEN

T = TypeVar("T")

#: The alerts of the course's rules (alert_rules/), which name the groups.
ALERTNAMES = (
    "KubecampPodCrashLooping",
    "KubecampContainerNotReady",
    "KubecampDeploymentUnavailable",
    "KubecampDeploymentReplicasMismatch",
    "KubecampDeploymentRolloutStuck",
    "KubecampImagePullFailing",
    "KubecampPodUnschedulable",
    "KubecampPodStuckPending",
    "KubecampServiceNoEndpoints",
    "KubecampPersistentVolumeClaimPending",
    "KubecampHpaMaxedOut",
    "KubecampNodeNotReady",
)
#: A namespace no team owns: its incidents go to the alerts channel.
SHARED_NAMESPACE = "monitoring"
#: Teams in a class: blue and red of the classroom, the others added with their own channels.
CLASS_TEAMS = 8


async def seed_teams(bench: Bench, count: int = CLASS_TEAMS) -> list[str]:
    """Teams blue, red and `count` − 2 more (each with a new channel in the emulated guild) in the store
    of the bot, which must not be running; their namespaces."""
    room = bench.room
    channels = {team: channel.id for team, channel in room.team_channels.items()}
    for number in range(len(channels) + 1, count + 1):
        name = f"team{number:02d}"
        channels[name] = bench.discord.add_text_channel(room.guild, f"team-{name}").id
    url = database_url(bench)
    await upgrade(url)
    async with await Store.open(url) as store:
        for name, channel in list(channels.items())[:count]:
            role = room.team_roles[name].id if name in room.team_roles else None
            await store.teams.create(name, f"kubecamp-{name}", role_id=role, channel_id=channel)
    return [f"kubecamp-{name}" for name in list(channels)[:count]]


def cpu_seconds(pid: int) -> float:
    """The CPU time process `pid` has used so far, user and system, all its threads (Linux ``/proc``)."""
    # The command name (field 2) may hold spaces; the fields after it are plain numbers.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_url(bench: Bench) -> str:
    environment = bench.bot.environment
    if "KUBECAMP_DATABASE_URL" in environment:
        return environment["KUBECAMP_DATABASE_URL"]
    return sqlite_url(Path(environment["KUBECAMP_DATA_DIR"]) / "kubecamp.db")


def spread_groups(count: int, namespaces: Sequence[str], *, started: datetime) -> list[Group]:
    """`count` alert groups, one namespace after the other (`namespaces` and then `SHARED_NAMESPACE`), so
    that every channel gets its share; `ValueError` if there are not enough distinct (alert, namespace)."""
    spaces = [*namespaces, SHARED_NAMESPACE]
    if count > len(spaces) * len(ALERTNAMES):
        raise ValueError(f"{count} groups: at most {len(spaces) * len(ALERTNAMES)} over {len(spaces)} namespaces")
    return [Group(ALERTNAMES[i // len(spaces)], spaces[i % len(spaces)], started) for i in range(count)]


# --- the load generator ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One POST: what was posted (`tag`), the HTTP status (0: no answer) and the time to answer it."""

    tag: T
    status: int
    seconds: float


@dataclass
class LoadResult(Generic[T]):
    answers: list[Answer[T]]
    elapsed: float

    @property
    def rate(self) -> float:
        """Answered POSTs per second."""
        return len(self.answers) / self.elapsed

    def latency_ms(self, q: float) -> float:
        return percentile([a.seconds for a in self.answers], q) * 1000

    @property
    def failed(self) -> int:
        """POSTs answered with anything but 200, or not at all."""
        return sum(a.status != 200 for a in self.answers)


#: Gives the next body to post and what it stands for (kept with its answer).
NextPost = Callable[[], tuple[bytes, T]]


@asynccontextmanager
async def webhook_client(connections: int) -> AsyncIterator[aiohttp.ClientSession]:
    """A session as Alertmanager holds one: at most `connections` keep-alive connections, the class's token."""
    connector = aiohttp.TCPConnector(limit=connections)
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        yield session


async def post_load(
    session: aiohttp.ClientSession,
    url: str,
    next_post: NextPost[T],
    *,
    connections: int,
    duration: float | None = None,
    total: int | None = None,
) -> LoadResult[T]:
    """Post to `url` on `connections` connections at once until `duration` seconds have passed or `total`
    bodies were posted (whichever is given; both: the first reached)."""
    if duration is None and total is None:
        raise ValueError("give a duration, a total or both")
    answers: list[Answer[T]] = []
    began = time.perf_counter()
    deadline = began + duration if duration is not None else float("inf")
    remaining = total if total is not None else -1  # -1: no limit

    def another() -> bool:
        nonlocal remaining
        if time.perf_counter() >= deadline or remaining == 0:
            return False
        remaining -= 1
        return True

    async def worker() -> None:
        while another():
            body, tag = next_post()
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            answers.append(Answer(tag, status, time.perf_counter() - sent))

    await asyncio.gather(*(worker() for _ in range(connections)))
    return LoadResult(answers, time.perf_counter() - began)


async def settled(bench: Bench, *, timeout: float) -> float:  # noqa: ASYNC109 - the error says what is left
    """Wait until the bot has published the latest version of every incident and its outbox is empty
    (read from its store, which it keeps writing meanwhile); the seconds it took."""
    began = time.perf_counter()
    async with await Store.open(database_url(bench)) as store:
        incidents, outbox = store.incidents, OutboxStore(store.db)
        while True:
            now = datetime.now(UTC)
            pending, _ = await outbox.stats(now)
            # Publishing not yet due counts too: `not_before` in the future.
            unpublished = await incidents.to_publish(not_before=now + timedelta(days=1))
            elapsed = time.perf_counter() - began
            if pending == 0 and not unpublished:
                return elapsed
            if elapsed > timeout:
                raise TimeoutError(
                    f"the bot has not settled in {timeout:g} s: {len(unpublished)} incidents to publish, "
                    f"{pending} outbox entries to send; log:\n{bench.bot.log_tail()}"
                )
            await asyncio.sleep(0.25)


# --- what the bot must have kept -------------------------------------------------------------------------------


@dataclass
class Expected:
    """The state of every alert that accepted notifications said, by (group key, fingerprint). An alert
    that was posted resolved stays resolved, whatever order concurrent notifications were applied in."""

    states: dict[tuple[str, str], AlertStatus] = field(default_factory=dict)

    def accept(self, group: Group, firing: Iterable[int], resolved: Iterable[int]) -> None:
        for index in firing:
            self.states.setdefault((group.key, group.fingerprint(index)), AlertStatus.firing)
        for index in resolved:
            self.states[(group.key, group.fingerprint(index))] = AlertStatus.resolved


async def stored_alerts(url: str) -> dict[tuple[str, str], AlertStatus]:
    """Every alert in the store at `url`, by (group key, fingerprint): its latest state."""
    stored: dict[tuple[str, str], AlertStatus] = {}
    async with await Store.open(url) as store:
        incidents = store.incidents
        for incident in sorted(await incidents.recent(limit=1_000_000), key=lambda i: i.id):
            for alert in await incidents.alerts(incident.id):
                stored[(incident.group_key, alert.fingerprint)] = alert.status
    return stored


async def lost_alerts(url: str, expected: Expected) -> int:
    """How many alerts the store does not hold in the state their last accepted notification gave."""
    stored = await stored_alerts(url)
    return sum(stored.get(key) != status for key, status in expected.states.items())


async def unthreaded_incidents(url: str, threads: Iterable[int]) -> tuple[int, int]:
    """(incidents in the store at `url`, how many of them have no thread among `threads`, the threads Discord
    holds): an incident's thread is the one its outbox entry recorded when it was sent."""
    known = set(threads)
    async with await Store.open(url) as store:
        incidents = await store.incidents.recent(limit=1_000_000)
        outbox, missing = OutboxStore(store.db), 0
        for incident in incidents:
            entry = await outbox.get(thread_key(incident.id))
            if entry is None or entry.sent_at is None or entry.discord_channel_id not in known:
                missing += 1
    return len(incidents), missing
