"""What the outbox needs of a transport: its three calls, the two ways a call fails, and the nonce.

`bot.discord.transport.DiscordTransport` is the running bot's; tests give their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

#: Discord's nonce is at most 25 characters.
NONCE_LENGTH = 24


class TransportError(Exception):
    """Base of what a transport raises for a request Discord did not accept."""


class TransportRetry(TransportError):
    """Not accepted now, worth trying again: 429, 5xx, the connection failed or timed out.

    `retry_after` is the server's wait in seconds, if it said one.
    """

    def __init__(self, retry_after: float | None = None, reason: str = "") -> None:
        self.retry_after = retry_after
        self.reason = reason
        super().__init__(reason or (f"retry after {retry_after:.3f} s" if retry_after is not None else "retry"))


class TransportRejected(TransportError):
    """Refused for good: the bot may not post there, the channel is gone, the body is invalid."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Transport(Protocol):
    """How the outbox reaches Discord. Payloads are message JSON within Discord's limits."""

    async def send_message(self, channel_id: int, payload: Mapping[str, Any], *, nonce: str) -> tuple[int, int]:
        """Post a message; (channel id, message id). A repeated nonce returns the first message."""
        ...

    async def create_thread(
        self, channel_id: int, name: str, payload: Mapping[str, Any], *, nonce: str
    ) -> tuple[int, int]:
        """Post `payload` in `channel_id` and start a public thread from it; (thread id, message id).
        Done again with the same nonce, it returns the same thread."""
        ...

    async def edit_message(self, channel_id: int, message_id: int, payload: Mapping[str, Any]) -> None: ...

    async def update_thread(self, thread_id: int, *, name: str | None = None, archived: bool | None = None) -> None: ...


def nonce_for(dedupe_key: str, part: int = 0) -> str:
    """The nonce of one part of an entry: stable across restarts, distinct per key and part."""
    digest = hashlib.blake2b(f"{dedupe_key}\x1f{part}".encode(), digest_size=NONCE_LENGTH // 2)
    return digest.hexdigest()
