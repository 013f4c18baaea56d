"""The plan a run is scored against: skipped scenarios leave the points and shrink the time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from bot.challenges import scoring
from bot.challenges.catalog import load_catalog
from tests.challenges.test_catalog import DEPLOYMENT, challenge_doc, write_tree
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


def test_a_shrunk_deadline_never_comes_before_the_automatic_verification(tmp_path: Path) -> None:
    doc = challenge_doc()
    small, big = dict(doc["scenarios"][0]), dict(doc["scenarios"][0])
    small.update(id="small", time_box="5m")
    big.update(id="big", time_box="85m", scope="cluster", manifests="big/manifests", solution="big/solution")
    big["breaks"] = [{"taint_node": {"label": {"pool": "big"}, "key": "big"}}]
    doc["scenarios"] = [small, big]
    write_tree(tmp_path, doc)
    for part in ("manifests", "solution"):
        folder = tmp_path / "practice" / "big" / part
        folder.mkdir(parents=True)
        (folder / "big.yaml").write_text(yaml.safe_dump({**DEPLOYMENT, "metadata": {"name": "big"}}), encoding="utf-8")
    challenge = load_catalog(tmp_path).get(7)
    plan = scoring.plan(challenge, skipped={"big"})
    # 90 × 5/90 = 5 minutes would end the run before its 20-minute verification and first hints.
    assert minutes(plan.time_limit) == 20
    assert [minutes(t.within) for t in plan.tiers] == [3, 4, 5]
