"""The outbox's sender, `Outbox`: everything the bot posts on its own is written down first, then delivered once.

`Outbox.enqueue` writes an entry to the store (idempotent on its dedupe key) and wakes the sender;
one sender task (`start` / `aclose`) delivers what is due through a `Transport`:

* in id order per destination (a channel, a run's thread, the channel of an edited message), each
  destination on its own task, so that one that is slow or failing holds up no other;
* through `bot.limits.fit_message`, so that nothing is refused for its size: a long message goes as
  several parts, each recorded as it is accepted;
* `TransportRetry` (429, 5xx, a connection problem) is tried again after the server's
  ``retry_after`` or an exponential backoff with jitter (1 s, 2 s, … up to 60 s), later entries of
  that destination waiting behind it; `TransportRejected` (403, 404, an invalid body) marks the
  entry failed with the reason — kept, visible with `OutboxStore.failed` — and the destination
  goes on with its next entry;
* an edit is skipped (marked sent) when a later edit of the same message, still to be sent, sets
  every field it sets: edits are coalesced, the last one wins;
* an entry is marked sent only after the transport returned, and every message carries a nonce
  derived from its dedupe key (and part), which the transport sends with ``enforce_nonce``:
  Discord answers a repeated nonce (within a few minutes) with the message it already created. A
  crash between Discord accepting a message and the store recording it therefore re-sends it
  after the restart without posting it twice;
* when the store fails (it cannot say what is due, or cannot record an attempt: a read-only or full
  volume), nothing is tried for the same backoff as Discord's errors get, growing while it keeps
  failing. What Discord accepted but the store could not record is kept in memory (the parts, the
  ids Discord returned) and only its record is tried again: the message is not posted again, so no
  duplicate appears however long the store fails, past the nonce's few minutes too.

A message with a `run_id` and no `channel_id` goes to the run's thread, and waits until the run has
one: the thread entry (kind "thread", with the run) makes it the run's thread when it is sent. A
message with `thread_of` goes into the thread that entry starts, once it has started it.

No discord.py here: `bot.discord.transport.DiscordTransport` is the transport of the running bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import KubecampError
from bot.limits import fit_message, fit_thread_name
from bot.outbox.payloads import check_payload
from bot.outbox.store import OutboxDelivery, OutboxItem, OutboxStore, enqueue_on
from bot.outbox.transport import Transport, TransportRejected, TransportRetry, nonce_for
from bot.store.db import WriteStep, one_of
from bot.store.models import OutboxEntry, OutboxKind

log = logging.getLogger(__name__)

_FAR_FUTURE = timedelta(days=36500)


@dataclass
class OutboxStats:
    """Counters since start, for logs and (later) metrics."""

    enqueued: int = 0  # new entries
    duplicates: int = 0  # enqueues of a key that was already there
    sent: int = 0  # entries delivered completely
    messages: int = 0  # transport calls Discord accepted (parts, threads, edits)
    retries: int = 0  # attempts to try again later
    failed: int = 0  # entries refused for good
    errors: int = 0  # unexpected errors: a transport bug, the store unavailable
    superseded: int = 0  # edits not sent because a later edit of the same message replaces them


@dataclass(frozen=True)
class _Accepted:
    """What Discord accepted of an entry: its first `parts`, landed at (`channel_id`, `message_id`);
    all of it once `sent_at` is set. Kept in memory while the store cannot record it."""

    parts: int
    channel_id: int | None
    message_id: int | None
    sent_at: datetime | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """The outbox of the running bot. `start()` the sender, `aclose()` it; `async with` does both."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        transport: Transport,
        clock: Callable[[], datetime] = _utcnow,
        batch_size: int = 100,
        max_destinations: int = 8,
        poll_interval: float = 30.0,
        gather_interval: float = 0.05,
        backoff: tuple[float, float] = (1.0, 60.0),
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._transport = transport
        self._clock = clock
        self._batch_size = batch_size
        self._max_destinations = max_destinations
        self._poll_interval = poll_interval
        self._gather_interval = gather_interval
        self._backoff_base, self._backoff_cap = backoff
        self._rng = rng or random.Random()  # noqa: S311 - the jitter of retries, not a secret
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lanes: dict[int, asyncio.Task[None]] = {}
        self._closing = False
        #: By entry id: what Discord accepted and the store failed to record (see the module docstring).
        self._accepted: dict[int, _Accepted] = {}
        self._store_failures = 0
        self._held_until = 0.0  # the event loop's time before which the failing store is not tried again
        self.stats = OutboxStats()

    # -- enqueueing --------------------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        dedupe_key: str,
        payload: Mapping[str, Any],
        kind: OutboxKind | str = OutboxKind.message,
        channel_id: int | None = None,
        run_id: int | None = None,
        edit_of: str | None = None,
        thread_of: str | None = None,
    ) -> OutboxEntry:
        """Write an entry (see `OutboxStore.enqueue` for where each kind goes) and wake the sender.

        The payload by kind is described in `bot.outbox.payloads`. Sizes do not matter, `fit_message`
        deals with them.

        Idempotent: the same `dedupe_key` again returns the first entry unchanged and sends nothing.
        Raises `InvalidValue` for a malformed payload or entry, before anything is written.
        """
        kind_value = one_of("kind", OutboxKind, kind)
        check_payload(kind_value, payload)
        written = await self._store.enqueue(
            dedupe_key=dedupe_key,
            kind=kind_value,
            payload=payload,
            at=self._clock(),
            channel_id=channel_id,
            run_id=run_id,
            edit_of=edit_of,
            thread_of=thread_of,
        )
        [entry] = self._taken([written])
        return entry

    async def enqueue_all(self, items: Sequence[OutboxItem], *, then: WriteStep | None = None) -> list[OutboxEntry]:
        """`enqueue` each item, in order and in one transaction with `then` (a write of the caller's on the
        same session): either all of it is kept or none, so a crash cannot keep half of what belongs together."""
        for item in items:
            check_payload(one_of("kind", OutboxKind, item.kind), item.payload)
        return self._taken(await self._store.enqueue_all(items, at=self._clock(), then=then))

    def enqueuing(self, items: Sequence[OutboxItem]) -> WriteStep:
        """`enqueue_all` as a write in a transaction of the caller's (a store method's `then`): the entries are
        kept or rolled back with the caller's own write, and the sender is woken once that transaction commits.
        Raises `InvalidValue` for a malformed payload at once, before any transaction."""
        for item in items:
            check_payload(one_of("kind", OutboxKind, item.kind), item.payload)

        async def write(session: AsyncSession) -> None:
            written = await enqueue_on(session, items, at=self._clock())
            # Woken before the commit, the sender could look and find nothing yet, then sleep a poll interval.
            sa.event.listen(session.sync_session, "after_commit", lambda _session: self._taken(written), once=True)

        return write

    def _taken(self, written: Sequence[tuple[OutboxEntry, bool]]) -> list[OutboxEntry]:
        """The entries the store kept, each new or already there under its key: counted, and the sender
        woken if any is new."""
        for entry, created in written:
            if created:
                self.stats.enqueued += 1
                self._wake.set()
            else:
                self.stats.duplicates += 1
                log.debug("outbox: %r is already enqueued (#%d)", entry.dedupe_key, entry.id)
        return [entry for entry, _ in written]

    async def get(self, dedupe_key: str) -> OutboxEntry | None:
        """The entry enqueued under `dedupe_key` (sent, failed or still to send), if there is one."""
        return await self._store.get(dedupe_key)

    async def backlog(self) -> tuple[int, timedelta | None]:
        """How many entries are neither sent nor failed, and the age of the oldest."""
        return await self._store.stats(self._clock())

    # -- the sender --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the outbox sender is already running")
        self._task = asyncio.create_task(self._run(), name="outbox sender")

    async def aclose(self, *, grace: float = 5.0) -> None:
        """Stop the sender: nothing new is started, a delivery under way may finish for `grace`
        seconds, then it is cancelled. What was not sent stays in the store for the next start.

        The grace matters when the Discord client lives on: discord.py keeps a rate-limit bucket
        closed for up to 30 s if a request is cancelled while it waits on that bucket.
        """
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        lanes = list(self._lanes.values())
        if lanes and grace > 0:
            await asyncio.wait(lanes, timeout=grace)
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        self._lanes.clear()
        self._closing = False

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def wake(self) -> None:
        """Look for due entries now (e.g. after a run's thread was set outside the outbox)."""
        self._wake.set()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 (answers False rather than raising)
        """Wait until nothing deliverable is left: every entry sent or failed, or waiting for a run
        thread or an edit target that does not exist. Entries waiting for a retry are waited for.
        True when drained, False when `timeout` (seconds) passed first."""
        if self._task is None or self._task.done():
            raise RuntimeError("the outbox sender is not running: start() it first")
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._progress.clear()
                    if not self._lanes and not await self._store.pending(self._clock() + _FAR_FUTURE, 1):
                        return True
                    self._wake.set()
                    await _wait(self._progress, 1.0)
        except TimeoutError:
            return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            pause = self._held_until - loop.time()
            if pause <= 0:
                try:
                    again = await self._dispatch()
                    pause = 0.0 if again else await self._idle_pause()
                except Exception as e:  # the store is unavailable, or a bug: keep the sender alive
                    self.stats.errors += 1
                    pause = self._hold()
                    log.warning("outbox: cannot read what is due (%s); trying again in %.1f s", e, pause, exc_info=True)
                finally:
                    self._progress.set()
            if pause > 0:
                await _wait(self._wake, pause)
                if self._wake.is_set():
                    # Entries come in bursts (a publication round, a class at its 20-minute mark, lanes
                    # ending together): one look at the store for the whole burst, not one per entry.
                    await asyncio.sleep(self._gather_interval)

    def _hold(self) -> float:
        """The store failed: try nothing for the backoff of the failures in a row; the seconds left.

        The lanes of one round fail together: only the first failure while held counts, so the pause
        grows once per round, as a destination's does with Discord's errors."""
        now = asyncio.get_running_loop().time()
        if now >= self._held_until:
            self._held_until = now + self._backoff(self._store_failures)
            self._store_failures += 1
        return self._held_until - now

    async def _dispatch(self) -> bool:
        """Start a task for each destination with due entries that has none running; True if there
        may be more due right away (a full batch and free slots)."""
        free = self._max_destinations - len(self._lanes)
        if free <= 0:
            return False
        due = await self._store.pending(self._clock(), self._batch_size, exclude_channels=set(self._lanes))
        lanes: dict[int, list[OutboxDelivery]] = {}
        for delivery in due:
            lanes.setdefault(delivery.channel_id, []).append(delivery)
        for channel, deliveries in list(lanes.items())[:free]:
            task = asyncio.create_task(self._deliver_lane(deliveries), name=f"outbox to {channel}")
            self._lanes[channel] = task
            task.add_done_callback(functools.partial(self._lane_done, channel))
        return len(due) >= self._batch_size and len(lanes) < free

    async def _idle_pause(self) -> float:
        upcoming = await self._store.next_attempt(self._clock())
        if upcoming is None:
            return self._poll_interval
        return min(self._poll_interval, max((upcoming - self._clock()).total_seconds(), 0.0))

    def _lane_done(self, channel: int, task: asyncio.Task[None]) -> None:
        if self._lanes.get(channel) is task:
            del self._lanes[channel]
        if not task.cancelled() and (error := task.exception()) is not None:
            # The store failed to record an attempt (or a bug): the lane's entry stays due, and an
            # immediate new round would only fail the same way.
            self.stats.errors += 1
            pause = self._hold()
            log.warning(
                "outbox: delivery to %s stopped: %s; trying again in %.1f s", channel, error, pause, exc_info=error
            )
        elif not task.cancelled():
            self._store_failures = 0
        self._wake.set()
        self._progress.set()

    async def _deliver_lane(self, deliveries: list[OutboxDelivery]) -> None:
        for delivery in deliveries:
            if self._closing or not await self._deliver(delivery):
                return  # waiting for a retry: what follows for this destination waits behind it

    async def _deliver(self, delivery: OutboxDelivery) -> bool:
        """Deliver one entry; False if it is to be tried again later."""
        entry = delivery.entry
        accepted = self._accepted.get(entry.id)
        if accepted is not None and accepted.sent_at is not None:
            # Discord has all of it; only its record is missing: write that, post nothing.
            await self._record(entry, accepted)
            self.stats.sent += 1
            return True
        if accepted is not None:  # resume after the parts Discord has, where they landed
            entry.parts_sent = max(entry.parts_sent, accepted.parts)
            if entry.discord_channel_id is None:
                entry.discord_channel_id = accepted.channel_id
            if entry.discord_message_id is None:
                entry.discord_message_id = accepted.message_id
        try:
            match entry.kind:
                case OutboxKind.message:
                    await self._send_message(delivery)
                case OutboxKind.thread:
                    await self._start_thread(delivery)
                case OutboxKind.edit:
                    await self._edit(delivery)
                case OutboxKind.thread_update:
                    await self._update_thread(delivery)
        except TransportRetry as e:
            delay = e.retry_after if e.retry_after is not None else self._backoff(entry.attempts)
            self.stats.retries += 1
            log.info("outbox: %r to %s: %s; again in %.2f s", entry.dedupe_key, delivery.channel_id, e, delay)
            await self._store.mark_retry(entry.id, self._clock() + timedelta(seconds=delay), str(e))
            return False
        except TransportRejected as e:
            self.stats.failed += 1
            log.warning("outbox: %r to %s refused: %s", entry.dedupe_key, delivery.channel_id, e.reason)
            await self._store.mark_failed(entry.id, self._clock(), e.reason)
            self._accepted.pop(entry.id, None)
            return True
        except KubecampError:
            raise  # the store: the destination stops, the entry is delivered on a later round
        except Exception as e:  # a bug in the transport or the payload: log it, try again later
            self.stats.errors += 1
            delay = self._backoff(entry.attempts)
            log.exception("outbox: %r to %s: unexpected error", entry.dedupe_key, delivery.channel_id)
            await self._store.mark_retry(entry.id, self._clock() + timedelta(seconds=delay), f"{type(e).__name__}: {e}")
            return False
        self.stats.sent += 1
        return True

    async def _send_message(self, delivery: OutboxDelivery) -> None:
        entry = delivery.entry
        parts = fit_message(entry.payload)
        landed = (entry.discord_channel_id, entry.discord_message_id)
        for i in range(entry.parts_sent, len(parts)):
            channel, message = await self._transport.send_message(
                delivery.channel_id, parts[i], nonce=nonce_for(entry.dedupe_key, i)
            )
            self.stats.messages += 1
            if i == 0:
                landed = (channel, message)
            if i < len(parts) - 1:
                await self._record(entry, _Accepted(i + 1, *landed))
        await self._record(entry, _Accepted(len(parts), *landed, sent_at=self._clock()))

    async def _start_thread(self, delivery: OutboxDelivery) -> None:
        entry = delivery.entry
        parts = fit_message(entry.payload["message"])
        thread, message = entry.discord_channel_id, entry.discord_message_id
        start = entry.parts_sent
        if start == 0 or thread is None:
            name = fit_thread_name(entry.payload["name"])
            thread, message = await self._transport.create_thread(
                delivery.channel_id, name, parts[0], nonce=nonce_for(entry.dedupe_key, 0)
            )
            self.stats.messages += 1
            start = 1
            if len(parts) > 1:
                await self._record(entry, _Accepted(1, thread, message))
        for i in range(start, len(parts)):
            await self._transport.send_message(thread, parts[i], nonce=nonce_for(entry.dedupe_key, i))
            self.stats.messages += 1
            if i < len(parts) - 1:
                await self._record(entry, _Accepted(i + 1, thread, message))
        await self._record(entry, _Accepted(len(parts), thread, message, sent_at=self._clock()))

    async def _edit(self, delivery: OutboxDelivery) -> None:
        entry = delivery.entry
        if delivery.message_id is None:
            raise TransportRejected("the message to edit was not recorded when it was sent")
        newer = await self._store.newer_edit(entry)
        if newer is not None and set(entry.payload) <= set(newer.payload):
            # A later edit replaces everything this one sets: one request instead of two, which is
            # what keeps a storm of changes to one message inside Discord's rate limits.
            self.stats.superseded += 1
            await self._record(entry, _Accepted(1, delivery.channel_id, delivery.message_id, sent_at=self._clock()))
            return
        [payload] = fit_message(entry.payload, split=False)
        await self._transport.edit_message(delivery.channel_id, delivery.message_id, payload)
        self.stats.messages += 1
        await self._record(entry, _Accepted(1, delivery.channel_id, delivery.message_id, sent_at=self._clock()))

    async def _update_thread(self, delivery: OutboxDelivery) -> None:
        entry = delivery.entry
        name = entry.payload.get("name")
        await self._transport.update_thread(
            delivery.channel_id,
            name=fit_thread_name(name) if name is not None else None,
            archived=entry.payload.get("archived"),
        )
        self.stats.messages += 1
        await self._record(entry, _Accepted(1, delivery.channel_id, None, sent_at=self._clock()))

    async def _record(self, entry: OutboxEntry, accepted: _Accepted) -> None:
        """Write what Discord accepted of `entry` to the store; if that fails, keep it in memory so that
        the next attempt writes it instead of posting again."""
        try:
            if accepted.sent_at is None:
                await self._store.mark_progress(entry.id, accepted.parts, accepted.channel_id, accepted.message_id)
            else:
                await self._store.mark_sent(entry.id, accepted.sent_at, accepted.channel_id, accepted.message_id)
        except BaseException:
            self._accepted[entry.id] = accepted
            raise
        self._accepted.pop(entry.id, None)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base·2^attempts, at most the cap, times 0.5 to 1."""
        delay: float = min(self._backoff_cap, self._backoff_base * 2.0 ** min(attempts, 32))
        return delay * (0.5 + self._rng.random() / 2)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set or `seconds` passed. Not `asyncio.wait_for`: on Python 3.11 it can
    swallow a cancellation that arrives as the event is set, and the sender would never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
