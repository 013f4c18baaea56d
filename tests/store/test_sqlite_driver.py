"""The store's SQLite statements, each one round trip to aiosqlite's thread, with what SQLAlchemy reads of them;
a transaction's BEGIN in the round trip of its first statement, and no ROLLBACK sent when nothing can be rolled
back."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store import sqlite_url
from bot.store.db import BEGIN_IMMEDIATE, create_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url(tmp_path / "driver.db"))
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
    try:
        yield engine
    finally:
        await engine.dispose()


def round_trips(caplog: pytest.LogCaptureFixture) -> int:
    """Calls handed to aiosqlite's thread so far: it logs each one as it runs it."""
    return sum(1 for record in caplog.records if record.name == "aiosqlite" and record.msg == "executing %s")


def write_lock_is_free(engine: AsyncEngine) -> bool:
    """Whether another connection to the database could start writing now."""
    with closing(sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            assert "database is locked" in str(error)
            return False
        other.execute("ROLLBACK")
        return True


async def test_each_statement_is_one_round_trip(engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiosqlite")
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 1"))  # and the transaction's BEGIN before it
        before = round_trips(caplog)
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        await connection.execute(text("SELECT id, name FROM item"))
        await connection.execute(text("UPDATE item SET name = 'b'"))
        assert round_trips(caplog) - before == 3


async def test_a_transaction_of_one_statement_is_two_round_trips(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """BEGIN goes with the statement, then COMMIT; the pool then takes the connection back without a ROLLBACK."""
    async with engine.connect():
        pass  # the pool's connection is made (its settings are round trips of their own)
    caplog.set_level(logging.DEBUG, logger="aiosqlite")
    async with engine.begin() as connection:
        await connection.execute(text("SELECT count(*) FROM item"))
    async with engine.begin() as connection:
        pass  # begun, nothing sent: nothing to commit
    assert round_trips(caplog) == 2


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
async def test_a_write_transaction_holds_the_write_lock_from_its_first_statement(
    engine: AsyncEngine, streamed: bool
) -> None:
    async with engine.execution_options(**{BEGIN_IMMEDIATE: True}).connect() as connection:
        assert write_lock_is_free(engine)
        if streamed:
            result = await connection.stream(text("SELECT id FROM item"))
            assert [row async for row in result] == []
        else:
            await connection.execute(text("SELECT id FROM item"))
        assert not write_lock_is_free(engine)
        await connection.rollback()
        assert write_lock_is_free(engine)


async def test_a_write_cancelled_before_the_driver_began_it_leaves_no_transaction_behind(engine: AsyncEngine) -> None:
    """Its BEGIN IMMEDIATE and first statement wait behind another call in the driver's thread when its caller is
    cancelled: the connection is not in a transaction yet, so no ROLLBACK is sent, and the pool must not hand it
    out again once they have run (SQLAlchemy closes a connection whose caller was cancelled)."""
    running, finish = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        finish.wait(10)

    async with engine.connect() as connection:
        await connection.execution_options(**{BEGIN_IMMEDIATE: True})
        driver = (await connection.get_raw_connection()).driver_connection
        busy = asyncio.create_task(driver._execute(hold))  # the driver's thread, taken up

        async def write() -> None:
            async with connection.begin():
                await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))

        assert await asyncio.to_thread(running.wait, 10)
        task = asyncio.create_task(write())
        async with asyncio.timeout(10):
            while driver._tx.qsize() == 0:  # noqa: ASYNC110 (the driver's queue: nothing to wait on)
                await asyncio.sleep(0.001)  # until the write's round trip waits behind hold()
        task.cancel()
        finish.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await task
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 0
        await connection.rollback()
    assert write_lock_is_free(engine)


async def test_what_sqlalchemy_reads_of_a_statement_comes_back_with_it(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert (inserted.rowcount, inserted.lastrowid) == (1, 1)
        many = await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        assert many.rowcount == 2
        returned = await connection.execute(text("INSERT INTO item (name) VALUES ('d') RETURNING id, name"))
        assert returned.all() == [(4, "d")]
        updated = await connection.execute(text("UPDATE item SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
        selected = await connection.execute(text("SELECT id, name FROM item ORDER BY id"))
        assert list(selected.keys()) == ["id", "name"]
        assert selected.all() == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!")]
        empty = await connection.execute(text("SELECT id, name FROM item WHERE id > 9"))
        assert (list(empty.keys()), empty.all()) == (["id", "name"], [])


async def test_an_error_is_sqlalchemys_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        with pytest.raises(sa_exc.IntegrityError, match=r"UNIQUE constraint failed: item\.name"):
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        await connection.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 0
        with pytest.raises(sa_exc.OperationalError, match="no such table: missing"):
            await connection.execute(text("SELECT * FROM missing"))


async def test_streamed_results_still_come_a_few_at_a_time(engine: AsyncEngine) -> None:
    """A server-side cursor (`stream`) is SQLAlchemy's own, fetching from the driver as it is read."""
    async with engine.begin() as connection:
        await fill(connection, 25)
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT id FROM item ORDER BY id"))
        ids = [row.id async for row in result]
    assert ids == list(range(1, 26))


async def fill(connection: AsyncConnection, count: int) -> None:
    await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": f"n{i}"} for i in range(count)])
