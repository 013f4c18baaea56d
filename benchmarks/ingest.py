"""Benchmark 1: Alertmanager webhook ingestion.

A `kubecamp run` process (its own core) takes notifications of 10 alerts from a load generator on
loopback; the Discord emulator (per-channel buckets of 5 requests per 5 s) and the emulated cluster share
the benchmark's process. The class has `load.CLASS_TEAMS` teams; `GROUPS` alert groups are spread over
their namespaces and one of no team, so incidents go to every team channel and to the alerts channel.

Each notification is a real change, as in a storm of pods being replaced: a group lists its 9 newest pods
firing and the pod just replaced resolved, and the next notification of the group replaces one more. So
every POST is a write, while each group stays one incident (one thread) that the bot's publisher edits
at most once per edit interval rather than once per POST.

Measured over `WINDOW` seconds after `WARMUP`: POSTs per second answered and their latency, at
`CONNECTIONS` connections each posting again as soon as answered, and the CPU time the bot spent per POST
meanwhile (all of its work: the webhook, and publishing to Discord). Then, once the bot has published
every incident and emptied its outbox (`load.settled`), and stopped: the alerts its store does not hold
in the state of their last accepted notification (lost), the incidents without a thread in Discord, the
Discord requests and the 429s Discord answered.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import ClientSession

from benchmarks.baseline import BaselineProcess
from benchmarks.databases import Databases, databases
from benchmarks.harness import Measure, bench
from benchmarks.load import (
    Expected,
    LoadResult,
    cpu_seconds,
    database_url,
    lost_alerts,
    post_load,
    seed_teams,
    settled,
    spread_groups,
    unthreaded_incidents,
    webhook_client,
)
from benchmarks.notifications import Group
from tests.peers.processes import PeerError

NAME = "ingest"
GROUPS = 50
#: Alerts per notification: the newest pods firing, plus the one just replaced.
ALERTS = 10
CONNECTIONS = 8
WARMUP = 5.0
WINDOW = 20.0
TARGET_RATE = 500
TARGET_P99_MS = 50
#: Against the baseline measured in the same round (`benchmarks.baseline`): the bot's share of its POSTs/s,
#: and how many times its p99.
TARGET_RATE_RATIO = 0.5
TARGET_P99_RATIO = 2.0
#: Rounds per database (baseline and bot back to back in each): the machine is shared, the median is reported.
REPEATS = 3
#: How long the bot may take to publish every incident and empty its outbox once the load stops.
DRAIN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Step:
    """One notification of a group: pods `firing` and the pod `resolved` (replaced)."""

    group: Group
    firing: range
    resolved: int


class RollingPods:
    """The next notification, group after group: step `s` of a group fires pods s+1 … s+9 and resolves
    pod s, so each step fires one new pod and resolves one."""

    def __init__(self, groups: list[Group]) -> None:
        self._groups = groups
        self._steps = [0] * len(groups)
        self._next = 0

    def __call__(self) -> tuple[bytes, Step]:
        index = self._next
        self._next = (index + 1) % len(self._groups)
        step = self._steps[index]
        self._steps[index] += 1
        group = self._groups[index]
        firing = range(step + 1, step + ALERTS)
        body = group.notification(firing, [step], at=datetime.now(UTC))
        return body, Step(group, firing, step)


@dataclass(frozen=True)
class Load:
    """What the load generator saw of one webhook: POSTs per second, latency, the server's CPU per POST."""

    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float


@dataclass(frozen=True)
class Round:
    """One round on one database: the baseline, then the bot, back to back, and what the bot kept."""

    baseline: Load
    bot: Load
    failed: int
    accepted_alerts: int
    lost: int
    incidents: int
    unthreaded: int
    requests_during: int
    requests_total: int
    rate_limited: int
    caught_up: float


async def _measured_load(
    session: ClientSession, url: str, pid: int | None, pods: RollingPods, scale: float
) -> tuple[Load, LoadResult[Step], LoadResult[Step]]:
    if pid is None:
        raise PeerError("the webhook's process is not running")
    warmup = await post_load(session, url, pods, connections=CONNECTIONS, duration=WARMUP * scale)
    cpu_before = cpu_seconds(pid)
    window = await post_load(session, url, pods, connections=CONNECTIONS, duration=WINDOW * scale)
    cpu_ms = (cpu_seconds(pid) - cpu_before) / len(window.answers) * 1000
    return Load(window.rate, window.latency_ms(50), window.latency_ms(99), cpu_ms), warmup, window


