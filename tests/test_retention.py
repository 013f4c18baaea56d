"""The pruner on a real, migrated SQLite store: at start and then every interval it deletes what ended before
the retention, in batches, counted by table; with a retention of 0 it deletes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.metrics import PRUNED_TABLES, Metrics
from bot.outbox import OutboxStore
from bot.retention import Pruner
from bot.store import Store, Team
from bot.store.models import AlertStatus
from bot.store.notifications import AlertRecord, NotificationRecord

NOW = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=100)
HOUR = timedelta(hours=1)


def _notification(group: str, status: AlertStatus, at: datetime) -> NotificationRecord:
    alert = AlertRecord(
        fingerprint=group,
        status=status,
        starts_at=LONG_AGO - HOUR,
        ends_at=at if status == AlertStatus.resolved else None,
        labels={"alertname": group},
        annotations={},
    )
    return NotificationRecord(group_key=group, status=status, receiver="kubecamp-bot", alerts=[alert])


async def _history(store: Store, outbox_store: OutboxStore, team: Team) -> None:
    """Of each prunable kind, rows older than 90 days; and the newest incident, which is kept."""
    for group in ("Old1", "Old2", "Newest"):
        for status in (AlertStatus.firing, AlertStatus.resolved):
            await store.incidents.record(_notification(group, status, LONG_AGO), at=LONG_AGO)
    run = await store.runs.create(team.id, 1, LONG_AGO - HOUR, LONG_AGO, ["a"], {})
    for minute in range(3):
        await store.runs.record_verification(run.id, "auto", LONG_AGO - timedelta(minutes=minute), [], {"a": False})
    await store.runs.finish(run.id, "expired", LONG_AGO, None, None, None)
    for i in range(5):
        entry, _ = await outbox_store.enqueue(
            dedupe_key=f"announce:{i}", kind="message", payload={"content": "x"}, at=LONG_AGO, channel_id=1
        )
        await outbox_store.mark_sent(entry.id, LONG_AGO, 1, 100 + i)


def _pruned(metrics: Metrics) -> dict[str, float]:
    samples = {
        t: metrics.registry.get_sample_value("kubecamp_retention_pruned_rows_total", {"table": t})
        for t in PRUNED_TABLES
    }
    return {table: value for table, value in samples.items() if value is not None}


class RoundClock:
    """The pruner's clock, always `NOW`: it reads it once at the start of each round, which tells the test."""

    def __init__(self) -> None:
        self.rounds: asyncio.Queue[None] = asyncio.Queue()

    def __call__(self) -> datetime:
        self.rounds.put_nowait(None)
        return NOW

    async def round_done(self) -> None:
        """Wait until a round that starts from now on has ended (the next one has started)."""
        while not self.rounds.empty():
            self.rounds.get_nowait()
        async with asyncio.timeout(10):
            await self.rounds.get()
            await self.rounds.get()


async def test_the_pruner_deletes_what_is_older_than_the_retention_now_and_every_interval(
    store: Store, outbox_store: OutboxStore, team: Team
) -> None:
    metrics = Metrics()
    await _history(store, outbox_store, team)
    clock = RoundClock()
    pruner = Pruner(store=store, outbox=outbox_store, days=90, clock=clock, metrics=metrics, interval=0.05, batch=2)
    pruner.start()
    try:
        await clock.round_done()
        assert _pruned(metrics) == {"incidents": 2, "incident_alerts": 2, "outbox": 5, "verifications": 3}
        # A later round finds what became old since.
        entry, _ = await outbox_store.enqueue(
            dedupe_key="announce:late", kind="message", payload={"content": "x"}, at=LONG_AGO, channel_id=1
        )
        await outbox_store.mark_sent(entry.id, LONG_AGO, 1, 200)
        await clock.round_done()
    finally:
        await pruner.aclose()
    assert await outbox_store.get("announce:late") is None
    assert _pruned(metrics)["outbox"] == 6
    assert [i.group_key for i in await store.incidents.recent(limit=10)] == ["Newest"]


async def test_a_retention_of_zero_keeps_everything(store: Store, outbox_store: OutboxStore, team: Team) -> None:
    await _history(store, outbox_store, team)
    pruner = Pruner(store=store, outbox=outbox_store, days=0, clock=lambda: NOW, interval=0.01)
    pruner.start()
    await asyncio.sleep(0.1)
    await pruner.aclose()
    assert not pruner.enabled
    assert len(await store.incidents.recent(limit=10)) == 3
    assert await outbox_store.get("announce:0") is not None
