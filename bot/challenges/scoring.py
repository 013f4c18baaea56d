"""Points and tiers, from the course's evaluation matrix.

A run that ends with every scenario passing scores all its points times the percent of the tier its
time falls in (course default: within 50/70/90 minutes → 100/80/60 %). A run still unsolved at its
deadline keeps the points of the scenarios it did solve, at the last tier's percent: those were
solved within the time limit, which the matrix rates as its lowest tier.

A run that skips scenarios (cluster-scope ones, which the bot cannot build in a team's namespace) is
scored against what it runs: the skipped scenarios' points leave the total, and the time limit and
every tier shrink to the share of the time boxes the run keeps (CloudMart without its 25-minute
control-plane scenario keeps 65 of 90 minutes: tiers 37/51/65 minutes, deadline 65 minutes).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from bot.challenges.catalog import Challenge, Tier
from bot.store import Run


@dataclass(frozen=True)
class Score:
    elapsed: timedelta
    tier_percent: int
    points: int


@dataclass(frozen=True)
class Plan:
    """What one run is scored against: the points of the scenarios it runs, its time limit and tiers."""

    points: dict[str, int]
    time_limit: timedelta
    tiers: tuple[Tier, ...]

    @property
    def total_points(self) -> int:
        return sum(self.points.values())

    def tier_for(self, elapsed: timedelta) -> int:
        """The percent of the first tier the elapsed time falls within; 0 past the last one."""
        for tier in self.tiers:
            if elapsed <= tier.within:
                return tier.percent
        return 0


def plan(challenge: Challenge, skipped: Collection[str] = ()) -> Plan:
    """The plan of a run of `challenge` that skips the scenarios `skipped`. A build's is its time limit and the
    points of its required criteria (what its rubric is out of; its bonus criteria add to them)."""
    if challenge.scored_by_items:
        required = {c.id: c.points for c in challenge.rubric if not c.spec.bonus}
        return Plan(points=required, time_limit=challenge.spec.time_limit, tiers=tuple(challenge.spec.tiers))
    kept = [s for s in challenge.scenarios if s.id not in skipped]
    all_boxes = sum((s.spec.time_box for s in challenge.scenarios), timedelta())
    kept_boxes = sum((s.spec.time_box for s in kept), timedelta())
    share = kept_boxes / all_boxes if all_boxes else 1.0
    return Plan(
        points={s.id: s.spec.points for s in kept},
        time_limit=max(_shrink(challenge.spec.time_limit, share), challenge.spec.hints_after),
        tiers=tuple(Tier(within=_shrink(t.within, share), percent=t.percent) for t in challenge.spec.tiers),
    )


def plan_of(challenge: Challenge, run: Run) -> Plan:
    """The plan a run was started with (its skipped scenarios are in its notes)."""
    return plan(challenge, skipped=(run.notes or {}).get("skipped", {}))


def _shrink(duration: timedelta, share: float) -> timedelta:
    # Whole minutes, rounded up: a shrunk tier never asks for more speed than the share says.
    if share >= 1:
        return duration
    return timedelta(minutes=math.ceil(round(duration.total_seconds() * share / 60, 6)))


def finished(plan_: Plan, scenario_ids: set[str], elapsed: timedelta) -> Score:
    percent = plan_.tier_for(elapsed)
    return Score(elapsed=elapsed, tier_percent=percent, points=_points(plan_, scenario_ids, percent))


def expired(plan_: Plan, solved_ids: set[str], elapsed: timedelta) -> Score:
    percent = plan_.tiers[-1].percent if solved_ids else 0
    return Score(elapsed=elapsed, tier_percent=percent, points=_points(plan_, solved_ids, percent))


def so_far(plan_: Plan, solved_ids: set[str], elapsed: timedelta) -> Score:
    """A run under way, scored as it stands: the points of the scenarios solved so far at the percent of the
    tier its elapsed time falls in; past the last tier, the last one's (what it would keep at its deadline)."""
    percent = (plan_.tier_for(elapsed) or plan_.tiers[-1].percent) if solved_ids else 0
    return Score(elapsed=elapsed, tier_percent=percent, points=_points(plan_, solved_ids, percent))


def _points(plan_: Plan, scenario_ids: set[str], percent: int) -> int:
    total = sum(points for scenario_id, points in plan_.points.items() if scenario_id in scenario_ids)
    # Round half up, in integers: 25 points at 70 % is 17.5 → 18.
    return (total * percent * 2 + 100) // 200
