"""Retention: the bot forgets what is old and done, and keeps the course's record.

Every `interval` (and once at start) `Pruner` deletes what ended more than `days` ago:

* incidents resolved then, and their alerts (`IncidentStore.prune`);
* outbox entries sent or refused then (`OutboxStore.prune`);
* the verifications of runs that ended then (`RunStore.prune`).

Kept whatever their age: teams, runs with their scores and scenario states, hints posted and
submissions — the scoreboard and the instructors' exports read them. `days=0` keeps everything.

Each batch is its own write transaction of at most `batch` rows, so the webhook and the outbox, which
queue on the same write lock, wait for a few milliseconds at most, never for one large DELETE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.metrics import Metrics
from bot.outbox import OutboxStore
from bot.store import Store

log = logging.getLogger(__name__)

#: A store's prune: deletes at most `limit` rows older than `before`; rows deleted by table.
Prune = Callable[[datetime, int], Awaitable[dict[str, int]]]


class Pruner:
    """Deletes old rows in bounded batches, on a task of its own: `start()`, `aclose()`."""

    def __init__(
        self,
        *,
        store: Store,
        outbox: OutboxStore,
        days: int,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        interval: float = 3600.0,
        batch: int = 500,
    ) -> None:
        self._prunes: list[Prune] = [store.incidents.prune, outbox.prune, store.runs.prune]
        self._keep = timedelta(days=days)
        self._clock = clock
        self._metrics = metrics
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._keep > timedelta(0)

    def start(self) -> None:
        """Prune now and every `interval` seconds; nothing when retention is off (`days=0`)."""
        if self._task is not None:
            raise RuntimeError("the pruner is already running")
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="pruner")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()  # a batch under way is rolled back: it is deleted next time
            await asyncio.gather(task, return_exceptions=True)

    async def prune(self) -> dict[str, int]:
        """Delete everything older than the retention, batch after batch; rows deleted by table."""
        before = self._clock() - self._keep
        total: dict[str, int] = {}
        for prune in self._prunes:
            while True:
                deleted = await prune(before, self._batch)
                if not any(deleted.values()):
                    break
                for table, rows in deleted.items():
                    total[table] = total.get(table, 0) + rows
                    if self._metrics is not None:
                        self._metrics.pruned_rows.labels(table).inc(rows)
                await asyncio.sleep(0)  # let a writer waiting for the lock go first
        return total

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.prune()
                if any(deleted.values()):
                    log.info("retention: deleted what ended before %s days ago: %s", self._keep.days, deleted)
            except Exception as e:  # the store is unavailable: try at the next interval
                log.warning("retention: cannot prune (%s); trying again in %.0f s", e, self._interval)
            await asyncio.sleep(self._interval)
