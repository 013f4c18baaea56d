"""The databases the store-touching tests run on: SQLite always, and PostgreSQL where
``KUBECAMP_TEST_DATABASE_URL`` names a server (``.ci/run`` starts one: tests/postgres_server.py).

A test marked ``every_database`` that takes `db_url` (directly, or through `store`, `live_class`, …) is run once
per database: `db_url` (tests/fixtures.py) is then a SQLite file under tmp_path, or a PostgreSQL database of its
own, created empty for the test and dropped after it (named after the worker's process, so xdist workers never
share one). Without the variable those tests run on SQLite alone, as every other test does.

The session never starts a server by itself: which databases a run covers is what its environment says, not
what happens to be installed on the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import upgrade

#: The server the PostgreSQL half of the tests runs on (a superuser's URL: the tests create databases).
TEST_DATABASE_URL = os.environ.get("KUBECAMP_TEST_DATABASE_URL") or None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Without a server nothing is parametrised: the tests keep their ids, and run on SQLite as before.
    marked = metafunc.definition.get_closest_marker("every_database")
    if TEST_DATABASE_URL and marked and "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@dataclass
class PostgresServer:
    """Creates and drops the tests' databases on the server of `url`, over short connections of its own."""

    url: str
    _names: Iterator[int] = field(default_factory=itertools.count)

    def new_name(self) -> str:
        return f"kubecamp_test_{os.getpid()}_{next(self._names)}"

    def url_of(self, database: str) -> str:
        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    def create(self, database: str, *, template: str | None = None) -> str:
        """Create `database` (a copy of `template`, if given); its SQLAlchemy URL."""
        copy = f" TEMPLATE {template}" if template else ""
        self._execute(f"CREATE DATABASE {database}{copy}")
        return self.url_of(database)

    def drop(self, database: str) -> None:
        """Drop `database`, closing whatever connections a test left open to it."""
        self._execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    def _execute(self, statement: str) -> None:
        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

        async def execute() -> None:
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        # In a thread of its own: a test's event loop may be running in this one.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, execute()).result()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    if TEST_DATABASE_URL is None:  # a test that asks for PostgreSQL itself (postgres_url) runs only with one
        pytest.skip("KUBECAMP_TEST_DATABASE_URL is not set")
    return PostgresServer(TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server: PostgresServer) -> Iterator[str]:
    """A database migrated by the real migrations once per test process, the template of each test's `store`."""
    name = postgres_server.new_name()
    url = postgres_server.create(name)
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, upgrade(url)).result()
    yield name
    postgres_server.drop(name)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own, dropped after it."""
    name = postgres_server.new_name()
    url = postgres_server.create(name)
    yield url
    postgres_server.drop(name)


@pytest.fixture
def refill_migrated(postgres_server: PostgresServer, postgres_migrated: str) -> Callable[[str], None]:
    """Makes the test's PostgreSQL database at a URL (empty and unused yet) a copy of the migrated one."""

    def refill(url: str) -> None:
        name = str(make_url(url).database)
        postgres_server.drop(name)
        postgres_server.create(name, template=postgres_migrated)

    return refill


#: What a database says when it refuses a write on a read-only connection (SQLite, PostgreSQL).
READ_ONLY_REFUSAL = r"attempt to write a readonly database|cannot execute \w+ in a read-only transaction"


def refuse_writes(engine: AsyncEngine, *, when: Callable[[], bool] = lambda: True) -> None:
    """Every connection `engine` opens from now on refuses writes with the database's own error while `when()`
    holds as it opens, as on a read-only or full volume; reads go on. (The tests run as root: a read-only file
    would not do it.) SQLite: ``PRAGMA query_only``; PostgreSQL: ``default_transaction_read_only``."""
    postgres = engine.dialect.name == "postgresql"

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        if postgres:
            setting = "on" if when() else "off"
            statement = f"SET SESSION default_transaction_read_only = {setting}"
            dbapi_connection.run_async(lambda connection: connection.execute(statement))
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA query_only={'ON' if when() else 'OFF'}")
        finally:
            cursor.close()


#: What SQLite and PostgreSQL say of a write that breaks a unique index, and a foreign key.
UNIQUE_VIOLATION = r"UNIQUE constraint failed|duplicate key value violates unique constraint"
FOREIGN_KEY_VIOLATION = r"FOREIGN KEY constraint failed|violates foreign key constraint"


def check_violation(constraint: str) -> str:
    """What SQLite and PostgreSQL say of a write that breaks the CHECK constraint `constraint`."""
    return rf'CHECK constraint failed: {constraint}|violates check constraint "{constraint}"'
