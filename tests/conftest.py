"""Shared fixtures: every test fails if it leaves asyncio tasks running (like kopf's suite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

pytest_plugins = ["tests.emulators.fixtures", "tests.discord_emulator.fixtures"]


@pytest.fixture(autouse=True)
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
