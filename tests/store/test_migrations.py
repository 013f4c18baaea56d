"""The migrations build exactly the schema the models declare, from any revision, on real SQLite files.

Written over the script directory, so that every later migration is covered without a new test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.errors import StoreUnavailable
from bot.store import Store, create_engine, current_revision, downgrade, head_revision, sqlite_url, upgrade
from bot.store.migrate import script_directory

pytestmark = pytest.mark.every_database

REVISIONS: list[Script] = list(script_directory().walk_revisions())


def _parents(script: Script) -> tuple[str, ...]:
    down = script.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


async def _heads(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
    finally:
        await engine.dispose()


async def test_upgrade_creates_the_schema_on_an_empty_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "new" / "folder" / "db.sqlite")
    assert await current_revision(url) is None
    await upgrade(url)
    assert await current_revision(url) == head_revision()
    await upgrade(url)  # at head already: nothing to do
    assert await current_revision(url) == head_revision()


@pytest.mark.parametrize("script", REVISIONS, ids=[s.revision for s in REVISIONS])
async def test_each_revision_upgrades_from_its_parent_to_head(tmp_path: Path, script: Script) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    for parent in _parents(script):
        await upgrade(url, parent)
    assert await _heads(url) == set(_parents(script))
    await upgrade(url, "head")
    assert await _heads(url) == {head_revision()}


@pytest.mark.parametrize("script", REVISIONS, ids=[s.revision for s in REVISIONS])
async def test_each_revision_downgrades_to_its_parent_and_back(tmp_path: Path, script: Script) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    await upgrade(url, script.revision)
    await downgrade(url, "-1")
    assert await _heads(url) == set(_parents(script))
    await upgrade(url, "head")
    assert await _heads(url) == {head_revision()}


async def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    """What `alembic check` does: autogenerate finds nothing to change after the migrations."""
    url = sqlite_url(tmp_path / "db.sqlite")
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True, "compare_server_default": True}),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diffs == []


def _reflect(connection: Connection) -> dict[str, Any]:
    """Everything SQLite can tell about the schema, including what autogenerate does not compare:
    constraint names, ON DELETE actions, CHECK constraints and partial index conditions."""
    inspector = sa.inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        schema[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(table)
            ),
            "pk": inspector.get_pk_constraint(table),
            "fks": sorted(
                (fk["name"], fk["constrained_columns"], fk["referred_table"], fk["referred_columns"], fk["options"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "uniques": sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
            "indexes": sorted(
                (
                    i["name"],
                    i["column_names"],
                    bool(i["unique"]),
                    str(i.get("dialect_options", {}).get("sqlite_where")),
                )
                for i in inspector.get_indexes(table)
            ),
        }
    return schema


async def _schema_of(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_reflect)
    finally:
        await engine.dispose()


async def test_migrated_schema_is_the_one_create_all_builds(tmp_path: Path) -> None:
    migrated = sqlite_url(tmp_path / "migrated.sqlite")
    await upgrade(migrated)
    created = sqlite_url(tmp_path / "created.sqlite")
    engine = create_engine(created)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
    finally:
        await engine.dispose()

    expected = await _schema_of(created)
    assert await _schema_of(migrated) == expected
    # The names the migrations rely on, spelled out once.
    assert ("uq_runs_active_team_challenge", ["team_id", "challenge_id"], True, "status = 'active'") in expected[
        "runs"
    ]["indexes"]
    assert expected["runs"]["pk"]["name"] == "pk_runs"
    assert ("fk_runs_team_id_teams", ["team_id"], "teams", ["id"], {"ondelete": "RESTRICT"}) in expected["runs"]["fks"]


async def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """The whole upgrade is one transaction, also on SQLite (SQLAlchemy emits BEGIN itself)."""
    url = sqlite_url(tmp_path / "db.sqlite")
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DROP TABLE alembic_version")
    finally:
        await engine.dispose()
    # Nothing is recorded as applied now: upgrading creates alembic_version, re-runs 0001 and fails
    # on its first table, which exists.
    with pytest.raises(StoreUnavailable, match="already exists"):
        await upgrade(url)
    assert await current_revision(url) is None
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert "alembic_version" not in tables  # its creation was rolled back with the rest


async def _sql(url: str, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.exec_driver_sql(sql, params)
            return [dict(r) for r in result.mappings().all()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_0004_moves_the_form_columns_into_answers_and_back(tmp_path: Path) -> None:
    """A submission made on the one form there was keeps every answer, keyed by its old column name."""
    url = sqlite_url(tmp_path / "db.sqlite")
    await upgrade(url, "0003")
    old = {
        "github_url": "https://github.com/blue/w3d5-streaming-ops-platform",
        "completion_time": "14:35",
        "monitoring": "ServiceMonitor마다 대시보드",
        "automation": "HPA CPU 70%",
        "advanced": "StreamingService CRD",
        "insight": "알림이 스레드가 됩니다",
    }
    await _sql(
        url,
        "INSERT INTO teams (id, name, namespace, created_at) VALUES (1, 'blue', 'kc-blue', '2026-12-01 09:00:00')",
    )
    # The column names are the test's own; the values are bound.
    columns = ", ".join(old)
    values = ", ".join(f":{c}" for c in old)
    await _sql(
        url,
        f"INSERT INTO submissions (id, team_id, challenge_id, {columns}, submitted_at, submitted_by) "  # noqa: S608
        f"VALUES (7, 1, 5, {values}, '2026-12-01 10:00:00', 'alice')",
        old,
    )

    await upgrade(url, "0004")
    async with await Store.open(url) as store:
        [(submission, team)] = await store.submissions.all()
    assert (submission.id, submission.challenge_id, team.name, submission.submitted_by) == (7, 5, "blue", "alice")
    assert submission.answers == old

    await downgrade(url, "0003")
    [row] = await _sql(url, f"SELECT id, {columns} FROM submissions")  # noqa: S608
    assert row == {"id": 7, **old}


async def test_hints_posted_before_0005_keep_who_revealed_them(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    await upgrade(url, "0004")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO teams (id, name, namespace, created_at) VALUES (1, 'blue', 'kubecamp-blue', '2026-12-01')"
            )
            await connection.exec_driver_sql(
                "INSERT INTO runs (id, team_id, challenge_id, status, started_at, deadline, applied)"
                " VALUES (1, 1, 2, 'active', '2026-12-01 09:00', '2026-12-01 10:30', '[]')"
            )
            await connection.exec_driver_sql(
                "INSERT INTO hint_posts (run_id, scenario_id, level, posted_at, revealed_by)"
                " VALUES (1, 'a', 0, '2026-12-01 09:20', NULL), (1, 'a', 1, '2026-12-01 09:25', 'Kim')"
            )
        await upgrade(url)
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("SELECT level, source FROM hint_posts ORDER BY level")
            assert [tuple(r) for r in rows] == [(0, "auto"), (1, "revealed")]
            revealed = await connection.exec_driver_sql("SELECT diagnosis_revealed_by FROM runs")
            assert [tuple(r) for r in revealed] == [(None,)]
    finally:
        await engine.dispose()
