"""The stores a benchmark runs on: SQLite always, and PostgreSQL where ``KUBECAMP_TEST_DATABASE_URL`` names a
server (as for the tests: ``eval "$(python3 tests/postgres_server.py start)"``), each measurement on a
database of its own, created empty and dropped after."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.store import sqlite_url
from tests.databases import TEST_DATABASE_URL, PostgresServer


@dataclass
class Databases:
    """Fresh databases of one kind: `name` is what the results table calls it."""

    name: str
    workdir: Path
    server: PostgresServer | None = None

    def __post_init__(self) -> None:
        self._numbers = itertools.count()

    @asynccontextmanager
    async def fresh(self) -> AsyncIterator[str]:
        """The URL of an empty database, dropped (PostgreSQL) or left in `workdir` (SQLite) after."""
        number = next(self._numbers)
        if self.server is None:
            folder = self.workdir / f"sqlite-{number}"
            folder.mkdir(parents=True)
            yield sqlite_url(folder / "kubecamp.db")
            return
        name = f"kubecamp_bench_{number}"
        self.server.drop(name)
        url = self.server.create(name)
        try:
            yield url
        finally:
            self.server.drop(name)


def databases(workdir: Path) -> list[Databases]:
    found = [Databases("SQLite", workdir)]
    if TEST_DATABASE_URL:
        found.append(Databases("PostgreSQL", workdir, PostgresServer(TEST_DATABASE_URL)))
    return found
