"""The running app's own endpoints: /healthz, /readyz and /metrics, against the emulated cluster and
Discord, with the real SQLite store."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot import metrics as bot_metrics
from tests.discord.live import READINESS_INTERVAL, Class, deliver, open_class
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.helm.test_chart import dashboard_metric_names

PAYLOADS = Path(__file__).parent / "incidents" / "payloads"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def readiness_interval() -> float:
    """These tests wait for readiness to change: rounds close together."""
    return READINESS_INTERVAL


async def _get(live: Class, path: str) -> tuple[int, str, str]:
    """GET `path` from the probe listener."""
    url = f"http://127.0.0.1:{live.app.probes.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def readyz_until(live: Class, status: int, timeout: float = 10.0) -> str:  # noqa: ASYNC109 - fails naming it
    """The body of the first ``/readyz`` answering `status`: the checks run every `READINESS_INTERVAL` seconds."""
    body = ""
    try:
        async with asyncio.timeout(timeout):
            while True:
                got, _, body = await _get(live, "/readyz")
                if got == status:
                    return body
                await asyncio.sleep(READINESS_INTERVAL / 2)
    except TimeoutError:
        raise AssertionError(f"/readyz did not answer {status} within {timeout:g}s; last: {body}") from None


async def scrape(live: Class) -> Samples:
    status, content_type, text = await _get(live, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def exported_names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


async def test_healthz_and_readyz_of_a_running_app(live_class: Class) -> None:
    assert (await _get(live_class, "/healthz"))[0] == 200
    status, _, body = await _get(live_class, "/readyz")
    assert status == 200, body
    assert '"store": "ok"' in body and '"discord": "ok"' in body and '"kubernetes": "ok"' in body


async def test_metrics_count_what_the_class_does(live_class: Class) -> None:
    live = live_class
    before = await scrape(live)
    documented = [line.split()[0] for line in bot_metrics.__doc__.splitlines() if line.startswith("kubecamp_")]
    assert len(documented) == 17
    for name in documented:  # every documented series exists from the start, at zero where it counts
        assert any(exported.startswith(name) for exported in exported_names(before)), name
    assert value(before, "kubecamp_challenge_runs_active", challenge="2") == 0
    assert value(before, "kubecamp_verifications_total", trigger="manual", result="fail") == 0
    assert value(before, "process_resident_memory_bytes") > 0

    await live.app.flow.start("blue", 2)
    report = await live.app.flow.verify("blue")
    assert report.result == "fail"  # just started: every scenario is still broken
    assert await deliver(live, (PAYLOADS / "firing_one.json").read_bytes()) == 200
    assert await deliver(live, b"{not json") == 400
    blue = live.room.team_channels["blue"]  # the run's thread and the incident's
    await live.discord.wait_until(lambda: len(live.discord.threads(blue)) == 2, 10, "both threads")
    assert await live.app.outbox.drain(10)

    after = await scrape(live)
    assert value(after, "kubecamp_challenge_runs_started_total", challenge="2") == 1
    assert value(after, "kubecamp_challenge_runs_active", challenge="2") == 1
    assert value(after, "kubecamp_verifications_total", trigger="manual", result="fail") == 1
    assert value(after, "kubecamp_verification_duration_seconds_count", trigger="manual") == 1
    assert value(after, "kubecamp_alerts_received_total", status="firing") == 1
    assert value(after, "kubecamp_incidents_open") == 1
    assert value(after, "kubecamp_webhook_responses_total", code="200") == 1
    assert value(after, "kubecamp_webhook_responses_total", code="400") == 1
    assert value(after, "kubecamp_webhook_request_duration_seconds_count") == 2
    sent = value(after, "kubecamp_discord_requests_total", outcome="ok")
    assert sent > value(before, "kubecamp_discord_requests_total", outcome="ok")
    assert value(after, "kubecamp_discord_requests_total", outcome="429") == 0

    await live.app.flow.stop("blue")
    stopped = await scrape(live)
    assert value(stopped, "kubecamp_challenge_runs_finished_total", challenge="2", outcome="stopped") == 1
    assert value(stopped, "kubecamp_challenge_runs_active", challenge="2") == 0


async def test_the_grafana_dashboard_queries_only_what_the_bot_exports(live_class: Class) -> None:
    exported = exported_names(await scrape(live_class))
    queried = dashboard_metric_names()
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, queried - exported


async def test_discord_rate_limits_are_counted_per_retry(live_class: Class) -> None:
    live = live_class
    emulator: DiscordEmulator = live.discord
    before = await scrape(live)
    emulator.inject(429, times=2, method="POST", retry_after=0.05)
    await live.app.flow.start("blue", 2)
    assert await live.app.outbox.drain(10)
    after = await scrape(live)
    limited = value(after, "kubecamp_discord_requests_total", outcome="429")
    assert limited - value(before, "kubecamp_discord_requests_total", outcome="429") == 2


async def test_outbox_gauges_show_what_waits_for_discord(live_class: Class) -> None:
    live = live_class
    fault = live.discord.inject(503, times=1000, method="POST", retry_after=0.05)
    await live.app.flow.start("blue", 2)

    def refused() -> bool:  # by Discord, and counted by the bot
        counted = live.app.metrics.registry.get_sample_value("kubecamp_discord_requests_total", {"outcome": "5xx"})
        return bool(fault.hits) and (counted or 0) >= 1

    await live.discord.wait_until(refused, 10, "the announcement refused")
    live.clock.offset = timedelta(minutes=1)  # the announcement has been waiting a while
    waiting = await scrape(live)
    assert value(waiting, "kubecamp_outbox_pending") >= 1
    assert value(waiting, "kubecamp_outbox_oldest_pending_age_seconds") >= 60
    assert value(waiting, "kubecamp_discord_requests_total", outcome="5xx") >= 1
    live.discord.faults.remove(fault)
    assert await live.app.outbox.drain(15)
    drained = await scrape(live)
    assert value(drained, "kubecamp_outbox_pending") == 0
    assert value(drained, "kubecamp_outbox_oldest_pending_age_seconds") == 0


async def test_not_ready_while_the_kubernetes_api_is_unreachable(live_class: Class) -> None:
    live = live_class
    await live.kube.stop()
    body = await readyz_until(live, 503)
    assert '"store": "ok"' in body and '"discord": "ok"' in body and '"data volume": "ok"' in body
    assert '"kubernetes": "GET /version' in body  # the failing call, named
    samples = await scrape(live)
    assert value(samples, "kubecamp_kubernetes_api_errors_total", reason="unreachable") >= 1
    await live.kube.start()
    await readyz_until(live, 200)


async def test_ready_while_another_writer_holds_the_store_readiness_only_reads(live_class: Class) -> None:
    """The store's check is a read: a writer holding the database (here another process) neither makes the bot
    not ready nor is waited for, as the write the check once made queued behind every other write."""
    live = live_class
    path = make_url(live.app.settings.store.url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        await asyncio.sleep(READINESS_INTERVAL * 3)  # rounds that ran while it was held
        status, _, body = await _get(live, "/readyz")
        assert status == 200, body
        assert '"store": "ok"' in body
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_not_ready_on_a_full_data_volume(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    """A volume with less free space than KUBECAMP_DATA_MIN_FREE_MIB: SQLite would fail at its next write, which
    no read shows. The real free space of the test's disk, measured, and a minimum above it."""
    stats = os.statvfs(tmp_path)
    free_mib = stats.f_bavail * stats.f_frsize // 1024**2
    minimum = free_mib + 1024  # room for other tests to free some meanwhile
    if minimum > 1024 * 1024:
        pytest.skip(f"{free_mib} MiB free: more than the largest minimum the setting takes")
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        tmp_path,
        data_min_free_mib=minimum,
        readiness_interval=READINESS_INTERVAL,
    ) as live:
        body = await readyz_until(live, 503)
        assert f"the data volume at {tmp_path} has " in body
        assert f"under the minimum of {minimum} MiB (KUBECAMP_DATA_MIN_FREE_MIB)" in body
        assert '"store": "ok"' in body and '"kubernetes": "ok"' in body  # the store still reads: only this says it


def _chmod(path: Path, mode: int) -> int:
    """Set the mode of `path`; the one it had."""
    before = path.stat().st_mode
    path.chmod(mode)
    return before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a folder whatever its mode: chmod cannot refuse it")
async def test_not_ready_on_a_read_only_data_folder(live_class: Class, tmp_path: Path) -> None:
    live = live_class
    await readyz_until(live, 200)
    mode = _chmod(tmp_path, 0o555)
    try:
        body = await readyz_until(live, 503)
        assert f'"data volume": "the data folder {tmp_path} cannot be written: Permission denied"' in body
    finally:
        _chmod(tmp_path, mode)
    await readyz_until(live, 200)
