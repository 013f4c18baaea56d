"""Awards: points an instructor gives a team for an item of a build's rubric, with who, when and why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Hand-written like the others, every constraint and index named as NAMING_CONVENTION would name it. An award
taken back is kept, marked undone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("awarded_by", sa.String(100), nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(100), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_awards_team_id_teams"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_awards_run_id_runs"), ondelete="RESTRICT"),
        sa.CheckConstraint("points >= 0", name=op.f("ck_awards_points_not_negative")),
        sa.CheckConstraint("length(reason) >= 1", name=op.f("ck_awards_reason_given")),
    )
    op.create_index(op.f("ix_awards_team_id_challenge_id"), "awards", ["team_id", "challenge_id"])
    op.create_index(op.f("ix_awards_run_id"), "awards", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_awards_run_id"), table_name="awards")
    op.drop_index(op.f("ix_awards_team_id_challenge_id"), table_name="awards")
    op.drop_table("awards")
