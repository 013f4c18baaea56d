"""Where a team stands on a build's rubric: each criterion met, not met or still open, and the points so far.

A criterion proven by checks counts as its checks stood at the run's latest verification (at the deadline,
the final one); a graded one counts the awards still standing for it; an evidence one counts nothing until
its parser reads the team's output. The points are the required criteria's and the bonus ones' apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.challenges.catalog import Challenge
from bot.challenges.rubric import Criterion
from bot.store import Award


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

    def item(self, criterion_id: str) -> ItemProgress:
        return next(i for i in self.items if i.criterion.id == criterion_id)


def awarded(awards: Iterable[Award]) -> dict[str, int]:
    """Points per item of the awards still standing."""
    points: dict[str, int] = {}
    for award in awards:
        if award.undone_at is None:
            points[award.item] = points.get(award.item, 0) + award.points
    return points


def rubric_progress(
    challenge: Challenge, results: Sequence[Mapping[str, Any]] | None, awards: Iterable[Award]
) -> RubricProgress:
    """`results`: the latest verification's, as stored (None: no verification yet); `awards`: the team's
    awards for this challenge."""
    passed = {r.get("scenario"): r.get("status") for r in results or ()}
    given = awarded(a for a in awards if a.challenge_id == challenge.id)
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
