"""The projector page (KUBECAMP_WEB_SCOREBOARD_PORT): `GET /scoreboard` and `/scoreboard/<challenge>`, live.

The page is read-only and shows what `/scoreboard show` shows everyone: the ranking as of the challenge's
freeze, if one is set. `?view=instructor&token=…` (KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN) shows the live state
instead; KUBECAMP_SCOREBOARD_TOKEN, when set, makes the public page ask for `?token=` too. Every asset is the
bot's own (`bot/web/static/`): a class network may reach nothing else.

Live: the page listens to `GET /scoreboard/events` (Server-Sent Events). `ScoreboardStream` reads the store
once per change the services publish (`bot.live.ChangeFeed`), however many pages are open: from that one
record it computes each view being watched once (the same bytes go to every viewer of it), and every
`REFRESH_SECONDS` recomputes them from the record it holds, without reading again, so that a tier passing
shows; while pages are open it reads again every `REREAD_SECONDS` whatever it heard, for what another process
(the `kubecamp` CLI) wrote. A viewer holds at most the newest payload not yet sent; one that stops reading is
dropped after `WRITE_TIMEOUT` and a heartbeat finds one whose connection went away without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from bot.challenges.catalog import Catalog
from bot.errors import UnknownChallenge
from bot.i18n import LANGS, Lang, t
from bot.live import ChangeFeed
from bot.scoreboard import Scoreboard
from bot.store.scoreboard import ClassRecord
from bot.web.scoreboard_data import page_data

log = logging.getLogger(__name__)

#: Seconds between two recomputations of the views from the record held (no store read): tiers pass by time.
REFRESH_SECONDS = 30.0
#: Seconds after which, while pages are open, the record is read again though no change was heard: what another
#: process wrote (`kubecamp grade` from an instructor's shell) tells this one's ChangeFeed nothing.
REREAD_SECONDS = 120.0
#: Seconds without a payload after which a viewer is sent a comment line: a connection gone shows then.
HEARTBEAT_SECONDS = 15.0
#: Seconds one write to a viewer may take; a viewer that does not read for that long is dropped.
WRITE_TIMEOUT = 10.0
#: Viewers the listener serves at most (its connections): a classroom's projector, laptops, a few phones.
SCOREBOARD_MAX_CONNECTIONS = 256

_STATIC = ("scoreboard.css", "scoreboard.js")
_TYPES = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}
#: Every label the page writes, by the key it reads.
_LABELS = (
    "rank", "team", "points", "solves", "time", "hints", "elapsed", "remaining", "progress", "chart", "live",
    "reconnecting", "frozen", "instructor", "legend",
)  # fmt: skip
_STATUSES = ("active", "finished", "expired", "stopped")


@dataclass(frozen=True)
class ViewKey:
    challenge_id: int | None
    instructor: bool


class Viewer:
    """One open page: the newest payload it has not been sent yet, nothing older."""

    def __init__(self, key: ViewKey) -> None:
        self.key = key
        self._pending: bytes | None = None
        self._ready = asyncio.Event()
        self.closed = False

    def offer(self, payload: bytes) -> None:
        self._pending = payload  # replaces one not sent yet: a slow viewer never queues up
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> bytes | None:  # noqa: ASYNC109 - a heartbeat, not a deadline
        """The next payload, or None after `timeout` seconds without one (or once closed)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        self._ready.clear()
        payload, self._pending = self._pending, None
        return payload


class ScoreboardStream:
    """One reader of the store for every open page."""

    def __init__(
        self,
        *,
        scoreboard: Scoreboard,
        catalog: Catalog,
        changes: ChangeFeed,
        refresh_seconds: float = REFRESH_SECONDS,
        reread_seconds: float = REREAD_SECONDS,
    ) -> None:
        self._scoreboard = scoreboard
        self._catalog = catalog
        self._changes = changes
        self._refresh = refresh_seconds
        self._reread = reread_seconds
        self._read_at = 0.0  # the loop's clock at the last read
        self._viewers: defaultdict[ViewKey, set[Viewer]] = defaultdict(set)
        self._record: ClassRecord | None = None
        self._changed = asyncio.Event()
        #: Set by each round's end: a page waits on it for a change heard but not read yet.
        self._round_done = asyncio.Event()
        self._in_round = False
        self._task: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] = lambda: None
        #: Store reads made, for the tests and the curious.
        self.reads = 0

    @property
    def viewers(self) -> int:
        return sum(len(v) for v in self._viewers.values())

    async def start(self) -> None:
        self._stop_listening = self._changes.listen(self._changed.set)
        await self._read()
        self._task = asyncio.create_task(self._run(), name="scoreboard stream")

    async def aclose(self) -> None:
        self._stop_listening()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for viewers in self._viewers.values():
            for viewer in viewers:
                viewer.close()

    async def _read(self) -> None:
        self._record = await self._scoreboard.record()
        self._read_at = asyncio.get_running_loop().time()
        self.reads += 1

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh):
                    await self._changed.wait()
            self._in_round = True
            try:
                await self._round()
            finally:
                self._in_round = False
                self._round_done.set()
                self._round_done = asyncio.Event()

    async def _round(self) -> None:
        stale = self.viewers > 0 and asyncio.get_running_loop().time() - self._read_at >= self._reread
        if self._changed.is_set() or stale:
            self._changed.clear()  # changes made during the read below wake the next round
            try:
                await self._read()
            except Exception:  # the store may be down a moment: pages keep what they show
                log.exception("scoreboard stream: cannot read the store")
                return
        for key, viewers in list(self._viewers.items()):
            if viewers:
                payload = self.payload(key)
                for viewer in viewers:
                    viewer.offer(payload)

    async def settled(self) -> None:
        """Wait until a change heard is read: a page loaded just after a solve shows it."""
        while (self._changed.is_set() or self._in_round) and self._task is not None and not self._task.done():
            await self._round_done.wait()

    def data(self, key: ViewKey) -> dict[str, Any]:
        if self._record is None:
            raise RuntimeError("the stream is not started: start() reads the record first")
        standings = self._scoreboard.standings(self._record, public=not key.instructor)
        return page_data(standings, self._catalog, key.challenge_id)

    def payload(self, key: ViewKey) -> bytes:
        """One Server-Sent Event with the view's data."""
        return b"data: " + json.dumps(self.data(key), separators=(",", ":")).encode() + b"\n\n"

    def join(self, key: ViewKey) -> Viewer:
        viewer = Viewer(key)
        self._viewers[key].add(viewer)
        viewer.offer(self.payload(key))
        return viewer

    def leave(self, viewer: Viewer) -> None:
        viewers = self._viewers.get(viewer.key)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self._viewers[viewer.key]


