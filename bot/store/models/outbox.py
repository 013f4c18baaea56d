"""The outbox's table: what is to be delivered to Discord, once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.store.models.columns import UTCDateTime, _enum, _in


class OutboxKind(StrEnum):
    message = "message"  # post a message in a channel (or in the run's thread)
    thread = "thread"  # post a starter message and start a public thread from it
    edit = "edit"  # edit a message an earlier outbox entry posted
    thread_update = "thread_update"  # rename or (un)archive a thread


#: Longest outbox dedupe key; also a CHECK constraint.
OUTBOX_KEY_MAX = 200
#: Partial index over the entries still to deliver (neither sent nor failed), in id order.
OUTBOX_UNSENT_INDEX = "ix_outbox_unsent"
_UNSENT = sa.text("sent_at IS NULL AND failed_at IS NULL")


class OutboxEntry(SQLModel, table=True):
    """One thing the bot says on its own, written before it is delivered (`bot.outbox.Outbox`).

    `dedupe_key` makes enqueueing idempotent: whoever enqueues the same event twice (a retried
    verification, a hint scheduler after a restart) gets the first entry back. The entry is sent
    when `sent_at` is set, and only once Discord has accepted it; `failed_at` + `last_error` record
    a permanent refusal (kept, never deleted). `parts_sent` counts the parts of a message that was
    split to fit Discord's limits and has been partly delivered.

    Where it goes: `channel_id`; else, for a message or a thread update with `run_id`, the run's
    thread once it exists; for an edit, wherever the entry `target_id` landed. Where it landed:
    `discord_channel_id` / `discord_message_id` (of the first part; for a thread, the thread and
    its starter message).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", OutboxKind), name="kind"),
        sa.CheckConstraint(f"length(dedupe_key) BETWEEN 1 AND {OUTBOX_KEY_MAX}", name="dedupe_key_length"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("parts_sent >= 0", name="parts_sent_not_negative"),
        sa.Index(OUTBOX_UNSENT_INDEX, "id", sqlite_where=_UNSENT, postgresql_where=_UNSENT),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    dedupe_key: str = Field(sa_column=sa.Column(sa.String(OUTBOX_KEY_MAX), nullable=False, unique=True))
    kind: OutboxKind = Field(sa_column=sa.Column(_enum(OutboxKind), nullable=False))
    channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    #: For an edit: the entry whose message it edits.
    target_id: int | None = Field(default=None, foreign_key="outbox.id", ondelete="RESTRICT", index=True)
    #: Message JSON as Discord takes it (before `bot.limits.fit_message`); for a thread
    #: {"name", "message"}, for a thread update {"name"?, "archived"?}.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    parts_sent: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    discord_channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    discord_message_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    failed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
