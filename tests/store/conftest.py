"""Fixtures of the store tests: real SQLite files under tmp_path, migrated by the real migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, Team, sqlite_url, upgrade

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "kubecamp.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return sqlite_url(db_path)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await upgrade(db_url)
    store = await Store.open(db_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def team(store: Store) -> Team:
    return await store.create_team("Blue Whales", "kc-blue-whales", role_id=1001, channel_id=2001)
