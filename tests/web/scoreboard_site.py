"""The projector page served on loopback from a class of the tests (tests/classroom.py), as `kubecamp run`
serves it: the stream, the app and its own listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.store.scoreboard import ClassRecord
from bot.web.scoreboard import PageAccess, ScoreboardStream, make_scoreboard_app
from bot.web.server import WebServer
from tests.classroom import Classroom
from tests.scenarios.test_catalogue_behaviour import CATALOG

INSTRUCTOR_TOKEN = "instructors-see-it-live"


@dataclass
class Site:
    room: Classroom
    stream: ScoreboardStream
    server: WebServer
    #: Reads of the store the scoreboard made, counted where they reach the store.
    store_reads: list[ClassRecord]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@asynccontextmanager
async def scoreboard_site(
    room: Classroom,
    *,
    token: str | None = None,
    heartbeat: float = 15.0,
    write_timeout: float = 10.0,
    refresh_seconds: float = 30.0,
    reread_seconds: float = 3600.0,
) -> AsyncIterator[Site]:
    reads: list[ClassRecord] = []
    read = room.store.scoreboard.read

    async def counted() -> ClassRecord:
        record = await read()
        reads.append(record)
        return record

    room.store.scoreboard.read = counted  # type: ignore[method-assign]
    stream = ScoreboardStream(
        scoreboard=room.board,
        catalog=CATALOG,
        changes=room.changes,
        refresh_seconds=refresh_seconds,
        reread_seconds=reread_seconds,
    )
    app = make_scoreboard_app(
        stream=stream,
        catalog=CATALOG,
        lang="ko",
        access=PageAccess(token=token, instructor_token=INSTRUCTOR_TOKEN),
        heartbeat=heartbeat,
        write_timeout=write_timeout,
    )
    server = WebServer(app, host="127.0.0.1", port=0, max_connections=256, name="scoreboard")
    await stream.start()
    await server.start()
    try:
        yield Site(room=room, stream=stream, server=server, store_reads=reads)
    finally:
        await stream.aclose()
        await server.stop()
