"""The instructors' board of a challenge as one Discord message: a line per team with its run's state per
scenario (or its rubric's points for a build), elapsed time, hints used, last verification, and a stuck marker
when a team has not verified for a while. Within one embed's description for a class of any size
(`bot.limits.fit_lines` cuts what would not fit, with "…")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import markup
from bot.challenges.catalog import Challenge
from bot.challenges.render import BLUE
from bot.i18n import Lang, t
from bot.limits import EMBED_DESCRIPTION_MAX, EMBED_FOOTER_MAX, fit_lines, truncate
from bot.markup import clock, stamp
from bot.store import Run, ScenarioState

#: A scenario's mark on the board: solved, checked and failing, not checked yet, skipped for this run.
SOLVED, FAILING, UNCHECKED, SKIPPED = "✅", "❌", "⏳", "⏭️"
#: A run's mark: under way, finished, out of time, stopped; and a team that has not started.
RUN_MARK = {"active": "▶️", "finished": "🏁", "expired": "⌛", "stopped": "⏹️"}
NOT_STARTED = "⬜"
STUCK = "⚠️"


@dataclass(frozen=True)
class BoardLine:
    """What the board shows of one team: its latest run of the challenge (None: not started)."""

    team: str
    run: Run | None = None
    states: tuple[ScenarioState, ...] = ()
    #: Hints asked for or revealed by an instructor (the schedule's own do not count, as on the scoreboard).
    hints_used: int = 0
    last_verified: datetime | None = None
    #: A build's rubric points as they stand, and its total.
    rubric: tuple[int, int] | None = None


def scenario_mark(state: ScenarioState) -> str:
    if state.status == "skipped":
        return SKIPPED
    if state.status == "solved":
        return SOLVED
    return FAILING if state.attempts else UNCHECKED


def board(
    challenge: Challenge, lines: Sequence[BoardLine], *, now: datetime, stuck_after: timedelta, lang: Lang
) -> dict[str, Any]:
    """The board's message; what it shows changes only when a team's line does (no clock of its own)."""
    title = t("board.title", lang, challenge=challenge.id, title=challenge.spec.title.get(lang))
    rows = [_line(line, now=now, stuck_after=stuck_after, lang=lang) for line in lines] or [t("board.no_teams", lang)]
    if challenge.scored_by_items:
        legend = t("board.legend_build", lang, minutes=int(stuck_after.total_seconds() // 60))
    else:
        order = " · ".join(f"{i}. {item.title.get(lang)}" for i, item in enumerate(challenge.checked, start=1))
        legend = t("board.legend", lang, scenarios=order, minutes=int(stuck_after.total_seconds() // 60))
    embed = {
        "title": truncate(title, 256),
        "description": fit_lines(rows, EMBED_DESCRIPTION_MAX),
        "color": BLUE,
        "footer": {"text": truncate(legend, EMBED_FOOTER_MAX)},
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def _line(line: BoardLine, *, now: datetime, stuck_after: timedelta, lang: Lang) -> str:
    team = markup.escape(line.team)
    run = line.run
    if run is None:
        return t("board.not_started", lang, mark=NOT_STARTED, team=team)
    if line.rubric is not None:
        progress = t("board.points", lang, points=line.rubric[0], total=line.rubric[1])
    else:
        progress = "".join(scenario_mark(s) for s in line.states)
    if run.status == "active":
        elapsed = t("board.elapsed_minutes", lang, minutes=int((now - run.started_at).total_seconds() // 60))
    else:
        elapsed = clock(timedelta(seconds=run.elapsed_seconds or 0))
    verified = stamp(line.last_verified, "R") if line.last_verified else t("board.never_verified", lang)
    text = t(
        "board.line",
        lang,
        mark=RUN_MARK.get(run.status, "•"),
        team=team,
        progress=progress,
        elapsed=elapsed,
        hints=line.hints_used,
        verified=verified,
    )
    quiet_since = line.last_verified or run.started_at
    if run.status == "active" and now - quiet_since >= stuck_after:
        text += " " + t("board.stuck", lang, mark=STUCK, minutes=int((now - quiet_since).total_seconds() // 60))
    return text
