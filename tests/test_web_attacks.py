"""The attacks on the bot's listeners that were confirmed, each reproduced against a real ``kubecamp run`` process,
and shown to fail now.

* Headers that never end: 200 connections sending ~960 KB of headers each took the process from 113 to 488 MiB
  (the chart's limit is 512 MiB). Now a request's headers are bounded (`bot.web.MAX_HEADERS`, `MAX_FIELD_BYTES`),
  so are a listener's connections, and each is closed once the idle timeout passes without a whole request.
* Idle and slow connections: 600 of them were all still open after 120 s (aiohttp's keep-alive is about an hour).
  Now none outlives the idle timeout.
* A flood of ``/readyz``: each call took the store's write lock and called the API server, and 200 callers raised
  the webhook's p99 from 37 ms to 7.5 s. Now ``/readyz`` reads the last round of the background checks, on a
  listener of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.harness import percentile
from bot.readiness import INTERVAL
from bot.web import MAX_FIELD_BYTES, MAX_HEADERS
from tests.discord.live import post_notification, process_environment
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.peers.processes import HOST, ROOT, KubecampProcess
from tests.test_web import notification

# Each measures a `kubecamp run` process (its memory, when it closes connections): one such test at a time.
pytestmark = pytest.mark.xdist_group("kubecamp-processes")

MIB = 1024**2
#: The bot's idle timeout here (KUBECAMP_WEB_IDLE_TIMEOUT_SECONDS): each test waits it out, and the 10 s the bot
#: keeps by default (bot.web.IDLE_TIMEOUT) made these two tests a quarter minute of the suite's quick loop.
IDLE_TIMEOUT = 4.0
#: Seconds past `IDLE_TIMEOUT` a connection may take to be seen closed: a loaded machine.
SLACK = 5.0


@pytest.fixture
async def bot(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, tmp_path: Path
) -> AsyncIterator[KubecampProcess]:
    data = tmp_path / "data"
    data.mkdir()
    environment = {
        **process_environment(data, discord_emulator, discord_classroom, kube_cluster),
        "KUBECAMP_WEB_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
    }
    process = KubecampProcess(tmp_path / "process", environment=environment)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def hold(
    port: int, *, headers: int = 0, header_bytes: int = 0, pause: float = 0.0, silent: bool = False
) -> float:
    """Open a connection, send a request line and then `headers` headers of `header_bytes` each (`pause` seconds
    apart), never the blank line that ends them (`silent`: send nothing at all); wait until the bot closes the
    connection. The seconds it was open."""
    began = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        async with asyncio.timeout(IDLE_TIMEOUT + 60):  # the test fails below, naming the time, not here
            try:
                if not silent:
                    writer.write(b"POST /webhooks/alertmanager HTTP/1.1\r\nHost: kubecamp\r\n")
                for n in range(headers):
                    if reader.at_eof():
                        break
                    writer.write(b"X-Pad-%d: %s\r\n" % (n, b"a" * header_bytes))
                    await writer.drain()
                    if pause:
                        await asyncio.sleep(pause)
            except (ConnectionResetError, BrokenPipeError):
                pass  # refused while sending: what follows reads what it said
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # a reset, or a write that met one
                await reader.read()  # until the bot closes it
    finally:
        writer.close()
    return time.monotonic() - began


async def peak_rss(bot: KubecampProcess, until: asyncio.Future[list[float]]) -> int:
    """The largest resident set size of the bot's process seen until `until` is done, sampled every 50 ms."""
    peak = bot.rss_bytes()
    while not until.done():
        peak = max(peak, bot.rss_bytes())
        await asyncio.sleep(0.05)
    return peak


async def test_a_header_flood_keeps_memory_bounded_and_closes_every_connection(bot: KubecampProcess) -> None:
    """100 connections send the confirmed attack (960 KB of headers each, never ended); 100 more send just under
    the limits and stall, the most a connection can make the bot hold. Meanwhile the probes still answer."""
    idle = bot.rss_bytes()
    flood = asyncio.gather(
        *(hold(bot.port, headers=120, header_bytes=8000) for _ in range(100)),
        *(hold(bot.port, headers=MAX_HEADERS - 2, header_bytes=MAX_FIELD_BYTES - 16) for _ in range(100)),
    )
    peak = asyncio.ensure_future(peak_rss(bot, flood))
    await asyncio.sleep(1)
    async with bot.session.get(f"{bot.probe_url}/healthz") as response:
        assert response.status == 200  # the probes' own listener is not the flooded one
    held = await flood
    grown = (await peak - idle) / MIB

    # It grew by 375 MiB, to 488 MiB. Now by what the listener's connections may hold (bot.web), and the whole
    # process stays under half the chart's limit of 512 MiB.
    assert grown < 96, f"RSS grew by {grown:.0f} MiB under the flood, from {idle / MIB:.0f} MiB"
    assert (idle / MIB + grown) < 256
    longest = max(held)
    assert longest < IDLE_TIMEOUT + SLACK, f"a connection was held {longest:.1f} s"
    oversized = max(held[:100])
    assert oversized < IDLE_TIMEOUT / 2, f"a header over the limit was read on for {oversized:.1f} s"
    assert await post_notification(f"{bot.url}/webhooks/alertmanager", json.dumps(notification()).encode()) == 200


