"""The outbox's table: every message the bot sends on its own, as a row first.

An entry is written once per dedupe key (`OutboxStore.enqueue`, or several with a write of the caller's
in one transaction: `enqueue_all`); the sender (`bot.outbox.sender`) asks what is due (`pending`), in order per
destination, and records each attempt (`mark_progress`, `mark_sent`, `mark_retry`, `mark_failed`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database, WriteStep, delete_first, one_of, require, utc
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.models import OUTBOX_KEY_MAX, OutboxEntry, OutboxKind, Run

#: An outbox error message is kept to this length.
_OUTBOX_ERROR_MAX = 2000


class OutboxStore:
    """The outbox table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self,
        *,
        dedupe_key: str,
        kind: OutboxKind | str,
        payload: Mapping[str, Any],
        at: datetime,
        channel_id: int | None = None,
        run_id: int | None = None,
        edit_of: str | None = None,
        thread_of: str | None = None,
    ) -> tuple[OutboxEntry, bool]:
        """Write an outbox entry, due at once; (the entry, True) — or (the existing entry, False)
        unchanged if one with this `dedupe_key` exists, whatever else is given.

        Where it goes: a message needs `channel_id` or `run_id` (then it goes to the run's thread and
        waits until the run has one); a thread needs `channel_id` (the parent; with `run_id`, the
        thread becomes the run's once it is sent); an edit names the entry it edits by its key in
        `edit_of` (an entry enqueued earlier; if that one has failed, the edit is stored as failed);
        a thread update needs `channel_id` (the thread) or `run_id`. Instead of either, a message or a
        thread update may name a thread entry by its key in `thread_of`: it goes into that thread once
        the thread exists (and fails if that entry failed).
        Raises `InvalidValue` for a malformed entry, `NotFound` for an unknown run or target entry.
        """
        item = OutboxItem(dedupe_key, kind, payload, channel_id, run_id, edit_of, thread_of)
        entry = _outbox_entry(item, utc("at", at))
        try:
            async with self._db.writing() as session:
                [written] = await _insert_all(session, [(entry, item)])
                return written
        except StoreConflict:
            # Another writer inserted the same key first (possible where writes are not serialised).
            async with self._db.reading() as session:
                existing = await _outbox_by_key(session, dedupe_key)
            if existing is not None:
                return existing, False
            raise

    async def enqueue_all(
        self,
        items: Sequence[OutboxItem],
        *,
        at: datetime,
        then: WriteStep | None = None,
    ) -> list[tuple[OutboxEntry, bool]]:
        """`enqueue` for each item in order, then `then` (the caller's own write), in one transaction:
        all of it is kept or none. An item may name an earlier one of the same call in `edit_of`/`thread_of`."""
        entries = [(_outbox_entry(item, utc("at", at)), item) for item in items]
        async with self._db.writing() as session:
            written = await _insert_all(session, entries)
            if then is not None:
                await then(session)
        return written

    async def newer_edit(self, entry: OutboxEntry) -> OutboxEntry | None:
        """The latest edit of the same message enqueued after `entry` and still to be sent, if any."""
        if entry.kind != OutboxKind.edit or entry.target_id is None:
            return None
        query = (
            select(OutboxEntry)
            .where(
                col(OutboxEntry.kind) == OutboxKind.edit,
                col(OutboxEntry.target_id) == entry.target_id,
                col(OutboxEntry.id) > entry.id,
                col(OutboxEntry.sent_at).is_(None),
                col(OutboxEntry.failed_at).is_(None),
            )
            .order_by(col(OutboxEntry.id).desc())
            .limit(1)
        )
        async with self._db.reading() as session:
            return (await session.exec(query)).first()

    async def get(self, dedupe_key: str) -> OutboxEntry | None:
        async with self._db.reading() as session:
            return await _outbox_by_key(session, dedupe_key)

    async def pending(
        self, now: datetime, limit: int, *, exclude_channels: Collection[int] = ()
    ) -> list[OutboxDelivery]:
        """What is due for delivery at `now`, in id order, with where it goes.

        An entry is due when it is neither sent nor failed, its next attempt is due, it has a
        destination (a run's thread exists; an edit's target was sent) and no earlier entry for the
        same destination is waiting for a later attempt: what goes to one channel is delivered in
        the order it was enqueued. `exclude_channels` leaves out destinations (the sender's busy ones).
        """
        params = {"now": utc("now", now), "limit": limit, "exclude_channels": list(exclude_channels)}
        async with self._db.reading() as session:
            rows = (await session.exec(_PENDING, params=params)).all()
        return [OutboxDelivery(entry, int(channel), message) for entry, channel, message in rows]

    async def next_attempt(self, now: datetime) -> datetime | None:
        """The earliest retry after `now` of an entry neither sent nor failed (None if there is none)."""
        now = utc("now", now)
        query = select(func.min(col(OutboxEntry.next_attempt_at))).where(
            col(OutboxEntry.sent_at).is_(None),
            col(OutboxEntry.failed_at).is_(None),
            col(OutboxEntry.next_attempt_at) > now,
        )
        async with self._db.reading() as session:
            return (await session.exec(query)).one()

    async def mark_progress(
        self, entry_id: int, parts_sent: int, channel_id: int | None, message_id: int | None
    ) -> None:
        """Record that the first `parts_sent` parts of a split entry were accepted; the ids of where
        it landed are kept from the first call that gives them."""
        async with self._db.writing() as session:
            entry = await require(session, OutboxEntry, entry_id)
            entry.parts_sent = max(entry.parts_sent, parts_sent)
            _landed(entry, channel_id, message_id)
            session.add(entry)

    async def mark_sent(self, entry_id: int, at: datetime, channel_id: int | None, message_id: int | None) -> bool:
        """Record that Discord accepted the entry (all of it); False if it was already recorded.

        A thread entry with a run becomes the run's thread in the same transaction, so that the
        run's messages waiting for it are due from then on, and not before.
        """
        at = utc("at", at)
        async with self._db.writing() as session:
            entry = await require(session, OutboxEntry, entry_id)
            if entry.sent_at is not None:
                return False
            entry.sent_at = at
            entry.attempts += 1
            _landed(entry, channel_id, message_id)
            session.add(entry)
            if entry.kind == OutboxKind.thread and entry.run_id is not None and entry.discord_channel_id is not None:
                run = await session.get(Run, entry.run_id)
                if run is not None:
                    run.thread_id = entry.discord_channel_id
                    session.add(run)
        return True

    async def mark_retry(self, entry_id: int, next_attempt_at: datetime, error: str) -> None:
        """Count a failed attempt that is worth repeating, and when to repeat it."""
        next_attempt_at = utc("next_attempt_at", next_attempt_at)
        async with self._db.writing() as session:
            entry = await _failed_attempt(session, entry_id, error)
            if entry is not None:
                entry.next_attempt_at = next_attempt_at

    async def mark_failed(self, entry_id: int, at: datetime, error: str) -> None:
        """Record a permanent refusal; the entry is kept. Edits of it waiting to be sent fail with it."""
        at = utc("at", at)
        async with self._db.writing() as session:
            entry = await _failed_attempt(session, entry_id, error)
            if entry is None:
                return
            entry.failed_at = at
            await session.flush()
            await session.exec(
                sa.update(OutboxEntry)
                .where(
                    col(OutboxEntry.target_id) == entry_id,
                    col(OutboxEntry.sent_at).is_(None),
                    col(OutboxEntry.failed_at).is_(None),
                )
                .values(failed_at=at, last_error=_failed_target(entry))
            )

    async def stats(self, now: datetime) -> tuple[int, timedelta | None]:
        """How many entries are neither sent nor failed, and how old the oldest of them is."""
        now = utc("now", now)
        query = select(func.count(), func.min(col(OutboxEntry.created_at))).where(
            col(OutboxEntry.sent_at).is_(None), col(OutboxEntry.failed_at).is_(None)
        )
        async with self._db.reading() as session:
            count, oldest = (await session.exec(query)).one()
        return count, (max(now - oldest, timedelta(0)) if oldest is not None else None)

    async def prune(self, before: datetime, limit: int) -> dict[str, int]:
        """Delete at most `limit` entries sent or refused before `before`; rows deleted, by table. Call
        again until it deletes none.

        Entries still to send stay, and so does every entry another one refers to (the message an edit
        edits, the thread a message goes into) until that one is gone: such chains go leaf first, one
        call after another. A key whose entry is gone can be enqueued again: the retention is far longer
        than anything enqueues the same key (a retried job, a restart)."""
        before = utc("before", before)
        referring = aliased(OutboxEntry)
        old = select(col(OutboxEntry.id)).where(
            sa.or_(col(OutboxEntry.sent_at) < before, col(OutboxEntry.failed_at) < before),
            ~sa.exists(select(col(referring.id)).where(col(referring.target_id) == col(OutboxEntry.id))),
        )
        async with self._db.writing() as session:
            deleted = await delete_first(session, old, limit=limit)
        return {OutboxEntry.__tablename__: deleted}

    async def failed(self, limit: int = 50) -> list[OutboxEntry]:
        """The entries Discord refused for good, most recent first."""
        async with self._db.reading() as session:
            query = (
                select(OutboxEntry)
                .where(col(OutboxEntry.failed_at).is_not(None))
                .order_by(col(OutboxEntry.failed_at).desc(), col(OutboxEntry.id).desc())
                .limit(limit)
            )
            return list(await session.exec(query))


