"""Incidents: one row per episode of an Alertmanager alert group, and the alerts in it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Hand-written like 0001 and 0002, every constraint and index named as NAMING_CONVENTION would name it.
`uq_incidents_open_group_key` is partial: one firing incident per group key, any number resolved.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRING = sa.text("status = 'firing'")


def _status(name: str, nullable: bool) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.Enum("firing", "resolved", native_enum=False, create_constraint=False, length=16),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        _status("status", nullable=False),
        sa.Column("receiver", sa.Text(), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("run_notified", sa.Boolean(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("group_labels", sa.JSON(), nullable=False),
        sa.Column("common_labels", sa.JSON(), nullable=False),
        sa.Column("common_annotations", sa.JSON(), nullable=False),
        sa.Column("external_url", sa.Text(), nullable=False),
        sa.Column("truncated_alerts", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(100), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("silence_id", sa.String(64), nullable=True),
        sa.Column("silenced_by", sa.String(100), nullable=True),
        sa.Column("silenced_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        # A team or run can go; the incident stays, without its link.
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_incidents_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_incidents_run_id_runs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["incidents.id"], name=op.f("fk_incidents_previous_id_incidents"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("\"status\" IN ('firing', 'resolved')", name=op.f("ck_incidents_status")),
        sa.CheckConstraint("truncated_alerts >= 0", name=op.f("ck_incidents_truncated_alerts_not_negative")),
    )
    op.create_index(
        op.f("uq_incidents_open_group_key"),
        "incidents",
        ["group_key"],
        unique=True,
        sqlite_where=_FIRING,
        postgresql_where=_FIRING,
    )
    op.create_index(op.f("ix_incidents_group_key"), "incidents", ["group_key"])
    op.create_index(op.f("ix_incidents_published_version_version"), "incidents", ["published_version", "version"])
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        _status("status", nullable=False),
        _status("announced", nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_alerts")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_alerts_incident_id_incidents"), ondelete="CASCADE"
        ),
        # What makes a notification delivered twice change nothing.
        sa.UniqueConstraint(
            "incident_id", "fingerprint", "starts_at", name=op.f("uq_incident_alerts_incident_id_fingerprint_starts_at")
        ),
        sa.CheckConstraint("\"status\" IN ('firing', 'resolved')", name=op.f("ck_incident_alerts_status")),
        sa.CheckConstraint(
            "announced IS NULL OR \"announced\" IN ('firing', 'resolved')", name=op.f("ck_incident_alerts_announced")
        ),
    )


def downgrade() -> None:
    op.drop_table("incident_alerts")
    op.drop_table("incidents")
