"""The engine: SQLite settings on every connection, URLs, and StoreUnavailable when the file cannot be used."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import select

from bot.errors import StoreUnavailable
from bot.store import (
    InvalidValue,
    Store,
    Team,
    create_engine,
    current_revision,
    mask_url,
    sqlite_file,
    sqlite_url,
    upgrade,
)
from bot.store.db import WRITE_LOCK_KEY, Database, create_sync_twin
from tests.databases import READ_ONLY_REFUSAL, refuse_writes

from .conftest import HOUR, T0

PRAGMAS = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
#: What SQLite and PostgreSQL say of a table that is not there.
NO_SUCH_TABLE = r"no such table|relation \"\w+\" does not exist"
NO_SCHEMA = r"no such table: alembic_version|relation \"alembic_version\" does not exist"


async def test_pragmas_are_set_on_every_pooled_connection(store: Store) -> None:
    async def pragmas() -> tuple[Any, ...]:
        async with store.db.engine.connect() as connection:
            values = []
            for name in ("journal_mode", "foreign_keys", "busy_timeout"):
                values.append((await connection.exec_driver_sql(f"PRAGMA {name}")).scalar())
            await asyncio.sleep(0.01)  # hold the connection so that the other one is a second one
            return tuple(values)

    both = await asyncio.gather(pragmas(), pragmas())
    assert list(both) == [("wal", 1, 5000), ("wal", 1, 5000)]


async def test_foreign_keys_are_enforced(store: Store) -> None:
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.IntegrityError, match="FOREIGN KEY"):
            await connection.execute(
                sa.insert(
                    sa.table(
                        "hint_posts",
                        sa.column("run_id"),
                        sa.column("scenario_id"),
                        sa.column("level"),
                        sa.column("posted_at"),
                    )
                ),
                {"run_id": 999, "scenario_id": "x", "level": 0, "posted_at": "2025-01-01 00:00:00"},
            )


def test_sqlite_url_is_absolute_and_async(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "a" / "b.db")
    assert url == f"sqlite+aiosqlite:///{tmp_path}/a/b.db"


async def test_the_parent_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "db.sqlite"
    engine = create_engine(sqlite_url(path))
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    finally:
        await engine.dispose()
    assert path.is_file()


def test_passwords_are_masked() -> None:
    masked = mask_url("postgresql+asyncpg://kubecamp:s3cr%40t@db.example:5432/kubecamp")
    assert "s3cr" not in masked
    assert masked == "postgresql+asyncpg://kubecamp:***@db.example:5432/kubecamp"
    assert "s3cr" not in mask_url("not a url s3cret")


async def test_a_directory_in_place_of_the_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.mkdir()
    url = sqlite_url(path)
    with pytest.raises(StoreUnavailable, match="is a directory"):
        await Store.open(url)
    with pytest.raises(StoreUnavailable, match="is a directory"):
        await upgrade(url)


async def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"these are not the bytes of a SQLite database " * 100)
    url = sqlite_url(path)
    with pytest.raises(StoreUnavailable, match="not a database") as info:
        await Store.open(url)
    assert isinstance(info.value.__cause__, sa_exc.DatabaseError)
    with pytest.raises(StoreUnavailable, match="not a database"):
        await upgrade(url)


async def test_an_uncreatable_folder_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreUnavailable, match="cannot create the database folder"):
        await Store.open(sqlite_url(tmp_path / "file" / "sub" / "db.sqlite"))


@pytest.mark.every_database
async def test_a_failing_write_is_unavailable(db_url: str) -> None:
    await upgrade(db_url)
    store = Store(Database(create_engine(db_url)))
    refuse_writes(store.db.engine)
    try:
        assert await store.teams.all() == []  # reads still work
        with pytest.raises(StoreUnavailable, match=READ_ONLY_REFUSAL) as info:
            await store.teams.create("Red", "kc-red")
        assert isinstance(info.value.__cause__, sa_exc.DBAPIError)
        assert not isinstance(info.value.__cause__, sa_exc.IntegrityError)
        with pytest.raises(StoreUnavailable, match=READ_ONLY_REFUSAL):
            await store.db.ping()  # the write Database.open makes before the bot starts
    finally:
        await store.close()


@pytest.mark.every_database
async def test_an_unmigrated_database_is_unavailable(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        with pytest.raises(StoreUnavailable, match=NO_SUCH_TABLE):
            await store.teams.all()


@pytest.mark.every_database
async def test_naive_datetimes_are_refused_by_the_column_type(store: Store) -> None:
    naive = datetime(2025, 3, 1, 9, 0)  # noqa: DTZ001 - the value refused
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.StatementError) as info:
            await connection.execute(sa.insert(Team).values(name="Red", namespace="kc-red", created_at=naive))
    assert isinstance(info.value.orig, InvalidValue)
    assert isinstance(info.value.orig, ValueError)


@pytest.mark.every_database
async def test_the_store_refuses_naive_datetimes_before_writing(store: Store, team: Team) -> None:
    with pytest.raises(InvalidValue, match="naive"):
        await store.runs.create(team.id, 1, datetime(2025, 3, 1, 9, 0), T0 + HOUR, ["a"], {})  # noqa: DTZ001
    assert await store.runs.of_team(team.id) == []


@pytest.mark.every_database
async def test_datetimes_are_stored_in_utc_and_read_back_aware(store: Store, team: Team) -> None:
    seoul = timezone(timedelta(hours=9))
    started = datetime(2025, 3, 1, 18, 0, tzinfo=seoul)  # 09:00 UTC
    run = await store.runs.create(team.id, 1, started, started + HOUR, ["a"], {})
    assert run.started_at.tzinfo is UTC

    fresh = await store.runs.get(run.id)
    assert fresh is not None
    assert fresh.started_at == T0
    assert fresh.started_at.tzinfo is not None and fresh.started_at.utcoffset() == timedelta(0)
    assert fresh.deadline == T0 + HOUR
    assert team.created_at.tzinfo is UTC
    again = await store.teams.get(team.name)
    assert again is not None and again.created_at.utcoffset() == timedelta(0)

    async with store.db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # A timestamptz, the instant itself: shown in any session's zone, it is 09:00 UTC.
            await connection.exec_driver_sql("SET TIME ZONE 'Asia/Seoul'")
            raw = (await connection.exec_driver_sql("SELECT started_at::text FROM runs")).scalar()
            assert raw == "2025-03-01 18:00:00+09"
        else:  # no time zones in SQLite: the naive UTC value
            raw = (await connection.exec_driver_sql("SELECT started_at FROM runs")).scalar()
            assert raw == "2025-03-01 09:00:00.000000"


def test_the_sync_twin_opens_the_same_file_with_the_same_settings(db_url: str) -> None:
    twin = create_sync_twin(db_url)
    assert twin is not None
    try:
        with twin.connect() as connection:
            settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS]
            database = connection.exec_driver_sql("PRAGMA database_list").fetchall()[0][2]
    finally:
        twin.dispose()
    assert settings == ["wal", 1, 5000, 1]  # synchronous=NORMAL is 1
    assert Path(database) == Path(db_url.split("///", 1)[1])


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://", "postgresql+asyncpg://kubecamp@db/kubecamp"]
)
def test_no_sync_twin_where_it_would_not_be_the_same_database(url: str) -> None:
    assert create_sync_twin(url) is None


@pytest.mark.every_database
async def test_ping(store: Store) -> None:
    await store.db.ping()


async def test_reachable_is_a_read_that_no_writer_holds_up(store: Store, db_url: str) -> None:
    """What readiness asks: it answers while another connection holds the write lock, where `ping` waits."""
    path = sa.engine.make_url(db_url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        async with asyncio.timeout(2):  # under the busy timeout a write would wait for
            await store.reachable()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_on_postgresql_another_process_holding_the_write_lock_holds_up_writes_not_reads(
    postgres_url: str,
) -> None:
    """PostgreSQL's counterpart of BEGIN IMMEDIATE (WRITE_LOCK_KEY): while another connection holds the lock, a
    write waits for it and a read does not; released, the write goes through."""
    await upgrade(postgres_url)
    dsn = sa.engine.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    holder = await asyncpg.connect(dsn)
    try:
        async with await Store.open(postgres_url) as store:
            held = holder.transaction()
            await held.start()
            await holder.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
            async with asyncio.timeout(2):
                await store.reachable()
                assert await store.teams.all() == []
            writing = asyncio.ensure_future(store.teams.create("Red", "kc-red"))
            done, _ = await asyncio.wait([writing], timeout=0.5)
            assert not done, "a write went through while another process held the write lock"
            await held.rollback()
            async with asyncio.timeout(5):
                team = await writing
            assert team.name == "Red"
    finally:
        await holder.close()


async def test_on_postgresql_a_write_takes_the_write_lock_with_its_begin(postgres_url: str) -> None:
    """No statement of its own for the lock (a round trip all writers wait on): the BEGIN the driver sends before
    the first statement takes it. A read takes none."""
    await upgrade(postgres_url)
    held = (
        sa.select(sa.func.count())
        .where(sa.text(f"locktype = 'advisory' AND objid = {WRITE_LOCK_KEY} AND pid = pg_backend_pid()"))
        .select_from(sa.text("pg_locks"))
    )
    async with await Store.open(postgres_url) as store:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, …)
        sa.event.listen(store.db.engine.sync_engine, "before_cursor_execute", listener)
        async with store.db.writing() as session:
            assert (await session.exec(held)).scalar_one() == 1
        async with store.db.reading() as session:
            assert (await session.exec(held)).scalar_one() == 0
        assert not [s for s in statements if "pg_advisory_xact_lock" in s]


async def test_on_postgresql_a_read_runs_outside_a_transaction_and_a_write_inside_one(postgres_url: str) -> None:
    """A read's statements are each their own transaction (no BEGIN and COMMIT round trips); a write's are one."""
    await upgrade(postgres_url)
    async with await Store.open(postgres_url) as store:
        for session_of, in_transaction in ((store.db.reading, False), (store.db.writing, True)):
            async with session_of() as session:
                await session.exec(select(sa.literal(1)))
                driver = (await (await session.connection()).get_raw_connection()).driver_connection
                assert driver is not None and driver.is_in_transaction() is in_transaction


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://kubecamp:s3cret@127.0.0.1:1/kubecamp",  # nothing listens on port 1
        "postgresql+asyncpg://kubecamp:s3cret@no-such-host.invalid/kubecamp",
    ],
)
async def test_a_database_server_that_cannot_be_reached_is_unavailable(url: str) -> None:
    with pytest.raises(StoreUnavailable) as opening:
        await Store.open(url)
    assert isinstance(opening.value.__cause__, OSError)
    with pytest.raises(StoreUnavailable) as migrating:
        await upgrade(url)
    with pytest.raises(StoreUnavailable):
        await current_revision(url)
    for error in (opening.value, migrating.value):
        assert "s3cret" not in str(error) and "kubecamp:***@" in str(error)


@pytest.mark.every_database
async def test_reachable_fails_on_a_database_without_the_schema(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        with pytest.raises(StoreUnavailable, match=NO_SCHEMA):
            await store.reachable()


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite+aiosqlite:////var/lib/kubecamp/kubecamp.db", Path("/var/lib/kubecamp/kubecamp.db")),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite://", None),
        ("postgresql+asyncpg://kubecamp@db/kubecamp", None),
    ],
)
def test_sqlite_file(url: str, file: Path | None) -> None:
    assert sqlite_file(url) == file
