"""The class ranking, its CSV export, a chart of points over time, and the freeze.

One ranking for `/scoreboard show`, the projector page, the CSV and the chart, computed from one read of the
store (`bot.standings` says how a run scores at a moment). Per team and challenge the best run counts; without
a challenge the ranking adds up each team's best run of every challenge. A build's or a lab's points are its
items': its checks met at the deadline, the awards standing, the evidence proven and (a lab's) the checkpoints
ticked; a break-fix challenge's graded bonus items add their awards to its scenarios' points. Ranking: points,
then solves, then time (from each run's start to its last solve); rows equal in all three share a rank
("1, 1, 3"). A team that has solved nothing and scored nothing has a rank but no medal (`Row.placed`).

A freeze (CTFd's) stops what everyone sees of a challenge at a moment: the public ranking, page and chart are
as of then; instructors (the CSV, the instructor page) see now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.challenges.catalog import Catalog
from bot.challenges.progress import NotABuild, ProgressReader, TeamProgress
from bot.errors import MessageError
from bot.i18n import Lang, Message
from bot.live import ChangeFeed
from bot.spreadsheet import cell, csv_file
from bot.standings import RunStanding, Series, Standings
from bot.store import Freeze, Store
from bot.store.db import utcnow
from bot.store.scoreboard import ClassRecord


@dataclass(frozen=True)
class Row:
    rank: int
    team: str
    points: int
    #: Seconds from each best run's start to its last solve, added up; None: nothing solved yet.
    elapsed_seconds: int | None
    finished_at: datetime | None
    hints_used: int  # asked for or revealed by an instructor; the schedule's own hints do not count
    runs: int
    status: str  # of the best run: finished, expired, active, stopped, or "-" when none
    automatic_hints: int = 0  # the ones the schedule posted on its own
    rubric_points: int = 0  # of `points`, those of rubrics (builds' checks met at the deadline; awards)
    solves: int = 0  # scenarios (a build's checked criteria) solved

    @property
    def placed(self) -> bool:
        """Whether the row earns a medal for its rank: a team with nothing to show has none."""
        return self.points > 0 or self.solves > 0

    def key(self) -> tuple[int, int, float]:
        return (
            -self.points,
            -self.solves,
            float(self.elapsed_seconds) if self.elapsed_seconds is not None else float("inf"),
        )


class FreezeRefused(MessageError):
    """`/admin freeze` at a moment that cannot be one."""


def rank(standings: Standings, challenge_id: int | None = None) -> list[Row]:
    """Every team's row, ranked."""
    rows: list[Row] = []
    for team in standings.record.teams:
        best = standings.best(team.id, challenge_id)
        times = [b.time_seconds for b in best if b.time_seconds is not None]
        ended = [b.run.finished_at for b in best if b.status != "active" and b.run.finished_at is not None]
        rows.append(
            Row(
                rank=0,
                team=team.name,
                points=sum(b.points for b in best),
                elapsed_seconds=sum(times) if times else None,
                finished_at=max(ended, default=None),
                hints_used=sum(b.hints_used for b in best),
                runs=len(standings.runs(team.id, challenge_id)),
                status=best[0].status if len(best) == 1 else ("-" if not best else "mixed"),
                automatic_hints=sum(b.automatic_hints for b in best),
                rubric_points=sum(b.rubric_points for b in best),
                solves=sum(len(b.solved) for b in best),
            )
        )
    rows.sort(key=lambda r: (r.key(), r.team))
    ranked: list[Row] = []
    for index, row in enumerate(rows):
        tied = ranked and ranked[-1].key() == row.key()
        ranked.append(replace(row, rank=ranked[-1].rank if tied else index + 1))
    return ranked


def series(standings: Standings, challenge_id: int | None = None) -> list[Series]:
    """Per team, its ranking points after each of its solves and now, from its first start."""
    result = []
    for team in standings.record.teams:
        runs = standings.runs(team.id, challenge_id)
        if not runs:
            result.append(Series(team=team.name, points=[]))
            continue
        origin = min(r.run.started_at for r in runs)
        moments = sorted({when for r in runs for when in r.solved.values()})
        points = []
        for moment in [*moments, max(r.at for r in runs)] if moments else []:
            then = standings.until(moment).best(team.id, challenge_id)
            points.append((int((moment - origin).total_seconds()), sum(b.points for b in then)))
        result.append(Series(team=team.name, points=points))
    return result


