"""Fixtures of the store tests: real SQLite files under tmp_path (or PostgreSQL databases, tests.databases),
migrated by the real migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import sqlite_url

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "kubecamp.db"


@pytest.fixture
def db_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """A SQLite file at `db_path`, or a PostgreSQL database of the test's own (tests.databases)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return sqlite_url(db_path)
