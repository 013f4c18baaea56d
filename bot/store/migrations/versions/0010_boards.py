"""Boards: the instructors' board of a challenge, one Discord message the bot keeps current, across restarts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Hand-written like the others, every constraint and index named as NAMING_CONVENTION would name it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "boards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.Column("posted_by", sa.String(100), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_boards_challenge_id")),
    )


def downgrade() -> None:
    op.drop_table("boards")
