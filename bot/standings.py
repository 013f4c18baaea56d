"""Where each team stands at a moment, computed from a `ClassRecord` without reading the store again.

A run's points at a moment: an ended run's are its score (a build's, its checks met at the deadline); a run
under way scores the scenarios solved so far at the percent of the tier its elapsed time falls in
(`scoring.so_far`), so a solve counts the moment it is made. A build's (or lab's) graded items, proven evidence
items and (a lab's) ticked checkpoints add their points as they stand at that moment. Per challenge a team's
best run counts: most points, then most solves, then least time (from the run's start to its last solve).

The moment is now for instructors; for everyone else, a challenge's freeze if one is set before now: a solve,
hint, award or paste after it, and a run's end after it, are not part of what they see.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bot.challenges import scoring
from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.progress import awarded, evidenced, ticked
from bot.store import HintSource, Run, RunStatus, ScenarioStatus
from bot.store.scoreboard import ClassRecord

_SCORED = (RunStatus.finished, RunStatus.expired)


@dataclass(frozen=True)
class RunStanding:
    run: Run
    #: The moment it stands at (now, or its challenge's freeze).
    at: datetime
    #: Its status then: "active" for a run that ended after the moment.
    status: str
    points: int
    #: Of `points`, those of a build's rubric or a lab's checkpoints: its checks (once ended), its awards,
    #: evidence and ticks standing.
    rubric_points: int
    #: Item id → when it was first solved, up to the moment.
    solved: dict[str, datetime]
    #: Items not set up for this run.
    skipped: frozenset[str]
    #: Whether a verification had checked the run by the moment.
    checked: bool
    hints_used: int
    automatic_hints: int

    @property
    def time_seconds(self) -> int | None:
        """Seconds from the run's start to its last solve; None before its first."""
        if not self.solved:
            return None
        return int((max(self.solved.values()) - self.run.started_at).total_seconds())

    def order(self) -> tuple[int, int, float]:
        time = self.time_seconds
        return (-self.points, -len(self.solved), float("inf") if time is None else float(time))


@dataclass(frozen=True)
class Series:
    team: str
    #: (seconds since the team's first start, its ranking points then), one step per solve, and now.
    points: list[tuple[int, int]]


class _ByRun:
    """The record's rows per run."""

    def __init__(self, record: ClassRecord) -> None:
        self.states: dict[int, list[tuple[str, ScenarioStatus, datetime | None]]] = defaultdict(list)
        self.verified: dict[int, list[datetime]] = defaultdict(list)
        self.hints: dict[int, list[tuple[datetime, HintSource]]] = defaultdict(list)
        for state in record.states:
            self.states[state.run_id].append((state.scenario_id, state.status, state.first_solved_at))
        for run_id, at in record.verified:
            self.verified[run_id].append(at)
        for hint in record.hints:
            self.hints[hint.run_id].append((hint.posted_at, hint.source))


