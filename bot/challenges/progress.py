"""Where a team stands on a build's rubric: each criterion met, not met or still open, and the points so far.

A criterion proven by checks counts as its checks stood at the run's latest verification (at the deadline,
the final one); a graded one counts the awards still standing for it; an evidence one counts nothing until
a paste of the team's output passed its parser, then all its points; a lab's self-ticked checkpoint counts all
its points once a member of the team ticked it. The points are the required items' and the bonus ones' apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.rubric import Criterion
from bot.errors import MessageError, NoActiveRun
from bot.i18n import Message
from bot.store import Award, Evidence, Run, Store, Team, Tick, Verification


class Standing(StrEnum):
    MET = "met"  # its checks passed, or an instructor awarded it points
    UNMET = "unmet"  # its checks failed at the latest verification
    OPEN = "open"  # not verified yet, could not be checked, or not graded yet


@dataclass(frozen=True)
class ItemProgress:
    criterion: Criterion
    standing: Standing
    points: int


@dataclass(frozen=True)
class RubricProgress:
    items: tuple[ItemProgress, ...]

    @property
    def required_points(self) -> int:
        return sum(i.points for i in self.items if not i.criterion.spec.bonus)

    @property
    def bonus_points(self) -> int:
        return sum(i.points for i in self.items if i.criterion.spec.bonus)

    @property
    def points(self) -> int:
        return self.required_points + self.bonus_points

    @property
    def met(self) -> int:
        """How many items are met (a lab's checkpoints reached)."""
        return sum(1 for i in self.items if i.standing is Standing.MET)

    def item(self, criterion_id: str) -> ItemProgress:
        return next(i for i in self.items if i.criterion.id == criterion_id)


def awarded(awards: Iterable[Award]) -> dict[str, int]:
    """Points per item of the awards still standing."""
    points: dict[str, int] = {}
    for award in awards:
        if award.undone_at is None:
            points[award.item] = points.get(award.item, 0) + award.points
    return points


def evidenced(challenge: Challenge, pastes: Iterable[Evidence]) -> dict[str, int]:
    """Points per evidence item of the challenge a passing paste proved: the criterion's points, once."""
    proven = {p.item for p in pastes if p.challenge_id == challenge.id}
    return {c.id: c.points for c in challenge.rubric if c.spec.proof == "evidence" and c.id in proven}


def ticked(challenge: Challenge, ticks: Iterable[Tick]) -> dict[str, int]:
    """Points per self-ticked checkpoint of the challenge the team ticked: the checkpoint's points, once."""
    done = {t.item for t in ticks if t.challenge_id == challenge.id}
    return {c.id: c.points for c in challenge.rubric if c.spec.proof == "self" and c.id in done}


def rubric_items(catalog: Catalog, item: str) -> list[tuple[Challenge, Criterion]]:
    """The challenges' criteria `item` names: a criterion's id (`report`), or `<challenge>/<id>` (`4/report`)
    where two challenges have a criterion of that id."""
    challenge_part, _, criterion_id = item.strip().rpartition("/")
    return [
        (challenge, criterion)
        for challenge in catalog
        if challenge_part in ("", str(challenge.id))
        for criterion in challenge.rubric
        if criterion.id == criterion_id
    ]


def proven_item(
    catalog: Catalog, item: str, *, proof: str, messages: str, refused: type[MessageError]
) -> tuple[Challenge, Criterion]:
    """The one criterion `item` names (see `rubric_items`) that is proven by `proof`; else `refused` with the
    message `<messages>.unknown_item` (listing those there are), `.ambiguous_item` or `.not_<proof>.<its proof>`."""
    candidates = rubric_items(catalog, item)
    if not candidates:
        known = ", ".join(f"{c.id}/{r.id}" for c in catalog for r in c.rubric if r.spec.proof == proof) or "-"
        raise refused(Message(f"{messages}.unknown_item", {"item": item, "known": known}))
    if len(candidates) > 1:
        options = ", ".join(f"{c.id}/{r.id}" for c, r in candidates)
        raise refused(Message(f"{messages}.ambiguous_item", {"item": item, "options": options}))
    challenge, criterion = candidates[0]
    if criterion.spec.proof != proof:
        raise refused(Message(f"{messages}.not_{proof}.{criterion.spec.proof}", {"item": criterion.id}))
    return challenge, criterion


def rubric_progress(
    challenge: Challenge,
    results: Sequence[Mapping[str, Any]] | None,
    awards: Iterable[Award],
    pastes: Iterable[Evidence] = (),
    ticks: Iterable[Tick] = (),
) -> RubricProgress:
    """`results`: the latest verification's, as stored (None: no verification yet); `awards`, `pastes` and
    `ticks`: the team's awards, passing evidence and ticks for this challenge."""
    passed = {r.get("scenario"): r.get("status") for r in results or ()}
    given = (
        awarded(a for a in awards if a.challenge_id == challenge.id)
        | evidenced(challenge, pastes)
        | ticked(challenge, ticks)
    )
    items: list[ItemProgress] = []
    for criterion in challenge.rubric:
        proof = criterion.spec.proof
        if proof == "checks":
            status = passed.get(criterion.id)
            standing = {"pass": Standing.MET, "fail": Standing.UNMET}.get(str(status), Standing.OPEN)
            points = criterion.points if standing is Standing.MET else 0
        elif criterion.id in given:
            standing, points = Standing.MET, given[criterion.id]
        else:
            standing, points = Standing.OPEN, 0
        items.append(ItemProgress(criterion=criterion, standing=standing, points=points))
    return RubricProgress(items=tuple(items))


class NotABuild(MessageError):
    """Rubric progress asked of a challenge that has no rubric."""


@dataclass(frozen=True)
class TeamProgress:
    team: Team
    challenge: Challenge
    run: Run
    #: The verification the checks are read from (None: none yet).
    verification: Verification | None
    progress: RubricProgress


class ProgressReader:
    """A team's standing on a build's rubric or a lab's checkpoints, read from the store: its run's latest
    verification, its awards, evidence and ticks."""

    def __init__(self, *, store: Store, catalog: Catalog) -> None:
        self._store = store
        self._catalog = catalog

    async def of_team(self, team: Team, challenge_id: int | None = None) -> TeamProgress:
        """Of the team's active run of the challenge (any active build, without one); else of its latest run
        of the challenge (or of any build): a build that ended still shows where it ended."""
        if challenge_id is not None and not self._catalog.get(challenge_id).scored_by_items:
            raise NotABuild(Message("scoreboard.not_a_build", {"challenge": challenge_id}))
        runs = [
            r
            for r in await self._store.runs.of_team(team.id)
            if challenge_id in (None, r.challenge_id) and self._is_build(r.challenge_id)
        ]
        if not runs:
            raise NoActiveRun(team.name, challenge_id)
        run = max(runs, key=lambda r: (r.status == "active", r.started_at, r.id))
        return await self.of_run(team, run)

    async def of_run(self, team: Team, run: Run) -> TeamProgress:
        challenge = self._catalog.get(run.challenge_id)
        verification = await self._store.runs.latest_verification(run.id)
        awards = await self._store.awards.of_team(team.id, challenge.id)
        pastes = await self._store.evidence.of_team(team.id, challenge.id)
        ticks = await self._store.ticks.of_team(team.id, challenge.id)
        progress = rubric_progress(challenge, verification.results if verification else None, awards, pastes, ticks)
        return TeamProgress(team, challenge, run, verification, progress)

    def _is_build(self, challenge_id: int) -> bool:
        challenge = self._catalog.challenges.get(challenge_id)
        return challenge is not None and challenge.scored_by_items
