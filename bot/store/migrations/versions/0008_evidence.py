"""Evidence: the command output a team pasted for an evidence item of a build's rubric, kept once it passed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Hand-written like the others, every constraint and index named as NAMING_CONVENTION would name it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("parser", sa.String(40), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_evidence_team_id_teams"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_evidence_run_id_runs"), ondelete="RESTRICT"),
    )
    op.create_index(op.f("ix_evidence_team_id_challenge_id"), "evidence", ["team_id", "challenge_id"])
    op.create_index(op.f("ix_evidence_run_id"), "evidence", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_run_id"), table_name="evidence")
    op.drop_index(op.f("ix_evidence_team_id_challenge_id"), table_name="evidence")
    op.drop_table("evidence")
