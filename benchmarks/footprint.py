"""Benchmark 4: the footprint of `kubecamp run`.

* start to ready: from spawning the process to ``/readyz`` answering 200 (store, Discord gateway,
  Kubernetes API), on a store that already holds the class's teams;
* resident memory idle, `IDLE_SECONDS` after ready;
* resident memory after a round of 10 000 alerts: `GROUPS` alert groups spread over the class
  (`load.spread_groups`), each notified `POSTS_PER_GROUP` times with 10 alerts it has not seen, then once
  with all of them resolved; the bot is left to publish (threads, edits, lines, resolutions) until its
  outbox is empty;
* the same round again, with new pods: the groups open new incidents and threads, so the bot does the
  same work, only on a store twice as large. How much resident memory grew across it is its own measure:
  memory kept per alert, per notification or per Discord message would show there. The target, 5 MiB,
  is 500 bytes per alert of the round; what may grow legitimately is bounded and small (SQLite's page
  cache, at most 2 MiB per connection, fills as the file grows).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import Measure, bench
from benchmarks.load import NextPost, post_load, seed_teams, settled, spread_groups, webhook_client
from benchmarks.notifications import Group

NAME = "footprint"
GROUPS = 100
POSTS_PER_GROUP = 10
ALERTS = 10
CONNECTIONS = 8
IDLE_SECONDS = 3.0
#: How long the bot may take to publish a round's incidents and empty its outbox.
SETTLE_TIMEOUT = 180.0
MIB = 1024**2


class Episodes:
    """A round of notifications: each group fires `posts` notifications of `ALERTS` alerts it has not seen
    before, then one saying they have all resolved. The next round does the same with new pods, so it
    opens new incidents (and threads) in the same groups: the same work again."""

    def __init__(self, groups: list[Group], posts: int) -> None:
        self._groups = groups
        self._posts = posts
        self._rounds = 0

    def next_round(self) -> tuple[list[bytes], list[bytes]]:
        """The firing notifications of the round, group after group, and the resolving ones."""
        first = self._rounds * self._posts * ALERTS
        self._rounds += 1
        now = datetime.now(UTC)
        batches = [range(first + n * ALERTS, first + (n + 1) * ALERTS) for n in range(self._posts)]
        firing = [group.notification(pods, at=now) for pods in batches for group in self._groups]
        resolving = [group.notification([], batches[-1], at=now) for group in self._groups]
        return firing, resolving


async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]:
    groups_count = max(3, round(GROUPS * scale))
    posts_per_group = max(1, round(POSTS_PER_GROUP * scale))
    round_alerts = groups_count * posts_per_group * ALERTS
    async with bench(workdir) as b:
        groups = spread_groups(groups_count, await seed_teams(b), started=datetime.now(UTC))
        began = time.perf_counter()
        await b.bot.start()
        start_to_ready = time.perf_counter() - began
        await asyncio.sleep(IDLE_SECONDS * min(scale, 1.0))
        idle = b.bot.rss_bytes()

        episodes = Episodes(groups, posts_per_group)
        after: list[int] = []
        refused = 0
        async with webhook_client(CONNECTIONS) as session:
            for _ in range(2):
                for bodies in episodes.next_round():
                    posted = await post_load(
                        session, b.webhook_url, _each(bodies), connections=CONNECTIONS, total=len(bodies)
                    )
                    refused += posted.failed
                await settled(b, timeout=SETTLE_TIMEOUT)
                after.append(b.bot.rss_bytes())
        await b.bot.stop()

    def measure(what: str, value: float, unit: str, target: float | None = None) -> Measure:
        return Measure(NAME, what, value, unit, target)

    return [
        measure("start to ready (/readyz 200)", start_to_ready, "s", 3),
        measure("RSS idle", idle / MIB, "MiB", 120),
        measure(f"RSS after {round_alerts} alerts", after[0] / MIB, "MiB", 150),
        measure(f"RSS after {2 * round_alerts} alerts", after[1] / MIB, "MiB"),
        measure(f"RSS growth over the second {round_alerts} alerts", (after[1] - after[0]) / MIB, "MiB", 5),
        measure("webhook answers other than 200", refused, "", 0),
    ]


def _each(bodies: list[bytes]) -> NextPost[None]:
    """Posts `bodies` in order (`post_load` asks for exactly as many)."""
    queue = iter(bodies)
    return lambda: (next(queue), None)