async def _round(workdir: Path, store: Databases, scale: float) -> Round:
    groups_count = max(3, round(GROUPS * scale))
    async with store.fresh() as bot_url, store.fresh() as baseline_url, bench(workdir, database_url=bot_url) as b:
        groups = spread_groups(groups_count, await seed_teams(b), started=datetime.now(UTC))
        async with webhook_client(CONNECTIONS) as session:
            # The baseline first, on the same bodies and connections, with the emulators up but idle.
            baseline_process = BaselineProcess(workdir / "baseline", database_url=baseline_url)
            await baseline_process.start()
            try:
                baseline, _, _ = await _measured_load(
                    session, baseline_process.webhook_url, baseline_process.pid, RollingPods(groups), scale
                )
            finally:
                await baseline_process.stop()
            pods = RollingPods(groups)
            await b.bot.start()
            requests_before = len(b.discord.requests)
            bot, warmup, window = await _measured_load(session, b.webhook_url, b.bot.pid, pods, scale)
            requests_during = len(b.discord.requests) - requests_before
        caught_up = await settled(b, timeout=DRAIN_TIMEOUT)
        await b.bot.stop()

        expected = Expected()
        answers = warmup.answers + window.answers
        for answer in answers:
            if answer.status == 200:
                expected.accept(answer.tag.group, answer.tag.firing, [answer.tag.resolved])
        url = database_url(b)
        lost = await lost_alerts(url, expected)
        incidents, unthreaded = await unthreaded_incidents(url, (t.id for t in b.discord.threads()))
        return Round(
            baseline=baseline,
            bot=bot,
            failed=warmup.failed + window.failed,
            accepted_alerts=len(expected.states),
            lost=lost,
            incidents=incidents,
            unthreaded=unthreaded,
            requests_during=requests_during,
            requests_total=len(b.discord.requests),
            rate_limited=sum(r.status == 429 for r in b.discord.requests),
            caught_up=caught_up,
        )


async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]:
    measures: list[Measure] = []
    for store in databases(workdir):
        rounds = [
            await _round(workdir / f"{store.name}-{n}", store, scale) for n in range(REPEATS if scale >= 1 else 1)
        ]
        measures += _measures(store.name, rounds)
    return measures


def _measures(database: str, rounds: list[Round]) -> list[Measure]:
    """The median of the rounds for speed; the worst of them for what the bot must keep."""

    def measure(what: str, value: float, unit: str, target: float | None = None, higher: bool = False) -> Measure:
        return Measure(f"{NAME} ({database})", what, value, unit, target, higher)

    def median(of: Callable[[Round], float]) -> float:
        return statistics.median(of(r) for r in rounds)

    posts = f"webhook POSTs answered ({ALERTS} alerts each, {CONNECTIONS} connections)"
    baseline = "baseline (parse, commit in one transaction, 200)"
    return [
        measure(f"{baseline}: POSTs answered", median(lambda r: r.baseline.rate), "/s"),
        measure(f"{baseline}: latency p50", median(lambda r: r.baseline.p50_ms), "ms"),
        measure(f"{baseline}: latency p99", median(lambda r: r.baseline.p99_ms), "ms"),
        measure(f"{baseline}: CPU time per POST", median(lambda r: r.baseline.cpu_ms), "ms"),
        measure(posts, median(lambda r: r.bot.rate), "/s", TARGET_RATE, higher=True),
        measure("webhook latency p50", median(lambda r: r.bot.p50_ms), "ms"),
        measure("webhook latency p99", median(lambda r: r.bot.p99_ms), "ms", TARGET_P99_MS),
        measure("bot CPU time per POST (all it does meanwhile)", median(lambda r: r.bot.cpu_ms), "ms"),
        measure(
            "bot POSTs/s ÷ baseline POSTs/s",
            median(lambda r: r.bot.rate / r.baseline.rate),
            "×",
            TARGET_RATE_RATIO,
            higher=True,
        ),
        measure("bot p99 ÷ baseline p99", median(lambda r: r.bot.p99_ms / r.baseline.p99_ms), "×", TARGET_P99_RATIO),
        measure("webhook answers other than 200", max(r.failed for r in rounds), "", 0),
        measure("alerts in accepted notifications", median(lambda r: r.accepted_alerts), ""),
        measure("alerts lost", max(r.lost for r in rounds), "", 0),
        measure("incidents opened", median(lambda r: r.incidents), ""),
        measure("incidents without a thread", max(r.unthreaded for r in rounds), "", 0),
        measure("Discord requests during the window", median(lambda r: r.requests_during), ""),
        measure("Discord requests in all", median(lambda r: r.requests_total), ""),
        measure("Discord 429s received", max(r.rate_limited for r in rounds), "", 0),
        measure("Discord up to date, after the load", median(lambda r: r.caught_up), "s"),
    ]
