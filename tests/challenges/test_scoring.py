"""The plan a run is scored against: skipped scenarios leave the points and shrink the time."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges import scoring
from tests.scenarios.test_catalogue_behaviour import CATALOG


def minutes(value: timedelta) -> float:
    return value.total_seconds() / 60


def test_a_run_of_every_scenario_keeps_the_course_matrix() -> None:
    plan = scoring.plan(CATALOG.get(2))
    assert plan.total_points == 100
    assert minutes(plan.time_limit) == 90
    assert [(minutes(t.within), t.percent) for t in plan.tiers] == [(50, 100), (70, 80), (90, 60)]


def test_skipped_scenarios_leave_the_points_and_their_share_of_the_time() -> None:
    # CloudMart: time boxes 25 + 25 + 20 + 20 = 90 min; without the 25-minute control plane, 65/90.
    plan = scoring.plan(CATALOG.get(1), skipped={"control-plane"})
    assert plan.points == {"networking": 25, "storage": 25, "order-service": 25}
    assert minutes(plan.time_limit) == 65
    # 50 × 65/90 = 36.1 and 70 × 65/90 = 50.6 round up to whole minutes.
    assert [(minutes(t.within), t.percent) for t in plan.tiers] == [(37, 100), (51, 80), (65, 60)]


def test_points_round_half_up_and_count_only_what_the_plan_holds() -> None:
    plan = scoring.plan(CATALOG.get(1), skipped={"control-plane"})
    finished = scoring.finished(plan, {"networking", "storage", "order-service"}, timedelta(minutes=40))
    assert (finished.tier_percent, finished.points) == (80, 60)
    expired = scoring.expired(plan, {"networking"}, timedelta(minutes=65))
    assert (expired.tier_percent, expired.points) == (60, 15)
    assert scoring.expired(plan, set(), timedelta(minutes=65)).points == 0
