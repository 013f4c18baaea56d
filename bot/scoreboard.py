"""The class ranking, its CSV export and a chart of solved points over time.

Per team and challenge the best run counts (most points, then shortest time, then earliest end).
Without a challenge the ranking adds up each team's best run of every challenge. A build's points are
its rubric's: the criteria its checks met at the deadline (the run's points), the awards standing
for its graded items and its evidence items a paste proved; they add to the break-fix points, which keep
their tiers (a break-fix challenge's graded bonus items add their awards too). Ranking: points, then elapsed
time, then who finished first; rows equal in all three share a rank ("1, 1, 3"). The chart follows CTFd's
top-teams graph: each scenario's points at the moment it was first solved, accumulated per team.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.challenges.catalog import Catalog
from bot.challenges.progress import NotABuild, ProgressReader, TeamProgress, awarded, evidenced
from bot.i18n import Message
from bot.spreadsheet import cell, csv_file
from bot.store import HintSource, Run, Store, Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_ENDED = ("finished", "expired")


@dataclass(frozen=True)
class Row:
    rank: int
    team: str
    points: int
    elapsed_seconds: int | None  # None: nothing finished yet
    finished_at: datetime | None
    hints_used: int  # asked for or revealed by an instructor; the schedule's own hints do not count
    runs: int
    status: str  # of the best run: finished, expired, active, stopped, or "-" when none
    automatic_hints: int = 0  # the ones the schedule posted on its own
    rubric_points: int = 0  # of `points`, those of rubrics (builds' checks met at the deadline; awards)

    def key(self) -> tuple[int, float, float]:
        return (
            -self.points,
            float(self.elapsed_seconds) if self.elapsed_seconds is not None else float("inf"),
            self.finished_at.timestamp() if self.finished_at is not None else float("inf"),
        )


@dataclass(frozen=True)
class Series:
    team: str
    points: list[tuple[datetime, int]]  # cumulative


@dataclass(frozen=True)
class _RubricPoints:
    checked: int  # criteria met at the deadline, already in the runs' points
    awarded: int  # graded items' awards standing, evidence items proven


def _best(runs: Sequence[Run]) -> Run | None:
    def order(run: Run) -> tuple[int, int, int, float]:
        ended = run.status in _ENDED
        return (
            0 if ended else 1,
            -(run.points or 0),
            run.elapsed_seconds if run.elapsed_seconds is not None else 1 << 62,
            run.finished_at.timestamp() if run.finished_at else float("inf"),
        )

    return min(runs, key=order) if runs else None


class Scoreboard:
    def __init__(self, *, store: Store, catalog: Catalog) -> None:
        self._store = store
        self._catalog = catalog

    async def _runs(self, challenge_id: int | None) -> list[tuple[Team, list[Run]]]:
        result = []
        for team in await self._store.teams.all():
            runs = [r for r in await self._store.runs.of_team(team.id) if challenge_id in (None, r.challenge_id)]
            result.append((team, runs))
        return result

    async def ranking(self, challenge_id: int | None = None) -> list[Row]:
        if challenge_id is not None:
            self._catalog.get(challenge_id)  # UnknownChallenge for a typo
        rows: list[Row] = []
        for team, runs in await self._runs(challenge_id):
            best_runs = [
                best
                for cid in sorted({r.challenge_id for r in runs})
                if (best := _best([r for r in runs if r.challenge_id == cid])) is not None
            ]
            ended = [r for r in best_runs if r.status in _ENDED]
            rubric = await self._rubric_points(team, best_runs)
            hints = automatic = 0
            for run in best_runs:
                for hint in await self._store.runs.hints_posted(run.id):
                    if hint.source == HintSource.auto:
                        automatic += 1
                    else:
                        hints += 1
            status = best_runs[0].status if len(best_runs) == 1 else ("-" if not best_runs else "mixed")
            rows.append(
                Row(
                    rank=0,
                    team=team.name,
                    points=sum(r.points or 0 for r in ended) + rubric.awarded,
                    elapsed_seconds=sum(r.elapsed_seconds or 0 for r in ended) if ended else None,
                    finished_at=max((r.finished_at for r in ended if r.finished_at), default=None),
                    hints_used=hints,
                    runs=len(runs),
                    status=str(status),
                    automatic_hints=automatic,
                    rubric_points=rubric.checked + rubric.awarded,
                )
            )
        rows.sort(key=Row.key)
        ranked: list[Row] = []
        for index, row in enumerate(rows):
            tied = ranked and ranked[-1].key() == row.key()
            ranked.append(Row(**{**row.__dict__, "rank": ranked[-1].rank if tied else index + 1}))
        return ranked

    async def csv(self, challenge_id: int | None = None) -> bytes:
        # automatic_hints last: the columns before it keep their places for the sheets that read them.
        header = ["rank", "team", "points", "elapsed_seconds", "finished_at", "hints_used", "runs", "status"]
        table: list[list[object]] = [[*header, "automatic_hints", "rubric_points"]]
        for row in await self.ranking(challenge_id):
            table.append(
                [
                    row.rank,
                    cell(row.team),
                    row.points,
                    "" if row.elapsed_seconds is None else row.elapsed_seconds,
                    row.finished_at.isoformat() if row.finished_at else "",
                    row.hints_used,
                    row.runs,
                    row.status,
                    row.automatic_hints,
                    row.rubric_points,
                ]
            )
        return csv_file(table)

    async def _rubric_points(self, team: Team, best_runs: Sequence[Run]) -> _RubricPoints:
        """A team's points from rubrics: builds' best runs' checks (once ended), and of builds and break-fix
        challenges with graded bonus items, the awards standing and the evidence items proven."""
        checked = given = 0
        for run in best_runs:
            challenge = self._catalog.challenges.get(run.challenge_id)
            if challenge is None or not challenge.rubric:  # a challenge the catalogue dropped scores as it ended
                continue
            if challenge.is_build and run.status in _ENDED:
                checked += run.points or 0
            given += sum(awarded(await self._store.awards.of_team(team.id, run.challenge_id)).values())
            given += sum(evidenced(challenge, await self._store.evidence.of_team(team.id, run.challenge_id)).values())
        return _RubricPoints(checked=checked, awarded=given)

    async def rubric(self, challenge_id: int) -> list[TeamProgress]:
        """Per team that ran the build, each criterion as it stands, best first: for instructors. A run that
        ended counts its final verification; one under way, its latest."""
        if not self._catalog.get(challenge_id).is_build:
            raise NotABuild(Message("scoreboard.not_a_build", {"challenge": challenge_id}))
        reader = ProgressReader(store=self._store, catalog=self._catalog)
        out = [await reader.of_team(team, challenge_id) for team, runs in await self._runs(challenge_id) if runs]
        out.sort(key=lambda r: (-r.progress.points, r.team.name))
        return out

    async def series(self, challenge_id: int | None = None) -> list[Series]:
        """Cumulative solved points per team, one step per first solve."""
        result = []
        for team, runs in await self._runs(challenge_id):
            steps: list[tuple[datetime, int]] = []
            for run in runs:
                challenge = self._catalog.get(run.challenge_id)
                for state in await self._store.runs.scenario_states(run.id):
                    if state.first_solved_at is not None:
                        steps.append((state.first_solved_at, challenge.checked_item(state.scenario_id).points))
            steps.sort()
            total, points = 0, []
            for moment, gained in steps:
                total += gained
                points.append((moment, total))
            result.append(Series(team=team.name, points=points))
        return result

    async def chart(self, challenge_id: int | None = None, *, title: str) -> bytes:
        return render_chart(await self.series(challenge_id), title=title)


def chart_figure(series: Sequence[Series], *, title: str) -> Figure:
    """One step line per team that has solved something."""
    # Imported when a chart is drawn, not with the module: matplotlib and numpy are a quarter of the
    # bot's memory and most of its start-up time, for a command used now and then.
    import numpy
    from matplotlib.figure import Figure  # the object API needs no display, so the bot runs headless

    figure = Figure(figsize=(10, 5), dpi=100)
    axes = figure.subplots()
    for line in series:
        if not line.points:
            continue
        times = [line.points[0][0]] + [t for t, _ in line.points]
        values = [0] + [v for _, v in line.points]
        # Naive UTC as datetime64: matplotlib plots it natively and the axis reads in UTC.
        moments = numpy.array([t.astimezone(UTC).replace(tzinfo=None) for t in times], dtype="datetime64[s]")
        axes.step(moments, values, where="post", label=line.team)
    axes.set_title(title)
    axes.set_ylabel("points")
    axes.set_xlabel("UTC")
    axes.grid(True, alpha=0.3)
    if axes.get_lines():
        axes.legend(loc="upper left")
    figure.autofmt_xdate()
    return figure


def render_chart(series: Sequence[Series], *, title: str) -> bytes:
    buffer = io.BytesIO()
    chart_figure(series, title=title).savefig(buffer, format="png")
    return buffer.getvalue()