@dataclass(frozen=True)
class OutboxItem:
    """The arguments of `OutboxStore.enqueue` but the time, as one value (for `OutboxStore.enqueue_all`)."""

    dedupe_key: str
    kind: OutboxKind | str
    payload: Mapping[str, Any]
    channel_id: int | None = None
    run_id: int | None = None
    edit_of: str | None = None
    thread_of: str | None = None


@dataclass(frozen=True)
class OutboxDelivery:
    """An outbox entry due for delivery and where it goes.

    `channel_id`: for a message or a thread update, the channel or thread (a run's thread
    resolved); for a thread, the channel to start it in; for an edit, the channel of the message it
    edits, `message_id`. This is also the order key: one destination's entries go in id order.
    """

    entry: OutboxEntry
    channel_id: int
    message_id: int | None = None


def _json_object(field: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON copy of `value`, so that what is returned is what a later read gives."""
    if not isinstance(value, Mapping):
        raise InvalidValue(field, value, "must be a JSON object")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise InvalidValue(field, value, f"not JSON: {e}") from None
    return copied


def _outbox_entry(item: OutboxItem, at: datetime) -> OutboxEntry:
    """A new outbox entry for `item`, due at `at`; `InvalidValue` for a malformed one (see `OutboxStore.enqueue`)."""
    kind = one_of("kind", OutboxKind, item.kind)
    if not 1 <= len(item.dedupe_key) <= OUTBOX_KEY_MAX:
        raise InvalidValue("dedupe_key", item.dedupe_key, f"1 to {OUTBOX_KEY_MAX} characters")
    stored = _json_object("payload", item.payload)
    if kind == OutboxKind.edit:
        if item.edit_of is None:
            raise InvalidValue("edit_of", None, "an edit names the outbox entry it edits")
        if item.channel_id is not None:
            raise InvalidValue("channel_id", item.channel_id, "an edit goes where the entry it edits landed")
    elif item.edit_of is not None:
        raise InvalidValue("edit_of", item.edit_of, f"only an edit names an entry to edit, not a {kind}")
    if item.thread_of is not None:
        if kind not in (OutboxKind.message, OutboxKind.thread_update):
            raise InvalidValue(
                "thread_of", item.thread_of, f"only a message or a thread update goes into a thread, not a {kind}"
            )
        if item.channel_id is not None or item.run_id is not None:
            raise InvalidValue(
                "thread_of",
                item.thread_of,
                "a message goes into one place: a channel, a run's thread or a thread entry's thread",
            )
    if kind == OutboxKind.thread and item.channel_id is None:
        raise InvalidValue("channel_id", None, "a thread needs the channel to start it in")
    if (
        kind in (OutboxKind.message, OutboxKind.thread_update)
        and item.channel_id is None
        and item.run_id is None
        and item.thread_of is None
    ):
        raise InvalidValue("channel_id", None, f"a {kind} needs a channel_id, a run_id (the run's thread) or thread_of")
    return OutboxEntry(
        dedupe_key=item.dedupe_key,
        kind=kind,
        channel_id=item.channel_id,
        run_id=item.run_id,
        payload=stored,
        created_at=at,
        attempts=0,
        next_attempt_at=at,
        parts_sent=0,
    )


async def enqueue_on(
    session: AsyncSession, items: Sequence[OutboxItem], *, at: datetime
) -> list[tuple[OutboxEntry, bool]]:
    """`OutboxStore.enqueue_all` on the session of a transaction of the caller's: kept or rolled back with it."""
    return await _insert_all(session, [(_outbox_entry(item, utc("at", at)), item) for item in items])


async def _insert_all(
    session: AsyncSession, entries: Sequence[tuple[OutboxEntry, OutboxItem]]
) -> list[tuple[OutboxEntry, bool]]:
    """Add each entry unless an entry with its key exists: (the entry, True), or (the existing one, False), in order.

    The entries already kept under the keys and the targets the items name are read in one statement, not two for
    each entry: a publication round is written under the write lock every webhook waits on. An entry whose target
    is a new one of the same call waits for that one's id (a flush)."""
    keys = {entry.dedupe_key for entry, _ in entries} | {_target_key(item) for _, item in entries} - {None}
    query = select(OutboxEntry).where(col(OutboxEntry.dedupe_key).in_(sorted(str(key) for key in keys)))
    kept = {entry.dedupe_key: entry for entry in await session.exec(query)}
    written: list[tuple[OutboxEntry, bool]] = []
    unflushed: set[str] = set()
    for entry, item in entries:
        existing = kept.get(entry.dedupe_key)
        if existing is not None:
            written.append((existing, False))
            continue
        if item.run_id is not None:
            await require(session, Run, item.run_id)
        key = _target_key(item)
        if key is not None:
            target = kept.get(key)
            if target is None:
                raise NotFound("outbox entry", key)
            field = "edit_of" if item.edit_of is not None else "thread_of"
            if item.edit_of is not None and target.kind not in (OutboxKind.message, OutboxKind.thread):
                raise InvalidValue(field, key, f"a {target.kind} entry has no message to edit")
            if item.thread_of is not None and target.kind != OutboxKind.thread:
                raise InvalidValue(field, key, f"a {target.kind} entry starts no thread")
            if key in unflushed:  # new in this call: its id comes with the flush
                await session.flush()
                unflushed.clear()
            entry.target_id = target.id
            if target.failed_at is not None:
                entry.failed_at = entry.created_at
                entry.last_error = _failed_target(target)
        session.add(entry)
        kept[entry.dedupe_key] = entry
        unflushed.add(entry.dedupe_key)
        written.append((entry, True))
    await session.flush()
    return written


def _target_key(item: OutboxItem) -> str | None:
    """The key of the entry an item names (the message it edits, the thread it goes into), if it names one."""
    return item.edit_of if item.edit_of is not None else item.thread_of


async def _outbox_by_key(session: AsyncSession, dedupe_key: str) -> OutboxEntry | None:
    return (await session.exec(select(OutboxEntry).where(OutboxEntry.dedupe_key == dedupe_key))).first()


def _outbox_lane(entry: type[OutboxEntry], target: type[OutboxEntry], run: type[Run] = Run) -> Any:
    """SQL: where an entry goes (see `OutboxDelivery.channel_id`); NULL while it has nowhere to go.

    With a target entry (an edit's message, a message's thread): nowhere until the target was sent;
    then an edit of a thread's starter message goes to the thread's parent channel, anything else to
    where the target landed (a message's channel, a thread entry's thread)."""
    return sa.case(
        (col(entry.target_id).is_(None), func.coalesce(col(entry.channel_id), col(run.thread_id))),
        (col(target.sent_at).is_(None), sa.null()),
        (
            sa.and_(col(entry.kind) == OutboxKind.edit, col(target.kind) == OutboxKind.thread),
            col(target.channel_id),
        ),
        else_=col(target.discord_channel_id),
    )


def _pending_statement() -> Any:
    """`OutboxStore.pending`'s query, built once: with its aliases, building it cost more than running it."""
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    target = aliased(OutboxEntry)
    lane = _outbox_lane(OutboxEntry, target)
    earlier, earlier_target = aliased(OutboxEntry), aliased(OutboxEntry)
    earlier_run = aliased(Run)
    waiting = (
        select(col(earlier.id))
        .select_from(earlier)
        .outerjoin(earlier_run, col(earlier_run.id) == col(earlier.run_id))
        .outerjoin(earlier_target, col(earlier_target.id) == col(earlier.target_id))
        .where(
            col(earlier.sent_at).is_(None),
            col(earlier.failed_at).is_(None),
            col(earlier.id) < col(OutboxEntry.id),
            col(earlier.next_attempt_at) > now,
            _outbox_lane(earlier, earlier_target, earlier_run) == lane,
        )
    )
    return (
        select(OutboxEntry, lane, col(target.discord_message_id))
        .select_from(OutboxEntry)
        .outerjoin(Run, col(Run.id) == col(OutboxEntry.run_id))
        .outerjoin(target, col(target.id) == col(OutboxEntry.target_id))
        .where(
            col(OutboxEntry.sent_at).is_(None),
            col(OutboxEntry.failed_at).is_(None),
            col(OutboxEntry.next_attempt_at) <= now,
            lane.is_not(None),
            ~sa.exists(waiting),
            # An empty list leaves out nothing.
            lane.not_in(sa.bindparam("exclude_channels", expanding=True)),
        )
        .order_by(col(OutboxEntry.id))
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


_PENDING = _pending_statement()


def _landed(entry: OutboxEntry, channel_id: int | None, message_id: int | None) -> None:
    if entry.discord_channel_id is None:
        entry.discord_channel_id = channel_id
    if entry.discord_message_id is None:
        entry.discord_message_id = message_id


async def _failed_attempt(session: AsyncSession, entry_id: int, error: str) -> OutboxEntry | None:
    """Count a failed attempt of an entry still open (neither sent nor failed); None if it is not open."""
    entry = await require(session, OutboxEntry, entry_id)
    if entry.sent_at is not None or entry.failed_at is not None:
        return None
    entry.attempts += 1
    entry.last_error = error[:_OUTBOX_ERROR_MAX]
    session.add(entry)
    return entry


def _failed_target(target: OutboxEntry) -> str:
    what = "the thread it goes into" if target.kind == OutboxKind.thread else "the message it edits"
    return f"{what} (outbox #{target.id}, {target.dedupe_key!r}) was not sent: {target.last_error}"[:_OUTBOX_ERROR_MAX]