async def test_idle_and_slow_connections_are_closed_within_the_timeout(bot: KubecampProcess) -> None:
    """600 connections: 300 open and say nothing, 300 send a header byte ten times within the timeout (slowloris), on
    the webhook's port and the probes'. Every one is closed within `IDLE_TIMEOUT` (beyond each listener's connection
    limit, at once)."""
    ports = (bot.port, bot.probe_port)
    pause = IDLE_TIMEOUT / 10
    held = await asyncio.gather(
        *(hold(ports[n % 2], silent=True) for n in range(300)),
        *(hold(ports[n % 2], headers=100, header_bytes=1, pause=pause) for n in range(300)),
    )
    longest = max(held)
    assert longest < IDLE_TIMEOUT + SLACK, f"a connection was held {longest:.1f} s"
    async with bot.session.get(f"{bot.probe_url}/readyz") as response:
        assert response.status == 200


@pytest.mark.reliability  # timing under load; test_readiness proves at once that /readyz runs no check
async def test_a_readyz_flood_neither_slows_the_webhook_nor_reaches_the_store_or_the_cluster(
    bot: KubecampProcess, kube_cluster: KubeCluster
) -> None:
    """200 callers ask /readyz over and over while Alertmanager posts 40 notifications one after another. Each
    /readyz once took the write lock and called the API server: the webhook's p99 went from 37 ms to 7.5 s. Now
    the API server is asked on the checks' interval however many callers there are, and the webhook's p99 stays
    within a bound generous enough for a loaded machine (and far under what the flood did)."""

    def version_calls() -> int:
        return sum(1 for r in kube_cluster.requests if r.url.path == "/version")

    url = f"{bot.url}/webhooks/alertmanager"
    headers = {"Authorization": "Bearer class-webhook-token", "Content-Type": "application/json"}

    async def webhook_latencies(session: aiohttp.ClientSession, label: str) -> list[float]:
        """40 notifications of new groups, one after another; `label`: a hex digit that keeps them apart."""
        seconds = []
        for n in range(40):
            body = notification(fingerprint=f"{label}{n:04x}", groupKey=f'{{}}:{{alertname="{label}{n}"}}')
            began = time.monotonic()
            async with session.post(url, data=json.dumps(body).encode(), headers=headers) as response:
                assert response.status == 200, await response.text()
            seconds.append(time.monotonic() - began)
        return seconds

    async with aiohttp.ClientSession() as session:
        quiet = await webhook_latencies(session, "a")
        calls_before, began = version_calls(), time.monotonic()
        # The callers in a process of their own: this one's event loop measures the webhook undisturbed.
        flood = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.peers.http_flood",
            f"{bot.probe_url}/readyz",
            "200",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await asyncio.sleep(2)  # the flood under way
            flooded = await webhook_latencies(session, "b")
        finally:
            assert flood.stdin is not None
            flood.stdin.close()
            out, _ = await flood.communicate()
        elapsed = time.monotonic() - began

    answered = {int(status): count for status, count in json.loads(out).items()}
    calls = version_calls() - calls_before
    total = sum(answered.values())
    p99_quiet, p99_flooded = percentile(quiet, 99), percentile(flooded, 99)
    assert set(answered) == {200} and total > 1000, answered
    assert calls <= elapsed / INTERVAL + 2, f"{calls} GET /version for {total} /readyz in {elapsed:.1f} s"
    # The flood still takes the bot's CPU; what it no longer does is make the webhook wait. Bounded relative to this
    # machine's load as the quiet p99 shows it, never as far as the 7.5 s the flood once caused.
    bound = min(5.0, max(2.0, 10 * p99_quiet))
    assert p99_flooded < bound, f"webhook p99 {p99_flooded * 1000:.0f} ms under the flood, {p99_quiet * 1000:.0f} quiet"
