"""The projector page over HTTP on loopback: what it serves, to whom, and its live stream under 50 viewers."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.store import Store
from bot.web.scoreboard import Viewer, ViewKey
from tests.classroom import Classroom, classroom
from tests.emulators.kube import KubeCluster
from tests.web.scoreboard_site import INSTRUCTOR_TOKEN, Site, scoreboard_site

VIEWERS = 50


@pytest.fixture
async def room(kube_cluster: KubeCluster, store: Store) -> AsyncIterator[Classroom]:
    async with classroom(kube_cluster, store) as room:
        for team in ("blue", "red"):
            await room.team(team)
            await room.runs.start(team, 2)
        yield room


@pytest.fixture
async def site(room: Classroom) -> AsyncIterator[Site]:
    async with scoreboard_site(room, heartbeat=0.5) as site:
        yield site


async def next_event(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """The next Server-Sent Event's data (comment lines skipped)."""
    data = b""
    while True:
        line = await response.content.readline()
        if not line:
            raise ConnectionError("the stream ended")
        if line.startswith(b"data: "):
            data += line[len(b"data: ") :].rstrip(b"\n")
        elif line == b"\n" and data:
            parsed: dict[str, Any] = json.loads(data)
            return parsed


def settings_of(html: str) -> dict[str, Any]:
    start = html.index('<script id="settings" type="application/json">') + len(
        '<script id="settings" type="application/json">'
    )
    parsed: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return parsed


async def test_the_page_and_its_assets_come_from_the_bot(site: Site) -> None:
    await site.room.solve("blue", "image-pull", minute=10)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.url}/scoreboard/2?lang=en") as response:
            assert response.status == 200 and response.content_type == "text/html"
            html = await response.text()
        settings = settings_of(html)
        assert settings["lang"] == "en" and settings["title"] == "🏆 Challenge 2: Deployment disaster"
        assert [(r["rank"], r["team"], r["points"], r["placed"]) for r in settings["data"]["ranking"]] == [
            (1, "blue", 25, True),
            (2, "red", 0, False),
        ]
        (grid,) = settings["data"]["challenges"]
        blue = grid["teams"][0]
        assert blue["cells"]["image-pull"] == {"state": "solved", "minute": 10, "first": True}
        assert blue["cells"]["unschedulable"]["state"] == "failed"
        assert grid["teams"][1]["cells"]["image-pull"]["state"] == "pending"  # red never verified
        assert "http://" not in html.replace(site.url, "") and "https://" not in html  # no CDN, nothing remote
        for asset in ("scoreboard.css", "scoreboard.js"):
            async with http.get(f"{site.url}/scoreboard/static/{asset}") as response:
                assert response.status == 200
                assert "https://" not in await response.text()
        async with http.get(f"{site.url}/scoreboard") as response:
            assert settings_of(await response.text())["lang"] == "ko"  # the class's language by default
        for path, status in (
            ("/scoreboard/9", 404),
            ("/scoreboard/two", 404),
            ("/scoreboard/static/..%2Fscoreboard.py", 404),
            ("/scoreboard?view=instructor&token=wrong", 401),
        ):
            async with http.get(f"{site.url}{path}") as response:
                assert response.status == status, path


async def test_a_private_class_needs_the_token_and_an_instructor_view_its_own(room: Classroom) -> None:
    async with scoreboard_site(room, token="our-class") as site, aiohttp.ClientSession() as http:
        async with http.get(f"{site.url}/scoreboard") as response:
            assert response.status == 401
        async with http.get(f"{site.url}/scoreboard/events?token=nope") as response:
            assert response.status == 401
        async with http.get(f"{site.url}/scoreboard?token=our-class") as response:
            assert response.status == 200
        async with http.get(f"{site.url}/scoreboard?view=instructor&token=our-class") as response:
            assert response.status == 401
        async with http.get(f"{site.url}/scoreboard?view=instructor&token={INSTRUCTOR_TOKEN}") as response:
            assert settings_of(await response.text())["data"]["instructor"] is True


async def open_viewers(http: aiohttp.ClientSession, site: Site, count: int) -> list[aiohttp.ClientResponse]:
    viewers = [await http.get(f"{site.url}/scoreboard/events?challenge=2") for _ in range(count)]
    for viewer in viewers:
        await next_event(viewer)  # what the page shows on arrival
    return viewers


