"""Indexes on the columns that refer to a row of their own table, for pruning old rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Deleting an outbox entry or an incident makes the database look for rows that refer to it (an edit's
`target_id`, the next incident's `previous_id`); without an index that is a scan of the whole table per
row deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_outbox_target_id"), "outbox", ["target_id"])
    op.create_index(op.f("ix_incidents_previous_id"), "incidents", ["previous_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_previous_id"), table_name="incidents")
    op.drop_index(op.f("ix_outbox_target_id"), table_name="outbox")
