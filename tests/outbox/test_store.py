"""The outbox's table on a real, migrated SQLite file: idempotent enqueue, what is due, per-destination order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from bot.outbox import OutboxItem, OutboxStore
from bot.store import InvalidValue, NotFound, Run, Store, StoreConflict, Team
from bot.store.models import OutboxKind
from tests.databases import check_violation

pytestmark = pytest.mark.every_database

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)


async def _run(store: Store, team: Team) -> Run:
    return await store.runs.create(team.id, 1, T0, T0 + HOUR, ["s1"], {})


async def _due(outbox_store: OutboxStore, at: object = None, **kwargs: object) -> list[tuple[str, int, int | None]]:
    now = T0 + HOUR if at is None else at
    return [
        (d.entry.dedupe_key, d.channel_id, d.message_id)
        for d in await outbox_store.pending(now, 100, **kwargs)  # type: ignore[arg-type]
    ]


async def test_enqueue_is_idempotent_on_the_dedupe_key(outbox_store: OutboxStore) -> None:
    entry, created = await outbox_store.enqueue(
        dedupe_key="k1", kind="message", channel_id=5, payload={"content": "a"}, at=T0
    )
    assert created
    assert (entry.kind, entry.channel_id, entry.payload, entry.attempts, entry.parts_sent) == (
        OutboxKind.message,
        5,
        {"content": "a"},
        0,
        0,
    )
    assert (entry.created_at, entry.next_attempt_at, entry.sent_at, entry.failed_at) == (T0, T0, None, None)
    again, created = await outbox_store.enqueue(
        dedupe_key="k1", kind="message", channel_id=6, payload={"content": "b"}, at=T0 + HOUR
    )
    assert not created
    assert again == entry
    assert await _due(outbox_store) == [("k1", 5, None)]


async def test_racing_enqueues_of_one_key_store_one_row(outbox_store: OutboxStore) -> None:
    results = await asyncio.gather(
        *(
            outbox_store.enqueue(dedupe_key="same", kind="message", channel_id=1, payload={"content": str(i)}, at=T0)
            for i in range(8)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({entry.id for entry, _ in results}) == 1
    assert len(await _due(outbox_store)) == 1


async def test_enqueue_validates_before_writing(outbox_store: OutboxStore, team: Team) -> None:
    with pytest.raises(InvalidValue, match="1 to 200"):
        await outbox_store.enqueue(dedupe_key="k" * 201, kind="message", channel_id=1, payload={}, at=T0)
    with pytest.raises(InvalidValue, match="one of message, thread, edit, thread_update"):
        await outbox_store.enqueue(dedupe_key="k", kind="dm", channel_id=1, payload={}, at=T0)
    with pytest.raises(InvalidValue, match="channel_id, a run_id"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="channel to start it in"):
        await outbox_store.enqueue(dedupe_key="k", kind="thread", run_id=1, payload={}, at=T0)
    with pytest.raises(InvalidValue, match="names the outbox entry"):
        await outbox_store.enqueue(dedupe_key="k", kind="edit", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="only an edit"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", channel_id=1, edit_of="x", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="not JSON"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", channel_id=1, payload={"x": object()}, at=T0)
    with pytest.raises(InvalidValue, match="naive"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", channel_id=1, payload={}, at=T0.replace(tzinfo=None))
    with pytest.raises(NotFound, match="no run #999"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", run_id=999, payload={}, at=T0)
    with pytest.raises(NotFound, match="no outbox entry #nothing"):
        await outbox_store.enqueue(dedupe_key="k", kind="edit", edit_of="nothing", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="only a message or a thread update"):
        await outbox_store.enqueue(dedupe_key="k", kind="thread", channel_id=1, thread_of="x", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="into one place"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", channel_id=1, thread_of="x", payload={}, at=T0)
    with pytest.raises(NotFound, match="no outbox entry #nothing"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", thread_of="nothing", payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="plain", kind="message", channel_id=1, payload={"content": "x"}, at=T0)
    with pytest.raises(InvalidValue, match="starts no thread"):
        await outbox_store.enqueue(dedupe_key="k", kind="message", thread_of="plain", payload={}, at=T0)
    assert await outbox_store.get("k") is None
    assert await outbox_store.stats(T0) == (1, timedelta(0))


async def test_the_database_refuses_what_the_store_would(store: Store) -> None:
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.IntegrityError, match=check_violation("ck_outbox_kind")):
            await connection.execute(
                sa.text(
                    "INSERT INTO outbox (dedupe_key, kind, payload, created_at, next_attempt_at)"
                    " VALUES ('k', 'dm', '{}', '2025-03-01', '2025-03-01')"
                )
            )
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.IntegrityError, match="ck_outbox_dedupe_key_length"):
            await connection.execute(
                sa.text(
                    "INSERT INTO outbox (dedupe_key, kind, payload, created_at, next_attempt_at)"
                    " VALUES ('', 'message', '{}', '2025-03-01', '2025-03-01')"
                )
            )


async def test_pending_is_in_id_order_and_due_only(outbox_store: OutboxStore) -> None:
    for key, channel in (("a", 1), ("b", 2), ("c", 1)):
        await outbox_store.enqueue(dedupe_key=key, kind="message", channel_id=channel, payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="later", kind="message", channel_id=3, payload={}, at=T0 + HOUR)
    assert await _due(outbox_store, T0) == [("a", 1, None), ("b", 2, None), ("c", 1, None)]
    assert await _due(outbox_store, T0 + HOUR) == [("a", 1, None), ("b", 2, None), ("c", 1, None), ("later", 3, None)]
    assert [d.entry.dedupe_key for d in await outbox_store.pending(T0, 2)] == ["a", "b"]
    assert await _due(outbox_store, T0, exclude_channels=[1]) == [("b", 2, None)]


async def test_a_retried_entry_holds_back_later_ones_of_its_destination_only(outbox_store: OutboxStore) -> None:
    for key, channel in (("a1", 1), ("b1", 2), ("a2", 1), ("b2", 2)):
        await outbox_store.enqueue(dedupe_key=key, kind="message", channel_id=channel, payload={}, at=T0)
    a1 = await outbox_store.get("a1")
    assert a1 is not None
    await outbox_store.mark_retry(a1.id, T0 + 10 * SECOND, "503 Service Unavailable")
    assert await _due(outbox_store, T0 + SECOND) == [("b1", 2, None), ("b2", 2, None)]
    assert await outbox_store.next_attempt(T0 + SECOND) == T0 + 10 * SECOND
    assert await _due(outbox_store, T0 + 10 * SECOND) == [
        ("a1", 1, None),
        ("b1", 2, None),
        ("a2", 1, None),
        ("b2", 2, None),
    ]
    retried = await outbox_store.get("a1")
    assert retried is not None
    assert (retried.attempts, retried.last_error) == (1, "503 Service Unavailable")


async def test_run_messages_wait_for_the_run_thread(store: Store, outbox_store: OutboxStore, team: Team) -> None:
    run = await _run(store, team)
    thread, _ = await outbox_store.enqueue(
        dedupe_key="briefing", kind="thread", channel_id=2001, run_id=run.id, payload={"name": "t"}, at=T0
    )
    await outbox_store.enqueue(dedupe_key="hint", kind="message", run_id=run.id, payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="elsewhere", kind="message", channel_id=7, payload={}, at=T0)
    assert await _due(outbox_store) == [("briefing", 2001, None), ("elsewhere", 7, None)]

    # The first of two parts landed: the thread exists, but the run's messages still wait.
    await outbox_store.mark_progress(thread.id, 1, 555, 444)
    assert await _due(outbox_store) == [("briefing", 2001, None), ("elsewhere", 7, None)]
    assert (await store.runs.get(run.id)).thread_id is None  # type: ignore[union-attr]

    assert await outbox_store.mark_sent(thread.id, T0 + SECOND, 999, 998)
    sent = await outbox_store.get("briefing")
    assert sent is not None
    assert (sent.sent_at, sent.discord_channel_id, sent.discord_message_id, sent.parts_sent) == (
        T0 + SECOND,
        555,
        444,
        1,
    )
    assert (await store.runs.get(run.id)).thread_id == 555  # type: ignore[union-attr]
    assert await _due(outbox_store) == [("hint", 555, None), ("elsewhere", 7, None)]
    assert not await outbox_store.mark_sent(thread.id, T0 + HOUR, 1, 1)  # once only


async def test_a_thread_set_elsewhere_releases_the_run_messages(
    store: Store, outbox_store: OutboxStore, team: Team
) -> None:
    run = await _run(store, team)
    await outbox_store.enqueue(dedupe_key="hint", kind="message", run_id=run.id, payload={}, at=T0)
    assert await _due(outbox_store) == []
    await store.runs.set_thread(run.id, 4242)
    assert await _due(outbox_store) == [("hint", 4242, None)]


async def test_edits_go_where_their_target_landed_once_it_did(
    store: Store, outbox_store: OutboxStore, team: Team
) -> None:
    run = await _run(store, team)
    message, _ = await outbox_store.enqueue(dedupe_key="m", kind="message", channel_id=1, payload={}, at=T0)
    thread, _ = await outbox_store.enqueue(
        dedupe_key="t", kind="thread", channel_id=2, run_id=run.id, payload={}, at=T0
    )
    await outbox_store.enqueue(dedupe_key="edit-m", kind="edit", edit_of="m", payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="edit-t", kind="edit", edit_of="t", payload={}, at=T0)
    with pytest.raises(InvalidValue, match="has no message to edit"):
        await outbox_store.enqueue(dedupe_key="edit-e", kind="edit", edit_of="edit-m", payload={}, at=T0)
    assert await _due(outbox_store) == [("m", 1, None), ("t", 2, None)]
    await outbox_store.mark_sent(message.id, T0, 1, 11)
    await outbox_store.mark_sent(thread.id, T0, 22, 21)
    # The edit of the thread entry edits its starter message, in the parent channel.
    assert await _due(outbox_store) == [("edit-m", 1, 11), ("edit-t", 2, 21)]


async def test_a_failure_is_kept_and_fails_the_edits_of_it(outbox_store: OutboxStore) -> None:
    entry, _ = await outbox_store.enqueue(dedupe_key="m", kind="message", channel_id=1, payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="edit1", kind="edit", edit_of="m", payload={}, at=T0)
    await outbox_store.mark_failed(entry.id, T0 + SECOND, "missing permission to post in channel 1")
    failed = await outbox_store.get("m")
    assert failed is not None
    assert (failed.failed_at, failed.last_error, failed.attempts) == (
        T0 + SECOND,
        "missing permission to post in channel 1",
        1,
    )
    edit1 = await outbox_store.get("edit1")
    assert edit1 is not None
    assert edit1.failed_at == T0 + SECOND
    assert "was not sent: missing permission" in (edit1.last_error or "")
    edit2, created = await outbox_store.enqueue(dedupe_key="edit2", kind="edit", edit_of="m", payload={}, at=T0 + HOUR)
    assert created
    assert edit2.failed_at == T0 + HOUR
    assert await _due(outbox_store) == []
    assert [e.dedupe_key for e in await outbox_store.failed()] == ["edit2", "edit1", "m"]
    # Nothing more happens to a failed entry.
    await outbox_store.mark_retry(entry.id, T0 + HOUR, "late")
    await outbox_store.mark_failed(entry.id, T0 + HOUR, "again")
    assert await outbox_store.get("m") == failed


async def test_stats_count_what_is_neither_sent_nor_failed(store: Store, outbox_store: OutboxStore, team: Team) -> None:
    run = await _run(store, team)
    assert await outbox_store.stats(T0) == (0, None)
    a, _ = await outbox_store.enqueue(dedupe_key="a", kind="message", channel_id=1, payload={}, at=T0)
    await outbox_store.enqueue(dedupe_key="b", kind="message", run_id=run.id, payload={}, at=T0 + SECOND)
    c, _ = await outbox_store.enqueue(dedupe_key="c", kind="message", channel_id=1, payload={}, at=T0 + 2 * SECOND)
    assert await outbox_store.stats(T0 + HOUR) == (3, HOUR)
    await outbox_store.mark_sent(a.id, T0, 1, 1)
    await outbox_store.mark_failed(c.id, T0, "no")
    # "b" waits for a thread that does not exist: it stays pending, and visibly old.
    assert await outbox_store.stats(T0 + HOUR) == (1, HOUR - SECOND)


async def test_deleting_a_run_keeps_what_was_said_about_it(store: Store, outbox_store: OutboxStore, team: Team) -> None:
    run = await _run(store, team)
    entry, _ = await outbox_store.enqueue(
        dedupe_key="a", kind="message", run_id=run.id, channel_id=3, payload={}, at=T0
    )
    async with store.db.engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM scenario_states"))
        await connection.execute(sa.text("DELETE FROM runs"))
    kept = await outbox_store.get("a")
    assert kept is not None
    assert (kept.id, kept.run_id) == (entry.id, None)


async def test_unknown_ids_are_not_found(outbox_store: OutboxStore) -> None:
    with pytest.raises(NotFound):
        await outbox_store.mark_sent(1, T0, 1, 1)
    with pytest.raises(NotFound):
        await outbox_store.mark_retry(1, T0, "x")
    with pytest.raises(NotFound):
        await outbox_store.mark_failed(1, T0, "x")
    with pytest.raises(NotFound):
        await outbox_store.mark_progress(1, 1, 1, 1)


async def test_a_conflict_that_is_not_the_key_is_raised(store: Store, outbox_store: OutboxStore) -> None:
    """Only a duplicate key turns a refused insert into "already there"."""
    async with store.db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(
                "CREATE FUNCTION no_outbox() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'constraint failed: no' USING ERRCODE = 'check_violation'; END $$"
            )
            await connection.exec_driver_sql(
                "CREATE TRIGGER no_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION no_outbox()"
            )
        else:
            await connection.execute(
                sa.text(
                    "CREATE TRIGGER no_outbox BEFORE INSERT ON outbox"
                    " BEGIN SELECT RAISE(ABORT, 'constraint failed: no'); END"
                )
            )
    with pytest.raises(StoreConflict):
        await outbox_store.enqueue(dedupe_key="x", kind="message", channel_id=1, payload={}, at=T0)


async def test_enqueue_all_reads_the_keys_once_and_writes_the_new_entries_together(
    outbox_store: OutboxStore, store: Store
) -> None:
    # A publication round is written under the write lock every webhook waits on: one read of every key it names,
    # not one or two per entry. A message into a thread of the same call waits for that thread's id.
    await outbox_store.enqueue(dedupe_key="old", kind="message", channel_id=5, payload={"content": "a"}, at=T0)
    items = [
        OutboxItem("edit", "edit", {"content": "b"}, edit_of="old"),
        OutboxItem("old", "message", {"content": "again"}, channel_id=6),
        OutboxItem("thread", "thread", {"name": "t", "message": {"content": "c"}}, channel_id=5),
        OutboxItem("line", "message", {"content": "d"}, thread_of="thread"),
        OutboxItem("line 2", "message", {"content": "e"}, thread_of="thread"),
    ]
    engine = store.db.engine.sync_engine
    statements: list[str] = []

    def count(conn: sa.Connection, cursor: object, statement: str, *args: object) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement.split()[0])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        written = await outbox_store.enqueue_all(items, at=T0 + SECOND)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [(entry.dedupe_key, created) for entry, created in written] == [
        ("edit", True),
        ("old", False),
        ("thread", True),
        ("line", True),
        ("line 2", True),
    ]
    old, thread = written[1][0], written[2][0]
    assert written[0][0].target_id == old.id
    assert written[3][0].target_id == written[4][0].target_id == thread.id
    # The keys read once; then the new entries (an INSERT each at most: PostgreSQL's driver takes several in one).
    assert statements[0] == "SELECT" and set(statements[1:]) == {"INSERT"} and len(statements) <= 5
