"""The instructors' board: `/admin board <challenge>` posts one message in the instructors' channel, and the bot
keeps it current by editing it, across restarts (`bot.store.boards`).

Kept current without a hook in every action: the board's watcher reads a cheap mark of the class's activity (the
newest verification, hint post, run, award and evidence, the active runs and their deadlines) every `watch_interval`
seconds and redraws the boards when it moved, or every `refresh_interval` seconds anyway (elapsed minutes, the
stuck marker). A board is edited only when what it shows changed, at most once a watch interval, and the
outbox coalesces edits of one message still waiting to go: a class of 30 teams verifying at once costs
Discord one edit per board per interval, within its rate limits. Actions from the command line count too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import col, func, select

from bot.challenges import render_board
from bot.challenges.catalog import Catalog
from bot.challenges.progress import ProgressReader
from bot.challenges.render_board import BoardLine
from bot.errors import MessageError
from bot.i18n import Lang, Message
from bot.outbox import OutboxItem
from bot.store import Award, Board, Evidence, HintPost, HintSource, Run, RunStatus, Store, Team, Verification
from bot.store.db import WriteStep

log = logging.getLogger(__name__)


class NoBoardChannel(MessageError):
    """No instructors' channel is configured: a board has nowhere to go."""


#: Seconds between two looks of the boards at the class (and the least time between two edits of a board).
WATCH_SECONDS = 5.0


class BoardOutbox(Protocol):
    """The durable outbox, as the board uses it (bot.outbox.Outbox)."""

    def enqueuing(self, items: Sequence[OutboxItem]) -> WriteStep: ...


class BoardService:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        outbox: BoardOutbox,
        lang: Lang,
        channel_id: int | None,
        stuck_after: timedelta,
        clock: Callable[[], datetime],
        watch_interval: float = WATCH_SECONDS,
        refresh_interval: float = 60.0,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._outbox = outbox
        self._lang = lang
        self._channel_id = channel_id
        self._stuck_after = stuck_after
        self._clock = clock
        self._watch_interval = watch_interval
        self._refresh_interval = refresh_interval
        self._progress = ProgressReader(store=store, catalog=catalog)
        self._task: asyncio.Task[None] | None = None

    async def post(self, challenge_id: int, *, by: str) -> Board:
        """Post the challenge's board in the instructors' channel (anew, if it had one: the old message stays as
        it last was). NoBoardChannel without an instructors' channel; UnknownChallenge for a typo."""
        challenge = self._catalog.get(challenge_id)
        if self._channel_id is None:
            raise NoBoardChannel(Message("board.no_channel", {}))
        payload = await self._render(challenge.id)
        at = self._clock()
        key = f"board:{challenge.id}:posted:{at.isoformat()}"
        item = OutboxItem(key, "message", payload, channel_id=self._channel_id)
        return await self._store.boards.post(
            challenge.id,
            channel_id=self._channel_id,
            message_key=key,
            shown=_shown(payload),
            by=by,
            at=at,
            then=self._outbox.enqueuing([item]),
        )

    async def refresh(self) -> int:
        """Redraw every board; edit those whose content changed. Returns how many edits were enqueued."""
        edited = 0
        for board in await self._store.boards.all():
            if board.challenge_id not in self._catalog.challenges:
                continue  # a challenge the catalogue dropped: its board stays as it last was
            payload = await self._render(board.challenge_id)
            shown = _shown(payload)
            if shown == board.shown:
                continue

            def edit(number: int, board: Board = board, payload: dict[str, object] = payload) -> WriteStep:
                item = OutboxItem(f"{board.message_key}:edit:{number}", "edit", payload, edit_of=board.message_key)
                return self._outbox.enqueuing([item])

            if await self._store.boards.edit(board, shown, edit):
                edited += 1
        return edited

    async def _render(self, challenge_id: int) -> dict[str, object]:
        challenge = self._catalog.get(challenge_id)
        lines = [await self._line(team, challenge_id) for team in await self._store.teams.all()]
        return render_board.board(challenge, lines, now=self._clock(), stuck_after=self._stuck_after, lang=self._lang)

    async def _line(self, team: Team, challenge_id: int) -> BoardLine:
        runs = [r for r in await self._store.runs.of_team(team.id) if r.challenge_id == challenge_id]
        if not runs:
            return BoardLine(team=team.name)
        run = max(runs, key=lambda r: (r.started_at, r.id))  # the latest: what the team does now
        hints = await self._store.runs.hints_posted(run.id)
        verification = await self._store.runs.latest_verification(run.id)
        rubric = None
        if self._catalog.get(challenge_id).scored_by_items:  # a build or a lab: its points
            progress = (await self._progress.of_run(team, run)).progress
            rubric = (progress.points, self._catalog.get(challenge_id).total_points)
        return BoardLine(
            team=team.name,
            run=run,
            states=tuple(await self._store.runs.scenario_states(run.id)),
            hints_used=sum(1 for h in hints if h.source != HintSource.auto),
            last_verified=verification.at if verification else None,
            rubric=rubric,
        )

    # --- keeping the boards current ---------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="instructors' boards")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        seen: tuple[object, ...] | None = None
        refreshed = float("-inf")
        while True:
            try:
                mark = await self._activity()
                if mark != seen or loop.time() - refreshed >= self._refresh_interval:
                    await self.refresh()
                    seen, refreshed = mark, loop.time()
            except Exception:  # the store is unavailable, or a bug: the boards wait for the next round
                log.warning("boards: could not redraw the boards", exc_info=True)
            await asyncio.sleep(self._watch_interval)

    async def _activity(self) -> tuple[object, ...]:
        """A mark that moves whenever a board may change: one read, whatever the class's size."""
        active = col(Run.status) == RunStatus.active
        runs = select(
            select(func.max(col(Run.id))).scalar_subquery(),
            select(func.count()).select_from(Run).where(active).scalar_subquery(),
            select(func.max(col(Run.deadline))).where(active).scalar_subquery(),
        )
        news = select(
            select(func.max(col(Verification.id))).scalar_subquery(),
            select(func.max(col(HintPost.id))).scalar_subquery(),
            select(func.max(col(Award.id))).scalar_subquery(),
            select(func.max(col(Evidence.id))).scalar_subquery(),
        )
        async with self._store.db.reading() as session:
            return (*(await session.exec(runs)).one(), *(await session.exec(news)).one())


def _shown(payload: dict[str, object]) -> str:
    """What a board's message shows, as text to compare."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True)