@dataclass(frozen=True)
class PageAccess:
    """The tokens of the page: `token` for everyone (None: open), `instructor_token` for the live view (None: off)."""

    token: str | None = None
    instructor_token: str | None = None

    def key(self, request: web.Request, catalog: Catalog) -> ViewKey:
        given = request.query.get("token", "")
        instructor = request.query.get("view") == "instructor"
        expected = self.instructor_token if instructor else self.token
        if instructor and expected is None:
            raise web.HTTPNotFound(text="the instructors' view is off: KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN is not set")
        if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPUnauthorized(text="this scoreboard asks for its token: ?token=")
        raw = request.match_info.get("challenge") or request.query.get("challenge")
        challenge_id = int(raw) if raw and raw.isdigit() else None
        if raw and challenge_id is None:
            raise web.HTTPNotFound(text=f"no challenge {raw}")
        if challenge_id is not None:
            try:
                catalog.get(challenge_id)
            except UnknownChallenge:
                raise web.HTTPNotFound(text=f"no challenge {challenge_id}") from None
        return ViewKey(challenge_id=challenge_id, instructor=instructor)


def make_scoreboard_app(
    *,
    stream: ScoreboardStream,
    catalog: Catalog,
    lang: Lang,
    access: PageAccess,
    heartbeat: float = HEARTBEAT_SECONDS,
    write_timeout: float = WRITE_TIMEOUT,
) -> web.Application:
    """The page, its assets and its event stream."""

    async def page(request: web.Request) -> web.Response:
        key = access.key(request, catalog)
        await stream.settled()
        page_lang = next((choice for choice in LANGS if choice == request.query.get("lang")), lang)
        title = _title(catalog, key.challenge_id, page_lang)
        html = _asset("scoreboard.html").decode()
        settings = {"lang": page_lang, "labels": _labels(page_lang), "title": title, "data": stream.data(key)}
        # In a <script type="application/json">: "</" cannot end it early.
        embedded = json.dumps(settings, ensure_ascii=False).replace("</", "<\\/")
        html = html.replace("{{lang}}", page_lang).replace("{{title}}", _escape(title))
        return web.Response(text=html.replace("{{settings}}", embedded), content_type="text/html", charset="utf-8")

    async def events(request: web.Request) -> web.StreamResponse:
        key = access.key(request, catalog)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        viewer = stream.join(key)
        try:
            while not viewer.closed:
                payload = await viewer.next(heartbeat)
                async with asyncio.timeout(write_timeout):
                    await response.write(payload if payload is not None else b": still here\n\n")
        except (ConnectionError, TimeoutError):
            pass  # gone, or not reading: either way this page is done
        finally:
            stream.leave(viewer)
        return response

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        suffix = name[name.rindex(".") :]
        return web.Response(
            body=_asset(name), content_type=_TYPES[suffix], charset="utf-8", headers={"Cache-Control": "no-cache"}
        )

    app = web.Application(client_max_size=1024)
    app.router.add_get("/scoreboard", page)
    app.router.add_get("/scoreboard/events", events)
    app.router.add_get("/scoreboard/static/{name}", asset)
    app.router.add_get("/scoreboard/{challenge}", page)
    return app


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _labels(lang: Lang) -> dict[str, str]:
    labels = {name: t(f"page.{name}", lang, at="{at}") for name in _LABELS}
    labels |= {f"status.{s}": t(f"page.status.{s}", lang) for s in _STATUSES}
    labels |= {"empty": t("cog.scoreboard_empty", lang), "axis_points": t("scoreboard.chart_points", lang)}
    return labels | {"axis_minutes": t("scoreboard.chart_minutes", lang)}


def _title(catalog: Catalog, challenge_id: int | None, lang: Lang) -> str:
    if challenge_id is None:
        return t("cog.scoreboard_title_all", lang)
    title = catalog.get(challenge_id).spec.title.get(lang)
    return t("cog.scoreboard_title", lang, challenge=challenge_id, title=title)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
