"""Pruning the outbox's table (`OutboxStore.prune`) on a real, migrated SQLite file: entries sent or refused
before the cutoff go, leaf first and at most the limit per call; what is still to send, and what it refers to,
stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.outbox import OutboxStore
from bot.store import InvalidValue, Store
from bot.store.models import OutboxEntry

pytestmark = pytest.mark.every_database

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CUTOFF = T0 + 90 * DAY


async def _entry(outbox_store: OutboxStore, key: str, *, sent: datetime | None = None, **where: object) -> int:
    kind = where.pop("kind", "message")
    payload = where.pop("payload", {"content": key})
    entry, _ = await outbox_store.enqueue(dedupe_key=key, kind=kind, payload=payload, at=T0, **where)  # type: ignore[arg-type]
    if sent is not None:
        await outbox_store.mark_sent(entry.id, sent, 5000 + entry.id, 9000 + entry.id)
    return entry.id


async def _keys(store: Store) -> list[str]:
    async with store.db.reading() as session:
        return sorted(await session.exec(select(col(OutboxEntry.dedupe_key))))


async def test_entries_sent_or_refused_before_the_cutoff_go_leaf_first_in_bounded_batches(
    store: Store, outbox_store: OutboxStore
) -> None:
    old, recent = T0 + DAY, CUTOFF + DAY
    await _entry(outbox_store, "announce:old", channel_id=1, sent=old)
    await _entry(outbox_store, "thread", kind="thread", channel_id=1, payload={"name": "t", "message": {}}, sent=old)
    await _entry(outbox_store, "in-thread", thread_of="thread", sent=old)
    await _entry(outbox_store, "edit-of-in-thread", kind="edit", edit_of="in-thread", sent=old)
    refused = await _entry(outbox_store, "refused", channel_id=2)
    await outbox_store.mark_failed(refused, old, "missing permission")
    await _entry(outbox_store, "announce:recent", channel_id=1, sent=recent)
    await _entry(outbox_store, "never-sent", channel_id=3)  # created long ago, still to send
    await _entry(outbox_store, "edited-later", channel_id=1, sent=old)
    await _entry(outbox_store, "edit-waiting", kind="edit", edit_of="edited-later")  # refers to an old one

    deleted = []
    while counts := (await outbox_store.prune(CUTOFF, 2))["outbox"]:
        assert counts <= 2
        deleted.append(counts)
    # The thread goes after the message in it, which goes after its edit: three calls at least.
    assert sum(deleted) == 5 and len(deleted) >= 3
    assert await _keys(store) == ["announce:recent", "edit-waiting", "edited-later", "never-sent"]
    assert await outbox_store.prune(CUTOFF, 2) == {"outbox": 0}


async def test_a_pruned_key_can_be_enqueued_again(outbox_store: OutboxStore) -> None:
    await _entry(outbox_store, "announce:1", channel_id=1, sent=T0)
    await _entry(outbox_store, "announce:2", channel_id=1, sent=T0)
    assert await outbox_store.prune(CUTOFF, 10) == {"outbox": 2}
    entry, created = await outbox_store.enqueue(
        dedupe_key="announce:1", kind="message", payload={"content": "x"}, at=CUTOFF, channel_id=1
    )
    assert created and entry.sent_at is None


async def test_a_limit_below_one_is_refused(outbox_store: OutboxStore) -> None:
    await _entry(outbox_store, "announce:1", channel_id=1, sent=T0)
    with pytest.raises(InvalidValue, match="limit"):
        await outbox_store.prune(CUTOFF, 0)
    assert (await outbox_store.get("announce:1")) is not None
