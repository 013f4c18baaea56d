"""Points and tiers, from the course's evaluation matrix.

A run that ends with every scenario passing scores all its points times the percent of the tier its
time falls in (course default: within 50/70/90 minutes → 100/80/60 %). A run still unsolved at its
deadline keeps the points of the scenarios it did solve, at the last tier's percent: those were
solved within the time limit, which the matrix rates as its lowest tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.challenges.catalog import Challenge


@dataclass(frozen=True)
class Score:
    elapsed: timedelta
    tier_percent: int
    points: int


def finished(challenge: Challenge, scenario_ids: set[str], elapsed: timedelta) -> Score:
    percent = challenge.tier_for(elapsed)
    return Score(elapsed=elapsed, tier_percent=percent, points=_points(challenge, scenario_ids, percent))


def expired(challenge: Challenge, solved_ids: set[str], elapsed: timedelta) -> Score:
    percent = challenge.spec.tiers[-1].percent if solved_ids else 0
    return Score(elapsed=elapsed, tier_percent=percent, points=_points(challenge, solved_ids, percent))


def _points(challenge: Challenge, scenario_ids: set[str], percent: int) -> int:
    total = sum(s.spec.points for s in challenge.scenarios if s.id in scenario_ids)
    # Round half up, in integers: 25 points at 70 % is 17.5 → 18.
    return (total * percent * 2 + 100) // 200