class Scoreboard:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        clock: Callable[[], datetime] = utcnow,
        changes: ChangeFeed | None = None,
        timezone: str = "UTC",
    ) -> None:
        """`timezone`: the class's, in which a freeze's HH:MM is read."""
        self._store = store
        self._timezone = ZoneInfo(timezone)
        self._catalog = catalog
        self._clock = clock
        #: Told of each freeze set or lifted: the live scoreboard.
        self._changes = changes or ChangeFeed()

    async def record(self) -> ClassRecord:
        """The one read everything here is computed from."""
        return await self._store.scoreboard.read()

    def standings(self, record: ClassRecord, *, public: bool) -> Standings:
        return Standings(record, self._catalog, now=self._clock(), public=public)

    def _known(self, challenge_id: int | None) -> None:
        if challenge_id is not None:
            self._catalog.get(challenge_id)  # UnknownChallenge for a typo

    async def ranking(self, challenge_id: int | None = None, *, public: bool = True) -> list[Row]:
        self._known(challenge_id)
        return rank(self.standings(await self.record(), public=public), challenge_id)

    async def shown(self, challenge_id: int | None = None) -> tuple[list[Row], datetime | None]:
        """What everyone sees of the challenge (of all, for None): the ranking, and the freeze it is as of (None if
        it is live), from one read, so that the two agree."""
        self._known(challenge_id)
        standings = self.standings(await self.record(), public=True)
        return rank(standings, challenge_id), standings.frozen_at(challenge_id)

    async def series(self, challenge_id: int | None = None, *, public: bool = True) -> list[Series]:
        self._known(challenge_id)
        return series(self.standings(await self.record(), public=public), challenge_id)

    async def csv(self, challenge_id: int | None = None) -> bytes:
        """For instructors: the live ranking, each item's solve minute, the hand-ins."""
        self._known(challenge_id)
        record = await self.record()
        standings = self.standings(record, public=False)
        challenges = [c for c in self._catalog if challenge_id in (None, c.id)]
        if challenge_id is None:  # every challenge is many columns: those someone ran
            ran = {r.challenge_id for r in record.runs}
            challenges = [c for c in challenges if c.id in ran]
        items = [(c.id, item.id) for c in challenges for item in c.checked]
        # The first columns keep their places for the sheets that read them; new ones come after.
        header = ["rank", "team", "points", "elapsed_seconds", "finished_at", "hints_used", "runs", "status"]
        header += ["automatic_hints", "rubric_points", "solves", "submissions"]
        header += [item if challenge_id is not None else f"{cid}/{item}" for cid, item in items]
        table: list[list[object]] = [list(header)]
        team_ids = {t.name: t.id for t in record.teams}
        for row in rank(standings, challenge_id):
            team_id = team_ids[row.team]
            minutes = _solve_minutes(standings.best(team_id, challenge_id))
            hand_ins = sum(1 for t, c in record.submissions if t == team_id and challenge_id in (None, c))
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
                    row.solves,
                    hand_ins,
                    *(minutes.get(key, "") for key in items),
                ]
            )
        return csv_file(table)

    async def rubric(self, challenge_id: int) -> list[TeamProgress]:
        """Per team that ran the build, each criterion as it stands, best first: for instructors. A run that
        ended counts its final verification; one under way, its latest."""
        if not self._catalog.get(challenge_id).scored_by_items:
            raise NotABuild(Message("scoreboard.not_a_build", {"challenge": challenge_id}))
        reader = ProgressReader(store=self._store, catalog=self._catalog)
        record = await self.record()
        ran = {r.team_id for r in record.runs if r.challenge_id == challenge_id}
        out = [await reader.of_team(team, challenge_id) for team in record.teams if team.id in ran]
        out.sort(key=lambda r: (-r.progress.points, r.team.name))
        return out

    async def chart(self, challenge_id: int | None = None, *, title: str, lang: Lang = "en") -> bytes:
        from bot.scoreboard_chart import render_chart  # matplotlib loads when a chart is drawn

        return render_chart(await self.series(challenge_id), title=title, lang=lang)

    async def freeze(self, challenge_id: int, at: str | None, *, by: str) -> Freeze:
        """Freeze what everyone sees of the challenge at `at` (HH:MM in the class's time zone, or an ISO date and
        time; now if None), which must not be in the future."""
        self._catalog.get(challenge_id)
        now = self._clock()
        moment = now if at is None or not at.strip() else self._moment(at.strip(), now)
        if moment > now:
            shown = moment.astimezone(self._timezone).isoformat(timespec="minutes")
            raise FreezeRefused(Message("scoreboard.freeze_in_future", {"at": shown}))
        freeze = await self._store.scoreboard.freeze(challenge_id, moment, by=by)
        self._changes.changed()
        return freeze

    def clock_time(self, moment: datetime) -> str:
        """`moment` as the class's clock reads it (HH:MM)."""
        return moment.astimezone(self._timezone).strftime("%H:%M")

    def _moment(self, text: str, now: datetime) -> datetime:
        try:
            if len(text) <= 5 and ":" in text:
                clock_time = time.fromisoformat(text)
                day = now.astimezone(self._timezone).date()
                return datetime.combine(day, clock_time, tzinfo=self._timezone)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FreezeRefused(Message("scoreboard.freeze_bad_time", {"given": text})) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._timezone)

    async def unfreeze(self, challenge_id: int | None = None) -> list[int]:
        self._known(challenge_id)
        lifted = await self._store.scoreboard.unfreeze(challenge_id)
        self._changes.changed()
        return lifted


def _solve_minutes(best: Sequence[RunStanding]) -> dict[tuple[int, str], int]:
    return {
        (b.run.challenge_id, item): int((when - b.run.started_at).total_seconds() // 60)
        for b in best
        for item, when in b.solved.items()
    }
