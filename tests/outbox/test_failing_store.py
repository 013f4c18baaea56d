"""The outbox when its store cannot take a write (a read-only or full volume): Discord gets each message
once, however long the store fails, and the deliveries are recorded once it can write again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.outbox import Outbox, OutboxStore, TransportRetry
from bot.store import Store, Team
from bot.store.db import Database
from tests.databases import refuse_writes
from tests.scheduling import SLEEPS_ON_REAL_TIMERS

from .conftest import FakeDiscord, OutboxFactory

pytestmark = [pytest.mark.every_database, SLEEPS_ON_REAL_TIMERS]

A, B, THREADS = 111, 222, 2001
DRAIN = 10.0
#: The default backoff (1 s to 60 s) ten times faster: one second of the test stands for ten of the bot.
FAST_BACKOFF = (0.1, 6.0)
WINDOW = 1.0


class ReadOnlyVolume:
    """`await volume.set(True)` and the store's connections refuse every write with the database's own error, as
    on a read-only or full volume, while reads go on (tests.databases.refuse_writes)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._read_only = False
        refuse_writes(db.engine, when=lambda: self._read_only)

    async def set(self, read_only: bool) -> None:
        self._read_only = read_only
        await self._db.engine.dispose()  # connections are opened again, with the setting


async def _entries(outbox: Outbox, store: Store, team: Team) -> int:
    """A message, a message long enough for three parts, and a run's thread; the run's id."""
    now = datetime.now(UTC)
    run = await store.runs.create(team.id, 1, now, now + timedelta(hours=1), ["s1"], {})
    await outbox.enqueue(dedupe_key="verify:1", channel_id=A, payload={"content": "all pass"})
    long_text = "\n".join(f"line {i} " + "x" * 90 for i in range(60))  # about 6000 characters: three parts
    await outbox.enqueue(dedupe_key="long", channel_id=B, payload={"content": long_text})
    await outbox.enqueue(
        dedupe_key="briefing",
        kind="thread",
        channel_id=THREADS,
        run_id=run.id,
        payload={"name": "Run 1 · Blue Whales", "message": {"content": "briefing"}},
    )
    return run.id


async def test_a_store_that_cannot_record_deliveries_gets_each_message_posted_once(
    make_outbox: OutboxFactory, store: Store, team: Team, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    volume = ReadOnlyVolume(store.db)
    outbox = make_outbox(backoff=FAST_BACKOFF)
    run_id = await _entries(outbox, store, team)
    await volume.set(True)
    outbox.start()
    # Every part reaches Discord once (a split message one part per round: each part's record fails).
    await discord.until(lambda: len(discord.calls) >= 5)
    await asyncio.sleep(WINDOW)
    assert sorted(discord.calls) == sorted(
        [("send_message", A), ("send_message", B), ("send_message", B), ("send_message", B), ("create_thread", THREADS)]
    )
    assert len(discord.messages) == 5
    # The store is tried again with the backoff Discord's errors get: at most one failed write per
    # destination and round, and the rounds 0.05-0.1 s, 0.1-0.2 s, 0.2-0.4 s, 0.4-0.8 s, … apart.
    assert 3 <= outbox.stats.errors <= 3 * 6
    pending, _ = await outbox.backlog()
    assert pending == 3

    await volume.set(False)
    assert await outbox.drain(DRAIN)
    assert len(discord.calls) == 5  # recorded without posting again
    message = await outbox_store.get("verify:1")
    assert message is not None and message.sent_at is not None
    assert (message.discord_channel_id, message.discord_message_id) == (A, discord.in_channel(A)[0].message_id)
    long = await outbox_store.get("long")
    assert long is not None and long.sent_at is not None
    assert long.discord_message_id == discord.in_channel(B)[0].message_id
    assert [c.rsplit("\n", 1)[1] for c in discord.contents(B)] == ["(1/3)", "(2/3)", "(3/3)"]
    [thread_id] = discord.threads
    briefing = await outbox_store.get("briefing")
    assert briefing is not None and briefing.discord_channel_id == thread_id
    run = await store.runs.get(run_id)
    assert run is not None and run.thread_id == thread_id
    assert outbox.stats.sent == 3


async def test_a_discord_retry_that_cannot_be_recorded_waits_for_the_backoff(
    make_outbox: OutboxFactory, store: Store, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    volume = ReadOnlyVolume(store.db)
    discord.fail(lambda: TransportRetry(None, "503 Service Unavailable"), times=1000)
    outbox = make_outbox(backoff=FAST_BACKOFF)
    await outbox.enqueue(dedupe_key="k", channel_id=A, payload={"content": "x"})
    await volume.set(True)
    outbox.start()
    await discord.until(lambda: bool(discord.calls))
    await asyncio.sleep(WINDOW)
    assert 1 <= len(discord.calls) <= 6  # one attempt per round of the backoff, not one per loop turn
    assert discord.messages == []

    await volume.set(False)
    discord.faults.clear()
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["x"]
    entry = await outbox_store.get("k")
    assert entry is not None and entry.sent_at is not None


async def test_an_edit_and_a_thread_update_that_cannot_be_recorded_are_not_sent_again(
    make_outbox: OutboxFactory, store: Store, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    volume = ReadOnlyVolume(store.db)
    outbox = make_outbox(backoff=FAST_BACKOFF)
    outbox.start()
    thread = {"name": "incident", "message": {"content": "firing"}}
    await outbox.enqueue(dedupe_key="thread", kind="thread", channel_id=THREADS, payload=thread)
    assert await outbox.drain(DRAIN)
    await outbox.aclose()  # so that nothing is delivered before the volume turns read-only
    await outbox.enqueue(dedupe_key="edit", kind="edit", edit_of="thread", payload={"content": "resolved"})
    await outbox.enqueue(
        dedupe_key="archive", kind="thread_update", thread_of="thread", payload={"name": "✅", "archived": True}
    )
    await volume.set(True)
    outbox.start()
    await discord.until(lambda: len(discord.calls) == 3)
    await asyncio.sleep(WINDOW)
    assert sorted(method for method, _ in discord.calls) == ["create_thread", "edit_message", "update_thread"]

    await volume.set(False)
    assert await outbox.drain(DRAIN)
    assert len(discord.calls) == 3
    for key in ("edit", "archive"):
        entry = await outbox_store.get(key)
        assert entry is not None and entry.sent_at is not None
