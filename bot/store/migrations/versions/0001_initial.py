"""Initial schema: teams, runs, scenario states, verifications, hint posts, submissions.

Revision ID: 0001
Revises:
Create Date: 2025-11-22

Hand-written. Every constraint and index is named here as NAMING_CONVENTION in bot/store/models.py
would name it (op.f marks a name as final), so that later batch migrations can address them.
Statuses are VARCHAR(16) with CHECK constraints, not native enums. Timestamps are
DateTime(timezone=True): naive UTC on SQLite, timestamptz on PostgreSQL (see UTCDateTime).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status = 'active'")


def _status(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, create_constraint=False, length=16)


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("discord_role_id", sa.BigInteger(), nullable=True),
        sa.Column("discord_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 40", name=op.f("ck_teams_name_length")),
        sa.CheckConstraint("length(namespace) BETWEEN 1 AND 63", name=op.f("ck_teams_namespace_length")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
        sa.UniqueConstraint("namespace", name=op.f("uq_teams_namespace")),
        sa.UniqueConstraint("discord_role_id", name=op.f("uq_teams_discord_role_id")),
    )

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("status", _status("active", "finished", "expired", "stopped"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=True),
        sa.Column("tier_percent", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_runs_team_id_teams"), ondelete="RESTRICT"),
        sa.CheckConstraint("\"status\" IN ('active', 'finished', 'expired', 'stopped')", name=op.f("ck_runs_status")),
    )
    op.create_index(op.f("ix_runs_team_id_challenge_id"), "runs", ["team_id", "challenge_id"])
    # At most one active run per team and challenge: two racing starts cannot both insert.
    op.create_index(
        op.f("uq_runs_active_team_challenge"),
        "runs",
        ["team_id", "challenge_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )

    op.create_table(
        "scenario_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(100), nullable=False),
        sa.Column("status", _status("pending", "solved", "skipped"), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_states")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_scenario_states_run_id_runs"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("run_id", "scenario_id", name=op.f("uq_scenario_states_run_id_scenario_id")),
        sa.CheckConstraint("\"status\" IN ('pending', 'solved', 'skipped')", name=op.f("ck_scenario_states_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_scenario_states_attempts_not_negative")),
    )

    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("trigger", _status("manual", "auto", "final"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("all_passed", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_verifications_run_id_runs"), ondelete="CASCADE"),
        sa.CheckConstraint("\"trigger\" IN ('manual', 'auto', 'final')", name=op.f("ck_verifications_trigger")),
    )
    op.create_index(op.f("ix_verifications_run_id"), "verifications", ["run_id"])

    op.create_table(
        "hint_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hint_posts")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_hint_posts_run_id_runs"), ondelete="CASCADE"),
        # What makes "a hint is never posted twice" hold across restarts.
        sa.UniqueConstraint("run_id", "scenario_id", "level", name=op.f("uq_hint_posts_run_id_scenario_id_level")),
    )

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("github_url", sa.Text(), nullable=False),
        sa.Column("completion_time", sa.String(5), nullable=False),
        sa.Column("monitoring", sa.Text(), nullable=False),
        sa.Column("automation", sa.Text(), nullable=False),
        sa.Column("advanced", sa.Text(), nullable=False),
        sa.Column("insight", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_submissions_team_id_teams"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_submissions_run_id_runs"), ondelete="RESTRICT"),
    )
    op.create_index(op.f("ix_submissions_run_id"), "submissions", ["run_id"])
    op.create_index(op.f("ix_submissions_team_id_challenge_id"), "submissions", ["team_id", "challenge_id"])


def downgrade() -> None:
    op.drop_table("submissions")
    op.drop_table("hint_posts")
    op.drop_table("verifications")
    op.drop_table("scenario_states")
    op.drop_table("runs")
    op.drop_table("teams")