class Standings:
    """The record, indexed once, read at any moment per challenge."""

    def __init__(self, record: ClassRecord, catalog: Catalog, *, now: datetime, public: bool) -> None:
        self.record = record
        self.now = now
        self.public = public
        self._catalog = catalog
        self._by_run = _ByRun(record)

    def until(self, now: datetime) -> Standings:
        """The same record as it stood at an earlier `now` (indexed once, shared)."""
        earlier = copy.copy(self)
        earlier.now = now
        return earlier

    def challenge(self, challenge_id: int) -> Challenge | None:
        return self._catalog.challenges.get(challenge_id)

    def moment(self, challenge_id: int) -> datetime:
        """Now, or the challenge's freeze for a public view once it is past."""
        freeze = self.record.freezes.get(challenge_id)
        if self.public and freeze is not None and freeze.at < self.now:
            return freeze.at
        return self.now

    def frozen_at(self, challenge_id: int | None) -> datetime | None:
        """The freeze a public view of the challenge (of any, for None) shows the class as of."""
        if not self.public:
            return None
        ids = [challenge_id] if challenge_id is not None else list(self.record.freezes)
        moments = [self.moment(cid) for cid in ids if cid in self.record.freezes]
        return min((m for m in moments if m < self.now), default=None)

    def runs(self, team_id: int, challenge_id: int | None = None) -> list[RunStanding]:
        """The team's runs as they stood at their challenge's moment (runs not started by then left out)."""
        out = []
        for run in self.record.runs:
            if run.team_id != team_id or challenge_id not in (None, run.challenge_id):
                continue
            at = self.moment(run.challenge_id)
            if run.started_at <= at:
                out.append(self._run(run, at))
        return out

    def best(self, team_id: int, challenge_id: int | None = None) -> list[RunStanding]:
        """The team's best run of each challenge it ran (of `challenge_id` alone if given)."""
        per_challenge: dict[int, list[RunStanding]] = defaultdict(list)
        for standing in self.runs(team_id, challenge_id):
            per_challenge[standing.run.challenge_id].append(standing)
        return [min(standings, key=RunStanding.order) for _, standings in sorted(per_challenge.items())]

    def _run(self, run: Run, at: datetime) -> RunStanding:
        states = self._by_run.states.get(run.id, [])
        solved = {item: when for item, _, when in states if when is not None and when <= at}
        skipped = frozenset(item for item, status, _ in states if status == ScenarioStatus.skipped)
        ended = run.status != RunStatus.active and run.finished_at is not None and run.finished_at <= at
        status = str(run.status) if ended else str(RunStatus.active)
        challenge = self.challenge(run.challenge_id)
        rubric = 0
        if ended:
            points = run.points or 0 if run.status in _SCORED else 0
            if challenge is not None and challenge.scored_by_items:
                rubric = points
        elif challenge is None or challenge.scored_by_items:
            # a build's or lab's checks count at its deadline; a challenge the catalogue dropped, as it ended
            points = 0
        else:
            elapsed = min(at, run.deadline) - run.started_at
            points = scoring.so_far(scoring.plan_of(challenge, run), set(solved), elapsed).points
        if challenge is not None and challenge.rubric:  # a break-fix challenge's: its graded bonus items
            extra = self._rubric_extra(run, challenge, at)
            points += extra
            rubric += extra
        hints = [source for when, source in self._by_run.hints.get(run.id, []) if when <= at]
        return RunStanding(
            run=run,
            at=at,
            status=status,
            points=points,
            rubric_points=rubric,
            solved=solved,
            skipped=skipped,
            checked=any(when <= at for when in self._by_run.verified.get(run.id, [])),
            hints_used=sum(1 for source in hints if source != HintSource.auto),
            automatic_hints=sum(1 for source in hints if source == HintSource.auto),
        )

    def _rubric_extra(self, run: Run, challenge: Challenge, at: datetime) -> int:
        """A challenge's awards standing (a build's, a lab's or a break-fix challenge's bonus items), evidence proven
        and (a lab's) checkpoints ticked at `at`: the team's, on any run of the challenge."""
        awards = [
            a
            for a in self.record.awards
            if a.team_id == run.team_id
            and a.challenge_id == challenge.id
            and a.awarded_at <= at
            and (a.undone_at is None or a.undone_at > at)
        ]
        pastes = [
            e
            for e in self.record.evidence
            if e.team_id == run.team_id and e.challenge_id == challenge.id and e.submitted_at <= at
        ]
        ticks = [t for t in self.record.ticks if t.team_id == run.team_id and t.ticked_at <= at]
        return (
            sum(awarded(a.model_copy(update={"undone_at": None}) for a in awards).values())
            + sum(evidenced(challenge, pastes).values())
            + sum(ticked(challenge, ticks).values())
        )

    def first_solves(self, challenge_id: int) -> dict[str, int]:
        """Per item of the challenge, the team that solved it first by the moment (🩸)."""
        at = self.moment(challenge_id)
        first: dict[str, tuple[datetime, int]] = {}
        runs = {r.id: r for r in self.record.runs if r.challenge_id == challenge_id}
        for run_id, run in runs.items():
            for item, _, when in self._by_run.states.get(run_id, []):
                if when is not None and when <= at and (item not in first or when < first[item][0]):
                    first[item] = (when, run.team_id)
        return {item: team_id for item, (_, team_id) in first.items()}
