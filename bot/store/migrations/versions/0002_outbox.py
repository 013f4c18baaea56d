"""The outbox: everything the bot posts on its own, written before it is delivered.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22

Hand-written like 0001: every constraint and index is named as NAMING_CONVENTION in
bot/store/models.py would name it. `ix_outbox_unsent` is a partial index over the entries still
to deliver, which is all the sender ever reads; sent and failed entries are kept as history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSENT = sa.text("sent_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "message", "thread", "edit", "thread_update", native_enum=False, create_constraint=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parts_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discord_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("discord_message_id", sa.BigInteger(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        # A run can be deleted; what was said about it stays (and loses its way to the run's thread).
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_outbox_run_id_runs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["target_id"], ["outbox.id"], name=op.f("fk_outbox_target_id_outbox"), ondelete="RESTRICT"
        ),
        # What makes enqueueing the same event twice deliver it once, across restarts too.
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
        sa.CheckConstraint("\"kind\" IN ('message', 'thread', 'edit', 'thread_update')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint("length(dedupe_key) BETWEEN 1 AND 200", name=op.f("ck_outbox_dedupe_key_length")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.CheckConstraint("parts_sent >= 0", name=op.f("ck_outbox_parts_sent_not_negative")),
    )
    op.create_index(op.f("ix_outbox_run_id"), "outbox", ["run_id"])
    op.create_index(op.f("ix_outbox_unsent"), "outbox", ["id"], sqlite_where=_UNSENT, postgresql_where=_UNSENT)


def downgrade() -> None:
    op.drop_table("outbox")
