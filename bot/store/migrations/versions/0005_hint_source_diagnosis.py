"""How each hint came (the schedule, a team's request, an instructor), and an instructor's reveal of a
run's diagnoses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Only requested and revealed hints count as hints used. Rows written before this revision did not say
whether a hint without `revealed_by` was asked for or posted by the schedule: they become `auto`; a row
with `revealed_by` was an instructor's reveal. Batch mode, since SQLite adds a CHECK constraint only by
copying the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hint_posts") as batch:
        batch.add_column(
            sa.Column(
                "source",
                sa.Enum("auto", "requested", "revealed", native_enum=False, create_constraint=False, length=16),
                nullable=False,
                server_default=sa.text("'auto'"),
            )
        )
    op.execute("UPDATE hint_posts SET source = 'revealed' WHERE revealed_by IS NOT NULL")
    with op.batch_alter_table("hint_posts") as batch:
        batch.create_check_constraint(
            op.f("ck_hint_posts_source"), sa.text("\"source\" IN ('auto', 'requested', 'revealed')")
        )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("diagnosis_revealed_by", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("diagnosis_revealed_by")
    with op.batch_alter_table("hint_posts") as batch:
        batch.drop_constraint(op.f("ck_hint_posts_source"), type_="check")
        batch.drop_column("source")
