"""The readiness checks: answered from the last round, never by running one; the data volume's room and writability
on real folders."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from bot.metrics import Metrics
from bot.readiness import PROBE_FILE, DataVolume, Readiness
from bot.web import make_probe_app
from tests.scheduling import SLEEPS_ON_REAL_TIMERS
from tests.test_web import serving


async def test_a_flood_of_readyz_runs_no_check() -> None:
    """What let 200 callers stall the webhook: every /readyz ran the checks. Now they read the last round."""
    calls = 0

    async def counted() -> None:
        nonlocal calls
        calls += 1

    readiness = Readiness(checks={"store": counted}, interval=3600)
    await readiness.start()
    try:
        assert calls == 1  # the first round, at start
        app = make_probe_app(readiness=readiness, metrics=Metrics())
        async with serving(app, max_connections=256) as url, aiohttp.ClientSession() as session:

            async def readyz() -> int:
                async with session.get(f"{url}/readyz") as response:
                    return response.status

            assert await asyncio.gather(*(readyz() for _ in range(200))) == [200] * 200
        assert calls == 1
    finally:
        await readiness.aclose()


async def test_rounds_follow_a_dependency_that_fails_and_recovers() -> None:
    failing = asyncio.Event()

    async def kubernetes() -> None:
        if failing.is_set():
            raise ConnectionError("GET /version: connection refused")

    readiness = Readiness(checks={"kubernetes": kubernetes}, interval=0.05)
    await readiness.start()
    try:
        assert readiness.state() == (True, {"kubernetes": "ok"})
        failing.set()
        await _until(readiness, ready=False)
        assert readiness.state() == (False, {"kubernetes": "GET /version: connection refused"})
        failing.clear()
        await _until(readiness, ready=True)
    finally:
        await readiness.aclose()


@SLEEPS_ON_REAL_TIMERS
async def test_a_check_that_does_not_answer_fails_after_its_timeout_and_the_others_still_answer() -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    async def fine() -> None:
        return None

    readiness = Readiness(checks={"store": hangs, "kubernetes": fine})
    await readiness.refresh()
    assert readiness.state() == (False, {"store": "no answer within 3s", "kubernetes": "ok"})


async def test_the_data_volume_is_fine_with_room_and_a_writable_folder(tmp_path: Path) -> None:
    await DataVolume(tmp_path, min_free_bytes=1).check()
    assert not (tmp_path / PROBE_FILE).exists()  # the probe leaves nothing behind


async def test_the_data_volume_under_its_minimum_free_space_is_not_fine(tmp_path: Path) -> None:
    stats = os.statvfs(tmp_path)
    free = stats.f_bavail * stats.f_frsize
    minimum = free + 1024**3  # above what the disk has: full, for this minimum
    with pytest.raises(OSError, match=f"^the data volume at {tmp_path} has .* MiB free, under the minimum of"):
        await DataVolume(tmp_path, min_free_bytes=minimum).check()


async def test_a_folder_nothing_can_be_created_in_is_not_fine() -> None:
    """sysfs refuses a new file to anyone, root included: a real refusal wherever the tests run as."""
    with pytest.raises(OSError, match=r"^the data folder /sys cannot be written: "):
        await DataVolume(Path("/sys"), min_free_bytes=0).check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a folder whatever its mode: chmod cannot refuse it")
async def test_a_read_only_folder_is_not_fine(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o555)
    with pytest.raises(OSError, match=f"^the data folder {folder} cannot be written: Permission denied"):
        await DataVolume(folder, min_free_bytes=0).check()


async def _until(readiness: Readiness, *, ready: bool) -> None:
    async with asyncio.timeout(5):
        while readiness.state()[0] is not ready:  # noqa: ASYNC110 (the rounds' results: nothing to wait on)
            await asyncio.sleep(0.01)
