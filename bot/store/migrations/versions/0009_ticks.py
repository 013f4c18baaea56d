"""Ticks: the checkpoints of a lab a team ticked itself with a button in its run's thread, with who and when.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Hand-written like the others, every constraint and index named as NAMING_CONVENTION would name it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("ticked_by", sa.String(100), nullable=False),
        sa.Column("ticked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticks")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_ticks_team_id_teams"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_ticks_run_id_runs"), ondelete="RESTRICT"),
        sa.UniqueConstraint("team_id", "challenge_id", "item", name=op.f("uq_ticks_team_id_challenge_id_item")),
    )
    op.create_index(op.f("ix_ticks_run_id"), "ticks", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticks_run_id"), table_name="ticks")
    op.drop_table("ticks")
