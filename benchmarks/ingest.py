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

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import Measure, bench
from benchmarks.load import (
    Expected,
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


async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]:
    groups_count = max(3, round(GROUPS * scale))
    async with bench(workdir) as b:
        groups = spread_groups(groups_count, await seed_teams(b), started=datetime.now(UTC))
        pods = RollingPods(groups)
        await b.bot.start()
        async with webhook_client(CONNECTIONS) as session:
            warmup = await post_load(session, b.webhook_url, pods, connections=CONNECTIONS, duration=WARMUP * scale)
            requests_before = len(b.discord.requests)
            pid = b.bot.pid
            if pid is None:
                raise PeerError("the bot is not running")
            cpu_before = cpu_seconds(pid)
            window = await post_load(session, b.webhook_url, pods, connections=CONNECTIONS, duration=WINDOW * scale)
            cpu_per_post = (cpu_seconds(pid) - cpu_before) / len(window.answers)
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
        requests_total = len(b.discord.requests)
        rate_limited = sum(r.status == 429 for r in b.discord.requests)

    def measure(what: str, value: float, unit: str, target: float | None = None, higher: bool = False) -> Measure:
        return Measure(NAME, what, value, unit, target, higher)

    posts = f"webhook POSTs answered ({ALERTS} alerts each, {CONNECTIONS} connections)"
    return [
        measure(posts, window.rate, "/s", TARGET_RATE, higher=True),
        measure("webhook latency p50", window.latency_ms(50), "ms"),
        measure("webhook latency p99", window.latency_ms(99), "ms", TARGET_P99_MS),
        measure("bot CPU time per POST (all it does meanwhile)", cpu_per_post * 1000, "ms"),
        measure("webhook answers other than 200", warmup.failed + window.failed, "", 0),
        measure("alerts in accepted notifications", len(expected.states), ""),
        measure("alerts lost", lost, "", 0),
        measure("incidents opened", incidents, ""),
        measure("incidents without a thread", unthreaded, "", 0),
        measure("Discord requests during the window", requests_during, ""),
        measure("Discord requests in all", requests_total, ""),
        measure("Discord 429s received", rate_limited, "", 0),
        measure("Discord up to date, after the load", caught_up, "s"),
    ]
