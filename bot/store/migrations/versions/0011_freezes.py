"""Freezes: the moment after which a challenge's public scoreboard shows nothing new.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Hand-written like the others, every constraint named as NAMING_CONVENTION would name it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "freezes",
        sa.Column("challenge_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_freezes")),
    )


def downgrade() -> None:
    op.drop_table("freezes")
