"""The suite's shared fixtures: a migrated SQLite store; and every coroutine test fails if it leaves asyncio tasks
running (like kopf's suite). Loaded, with the emulators' and peers' fixtures, by tests/conftest.py in each process
that runs tests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
from kubernetes.aio.client import rest
from sqlalchemy.engine import make_url

from bot.outbox import OutboxStore
from bot.store import Store, Team, sqlite_url, upgrade
from bot.store.db import is_sqlite
from tests.no_system_cas import SslWithoutSystemCas


@pytest.fixture(autouse=True)
def _no_leaked_tasks_of_coroutines(request: pytest.FixtureRequest) -> None:
    """`_no_leaked_tasks` for every coroutine test. A plain test (none of which uses an async fixture) runs no event
    loop to leak into, and starting one only to look cost each of the 2,700 of them half a millisecond."""
    if request.node.get_closest_marker("asyncio"):
        request.getfixturevalue("_no_leaked_tasks")


@pytest.fixture
async def _no_leaked_tasks() -> AsyncIterator[None]:
    before = set(asyncio.all_tasks())
    yield
    # Give tasks that were cancelled on teardown one loop turn to finish.
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()]
    if leaked:
        for task in leaked:
            task.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        pytest.fail(f"the test leaked {len(leaked)} asyncio task(s): {[t.get_coro() for t in leaked]}")


@pytest.fixture(autouse=True, scope="session")
def _kube_clients_load_no_system_cas() -> Iterator[None]:
    """The Kubernetes clients of the tests load no system CAs (tests.no_system_cas says why)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rest, "ssl", SslWithoutSystemCas())
        yield


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database: a SQLite file, or a PostgreSQL database of its own (tests.databases)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return sqlite_url(tmp_path / "kubecamp.db")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated by the real migrations, once per test process: a few hundred tests take a `store`,
    and migrating a new file costs each a tenth of a second of CPU. (In a thread: its loop is not the test's.)"""
    path = tmp_path_factory.mktemp("migrated") / "kubecamp.db"
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, upgrade(sqlite_url(path))).result()
    return path


@pytest.fixture
async def store(request: pytest.FixtureRequest, db_url: str, migrated_db: Path) -> AsyncIterator[Store]:
    """A real SQLite file, migrated by the real migrations: a copy of `migrated_db` (on PostgreSQL, of the
    database `postgres_migrated`)."""
    if is_sqlite(db_url):
        path = Path(make_url(db_url).database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(migrated_db)) as source, closing(sqlite3.connect(path)) as copy:
            source.backup(copy)
    else:
        request.getfixturevalue("refill_migrated")(db_url)
    opened = await Store.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def outbox_store(store: Store) -> OutboxStore:
    """The outbox's table on the test's store."""
    return OutboxStore(store.db)


@pytest.fixture
async def team(store: Store) -> Team:
    return await store.teams.create("Blue Whales", "kc-blue-whales", role_id=1001, channel_id=2001)