async def test_fifty_viewers_cost_one_store_read_per_change(site: Site) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        viewers = await open_viewers(http, site, VIEWERS)
        assert site.stream.viewers == VIEWERS
        before = len(site.store_reads)
        assert before == 1  # the stream's first read; a page arriving reads nothing
        for minute, scenario in ((10, "image-pull"), (20, "unschedulable"), (30, "rolling-update")):
            await site.room.solve("blue", scenario, minute=minute)
            events = await asyncio.gather(*(next_event(v) for v in viewers))
            assert {e["ranking"][0]["solves"] for e in events} == {minute // 10}
        await site.room.awards.awards("blue")  # a read through a service changes nothing
        assert len(site.store_reads) - before == 3
        for viewer in viewers:
            viewer.close()


def abort(sock: socket.socket) -> None:
    """Close with a reset, as a laptop's browser killed mid-stream does (no FIN, no goodbye)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def raw_viewer(site: Site) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", site.server.port))
    sock.sendall(b"GET /scoreboard/events?challenge=2 HTTP/1.1\r\nHost: scoreboard\r\n\r\n")
    sock.setblocking(False)
    return sock


async def until(condition: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - how long a test waits
    """Poll `condition`: the stream has no event to say a viewer left, and needs none."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_viewers_gone_without_a_word_leave_nothing_behind(site: Site) -> None:
    tracemalloc.start()
    try:
        sizes = []
        for minute in (10, 20, 30, 40, 50):
            socks = [await raw_viewer(site) for _ in range(VIEWERS)]
            await until(lambda: site.stream.viewers == VIEWERS)
            for sock in socks:
                abort(sock)
            # The heartbeat's or the next change's write finds each one gone.
            await site.room.solve("red", minute=minute)
            await until(lambda: site.stream.viewers == 0 and site.server.connections == 0)
            sizes.append(tracemalloc.get_traced_memory()[0])
        # Five rounds of fifty dropped viewers: what the bot holds does not grow with them.
        assert max(sizes[1:]) - sizes[1] < 512 * 1024, sizes
    finally:
        tracemalloc.stop()


async def test_a_viewer_that_stops_reading_is_dropped_and_never_queues(room: Classroom) -> None:
    # Views recomputed every 20 ms (no store read): a flood of payloads for a page that reads none of them.
    async with scoreboard_site(room, write_timeout=0.5, refresh_seconds=0.02) as site:
        listener = site.server._listener
        assert listener is not None
        # Small socket buffers on both ends (an accepted socket inherits the listener's), so that the flood
        # reaches the bot's own write buffer within a second rather than the kernel's megabytes.
        listener.sockets[0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", site.server.port))
        stalled.sendall(b"GET /scoreboard/events?challenge=2 HTTP/1.1\r\nHost: scoreboard\r\n\r\n")
        await until(lambda: site.stream.viewers == 1)
        await until(lambda: site.stream.viewers == 0, timeout=20)
        assert len(site.store_reads) == 1  # recomputing views is no read
        stalled.close()


async def test_what_another_process_wrote_shows_after_a_reread(room: Classroom) -> None:
    async with scoreboard_site(room, refresh_seconds=0.1, reread_seconds=0.5) as site:
        async with aiohttp.ClientSession() as http, http.get(f"{site.url}/scoreboard/events?challenge=2") as viewer:
            assert (await next_event(viewer))["frozen_at"] is None
            # As `kubecamp` from a shell would: straight to the store, unheard by this process' ChangeFeed.
            room.clock.at(5)
            await room.store.scoreboard.freeze(2, room.clock() - timedelta(minutes=1), by="cli:kim")
            async with asyncio.timeout(5):
                while (await next_event(viewer))["frozen_at"] is None:
                    pass
        assert len(site.store_reads) >= 2


def test_a_viewer_holds_the_newest_payload_alone() -> None:
    viewer = Viewer(ViewKey(challenge_id=2, instructor=False))
    for payload in (b"one", b"two", b"three"):
        viewer.offer(payload)
    assert asyncio.run(viewer.next(0.01)) == b"three"
    assert asyncio.run(viewer.next(0.01)) is None  # the heartbeat's turn
