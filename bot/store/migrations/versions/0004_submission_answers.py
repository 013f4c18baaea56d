"""Submissions: the answers of the challenge's own form, one JSON object keyed by field id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

The columns of the one form there was (github_url, completion_time, monitoring, automation,
advanced, insight) become the keys of `answers`, so every earlier submission keeps what it said.
Downgrading writes them back; an answer under any other key has no column there and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The columns of the course's streaming-ops form, which 0001 created; their names are its field ids.
_FORM_COLUMNS: dict[str, sa.types.TypeEngine[str]] = {
    "github_url": sa.Text(),
    "completion_time": sa.String(5),
    "monitoring": sa.Text(),
    "automation": sa.Text(),
    "advanced": sa.Text(),
    "insight": sa.Text(),
}


def _submissions(*columns: str) -> sa.TableClause:
    return sa.table(
        "submissions",
        sa.column("id", sa.Integer()),
        sa.column("answers", sa.JSON()),
        *(sa.column(name, _FORM_COLUMNS[name]) for name in columns),
    )


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("answers", sa.JSON(), nullable=True))
    table = _submissions(*_FORM_COLUMNS)
    connection = op.get_bind()
    for row in connection.execute(sa.select(table)).mappings().all():
        answers = {name: row[name] for name in _FORM_COLUMNS}
        connection.execute(table.update().where(table.c.id == row["id"]).values(answers=answers))
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("answers", existing_type=sa.JSON(), nullable=False)
        for name in _FORM_COLUMNS:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for name, kind in _FORM_COLUMNS.items():
            batch.add_column(sa.Column(name, kind, nullable=True))
    table = _submissions(*_FORM_COLUMNS)
    connection = op.get_bind()
    for row in connection.execute(sa.select(table.c.id, table.c.answers)).mappings().all():
        answers = row["answers"] or {}
        connection.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values({name: str(answers.get(name, "")) for name in _FORM_COLUMNS})
        )
    with op.batch_alter_table("submissions") as batch:
        for name, kind in _FORM_COLUMNS.items():
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.drop_column("answers")
