"""The durable outbox: everything the bot posts on its own is a row first, then delivered once.

`store.py` is its table on the bot's `Database` (`OutboxStore`), `payloads.py` what each kind of
entry carries, `sender.py` the `Outbox` that services enqueue to and that delivers through a
`Transport` (`transport.py`; `bot.discord.transport` is the running bot's). No discord.py here.
"""

from bot.outbox.payloads import check_payload
from bot.outbox.sender import Outbox, OutboxStats
from bot.outbox.store import OutboxDelivery, OutboxItem, OutboxStore
from bot.outbox.transport import Transport, TransportError, TransportRejected, TransportRetry, nonce_for

__all__ = [
    "Outbox",
    "OutboxDelivery",
    "OutboxItem",
    "OutboxStats",
    "OutboxStore",
    "Transport",
    "TransportError",
    "TransportRejected",
    "TransportRetry",
    "check_payload",
    "nonce_for",
]
