"""Fixtures of the outbox tests: a real migrated SQLite store and `FakeDiscord`, a transport that
behaves like Discord at the process edge of bot.outbox (nonce dedupe, limits, scripted faults)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.limits import THREAD_NAME_MAX, within_limits
from bot.outbox import Outbox, OutboxStore, TransportError, TransportRejected


@dataclass
class Posted:
    channel_id: int
    message_id: int
    payload: dict[str, Any]
    nonce: str | None
    thread_id: int | None = None  # the thread started from this message


@dataclass
class Fault:
    error: Callable[[], BaseException]
    times: int
    method: str | None
    channel_id: int | None


@dataclass
class FakeDiscord:
    """Records what "Discord" accepted. Like Discord: a repeated nonce returns the first message,
    a payload over a limit is refused, a thread started from a message that has one is that one."""

    messages: list[Posted] = field(default_factory=list)
    edits: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    thread_updates: list[tuple[int, str | None, bool | None]] = field(default_factory=list)
    threads: dict[int, tuple[int, str]] = field(default_factory=dict)  # thread id -> (parent, name)
    calls: list[tuple[str, int]] = field(default_factory=list)  # every call, accepted or not
    forbidden: set[int] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    #: While set, a call blocks on this after Discord accepted (and before it answers).
    hold_after_accept: asyncio.Event | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)
    #: While set, calls to these channels hang before reaching Discord.
    hang: dict[int, asyncio.Event] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900_000))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _by_nonce: dict[str, Posted] = field(default_factory=dict)

    def fail(
        self,
        error: Callable[[], BaseException],
        *,
        times: int = 1,
        method: str | None = None,
        channel_id: int | None = None,
    ) -> None:
        self.faults.append(Fault(error, times, method, channel_id))

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait (at most 10 s) until `predicate()` holds, checked whenever a call arrives."""
        async with asyncio.timeout(10.0):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def in_channel(self, channel_id: int) -> list[Posted]:
        return [m for m in self.messages if m.channel_id == channel_id]

    def contents(self, channel_id: int) -> list[str]:
        return [m.payload.get("content", "") for m in self.in_channel(channel_id)]

    async def _enter(self, method: str, channel_id: int) -> None:
        self.calls.append((method, channel_id))
        self._changed.set()
        if channel_id in self.hang:
            await self.hang[channel_id].wait()
        for fault in self.faults:
            if fault.times > 0 and fault.method in (None, method) and fault.channel_id in (None, channel_id):
                fault.times -= 1
                raise fault.error()
        if channel_id in self.forbidden:
            raise TransportRejected(f"missing permission to post in channel {channel_id}")

    async def _answer(self) -> None:
        if self.hold_after_accept is not None:
            self.held.set()
            await self.hold_after_accept.wait()

    def _post(self, channel_id: int, payload: Mapping[str, Any], nonce: str) -> Posted:
        problems = within_limits(payload)
        if problems:
            raise TransportRejected(f"Invalid Form Body: {problems}")
        if nonce in self._by_nonce:
            return self._by_nonce[nonce]
        posted = Posted(channel_id, next(self._ids), dict(payload), nonce)
        self.messages.append(posted)
        self._changed.set()
        self._by_nonce[nonce] = posted
        return posted

    async def send_message(self, channel_id: int, payload: Mapping[str, Any], *, nonce: str) -> tuple[int, int]:
        await self._enter("send_message", channel_id)
        posted = self._post(channel_id, payload, nonce)
        await self._answer()
        return posted.channel_id, posted.message_id

    async def create_thread(
        self, channel_id: int, name: str, payload: Mapping[str, Any], *, nonce: str
    ) -> tuple[int, int]:
        await self._enter("create_thread", channel_id)
        assert 1 <= len(name) <= THREAD_NAME_MAX
        posted = self._post(channel_id, payload, nonce)
        if posted.thread_id is None:
            posted.thread_id = next(self._ids)
            self.threads[posted.thread_id] = (channel_id, name)
        await self._answer()
        return posted.thread_id, posted.message_id

    async def edit_message(self, channel_id: int, message_id: int, payload: Mapping[str, Any]) -> None:
        await self._enter("edit_message", channel_id)
        if within_limits(payload):
            raise TransportRejected(f"Invalid Form Body: {within_limits(payload)}")
        if not any(m.channel_id == channel_id and m.message_id == message_id for m in self.messages):
            raise TransportRejected(f"unknown message {message_id}")
        self.edits.append((channel_id, message_id, dict(payload)))

    async def update_thread(self, thread_id: int, *, name: str | None = None, archived: bool | None = None) -> None:
        await self._enter("update_thread", thread_id)
        if thread_id not in self.threads:
            raise TransportRejected("unknown channel")
        self.thread_updates.append((thread_id, name, archived))


@pytest.fixture
def discord() -> FakeDiscord:
    return FakeDiscord()


OutboxFactory = Callable[..., Outbox]


@pytest.fixture
async def make_outbox(outbox_store: OutboxStore, discord: FakeDiscord) -> AsyncIterator[OutboxFactory]:
    """Outboxes on the test's store (by default its FakeDiscord), with a fast backoff; all closed after."""
    made: list[Outbox] = []

    def make(**kwargs: Any) -> Outbox:
        kwargs.setdefault("store", outbox_store)
        kwargs.setdefault("transport", discord)
        kwargs.setdefault("backoff", (0.01, 0.05))
        outbox = Outbox(**kwargs)
        made.append(outbox)
        return outbox

    yield make
    for outbox in made:
        await outbox.aclose(grace=1.0)


@pytest.fixture
async def outbox(make_outbox: OutboxFactory) -> Outbox:
    outbox = make_outbox()
    outbox.start()
    return outbox


__all__ = ["FakeDiscord", "OutboxFactory", "Posted", "TransportError"]
