"""Grading a build's items: who, when and why kept; an item's maximum enforced; undo by item or by id; the
rubric's points as checks and awards make them."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.awards import AwardService, GradeRefused
from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.progress import NotABuild, Standing, rubric_progress
from bot.challenges.reports import Trigger
from bot.challenges.runs import RunService
from bot.errors import UnknownTeam
from bot.i18n import render
from bot.scoreboard import Scoreboard
from bot.store import Store, StoreConflict
from tests.challenges.test_catalog_build import build_doc, write_build
from tests.challenges.test_runs import NAMESPACE
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)  # every award at its own moment
        return self.now


@dataclass
class Class:
    awards: AwardService
    runs: RunService
    store: Store
    catalog: Catalog


@pytest.fixture
async def world(kube_cluster: KubeCluster, store: Store, tmp_path: Path) -> AsyncIterator[Class]:
    write_build(tmp_path, build_doc())
    catalog = load_catalog(tmp_path)
    cluster = bot_cluster(kube_cluster)
    clock = Clock()
    await store.teams.create("blue", NAMESPACE)
    await store.teams.create("red", "kubecamp-red")
    try:
        yield Class(
            AwardService(store=store, catalog=catalog, clock=clock),
            RunService(catalog=catalog, store=store, cluster=cluster, clock=clock),
            store,
            catalog,
        )
    finally:
        await cluster.close()


def said(error: BaseException) -> str:
    message = getattr(error, "reason", None) or getattr(error, "message")  # noqa: B009 - either attribute
    return render(message, "en")


async def test_an_award_keeps_who_when_why_and_counts_toward_the_rubric(world: Class) -> None:
    run = (await world.runs.start("blue", 7)).run
    graded = await world.awards.grade("blue", "report", 3, "  clear analysis, no screenshots  ", by="1234")
    award = graded.award
    assert (award.item, award.points, award.reason, award.awarded_by, award.run_id) == (
        "report",
        3,
        "clear analysis, no screenshots",
        "1234",
        run.id,
    )
    assert award.awarded_at > T0 and award.undone_at is None
    assert graded.total == 3
    progress = rubric_progress(world.catalog.get(7), None, await world.awards.awards("blue", 7))
    assert progress.item("report").standing is Standing.MET and progress.item("report").points == 3
    assert progress.item("web").standing is Standing.OPEN  # never verified yet
    assert progress.points == 3


async def test_an_items_maximum_is_enforced_and_the_refusal_changes_nothing(world: Class) -> None:
    await world.runs.start("blue", 7)
    await world.awards.grade("blue", "report", 4, "good", by="1")
    with pytest.raises(StoreConflict) as refused:
        await world.awards.grade("blue", "7/report", 2, "more", by="1")
    assert said(refused.value) == (
        "item report is worth at most 5 points and 4 have been awarded; 2 more would pass it, at most 1 can be given"
    )
    assert [a.points for a in await world.awards.awards("blue")] == [4]
    assert (await world.awards.grade("blue", "report", 1, "the last point", by="1")).total == 5


async def test_undo_takes_back_the_latest_award_of_an_item_or_one_by_id(world: Class) -> None:
    await world.runs.start("blue", 7)
    first = (await world.awards.grade("blue", "report", 2, "first look", by="1")).award
    second = (await world.awards.grade("blue", "report", 3, "second look", by="1")).award
    undone = await world.awards.undo("blue", item="report", by="2")
    assert undone.award.id == second.id and undone.award.undone_by == "2" and undone.total == 2
    # Undone awards stay, marked; what they freed can be awarded again.
    assert [a.undone_at is None for a in await world.awards.awards("blue")] == [True, False]
    by_id = await world.awards.undo("blue", award_id=first.id, by="2")
    assert by_id.award.id == first.id and by_id.total == 0
    with pytest.raises(StoreConflict) as nothing:
        await world.awards.undo("blue", item="report", by="2")
    assert said(nothing.value) == "item report has no award to undo"
    with pytest.raises(StoreConflict):
        await world.awards.undo("blue", award_id=first.id, by="2")  # already undone


async def test_another_teams_award_cannot_be_undone_by_its_id(world: Class) -> None:
    await world.runs.start("blue", 7)
    award = (await world.awards.grade("blue", "report", 2, "ok", by="1")).award
    await world.runs.start("red", 7)
    with pytest.raises(StoreConflict) as refused:
        await world.awards.undo("red", award_id=award.id, by="2")
    assert said(refused.value) == f"this team has no award #{award.id} to undo"
    assert (await world.awards.awards("blue"))[0].undone_at is None


@pytest.mark.parametrize(
    ("item", "points", "reason", "problem"),
    [
        ("nothing", 1, "x", "no such item to grade: nothing. Items graded by an instructor: 7/report"),
        ("web", 1, "x", "item web is scored by verifying the cluster, not by an instructor"),
        ("swarm-scaled", 1, "x", "item swarm-scaled is scored by the command output the team pastes, not by"),
        ("8/report", 1, "x", "no such item to grade: 8/report"),
    ],
)
async def test_an_item_that_cannot_be_graded_is_refused(
    world: Class, item: str, points: int, reason: str, problem: str
) -> None:
    await world.runs.start("blue", 7)
    with pytest.raises(GradeRefused) as refused:
        await world.awards.grade("blue", item, points, reason, by="1")
    assert said(refused.value).startswith(problem)
    assert await world.awards.awards("blue") == []


async def test_bad_points_reasons_teams_and_a_team_that_never_ran_are_refused(world: Class) -> None:
    with pytest.raises(StoreConflict) as never:
        await world.awards.grade("blue", "report", 1, "x", by="1")
    assert said(never.value) == "this team has never run challenge 7, so it cannot be graded on it"
    await world.runs.start("blue", 7)
    with pytest.raises(ValueError, match="negative"):
        await world.awards.grade("blue", "report", -1, "x", by="1")
    with pytest.raises(ValueError, match="empty"):
        await world.awards.grade("blue", "report", 1, "   ", by="1")
    with pytest.raises(UnknownTeam):
        await world.awards.grade("green", "report", 1, "x", by="1")
    assert await world.awards.awards("blue") == []


async def test_the_scoreboard_adds_a_builds_rubric_and_shows_instructors_each_item(
    world: Class, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    write_build(tmp_path / "with-reference", build_doc())
    reference = load_catalog(tmp_path / "with-reference", solutions=True).get(7).reference
    assert reference is not None
    board = Scoreboard(store=world.store, catalog=world.catalog)
    run = (await world.runs.start("blue", 7)).run
    await world.runs.start("red", 7)
    cluster = bot_cluster(kube_cluster)
    try:
        for manifest in reference["streaming"]:
            await cluster.apply(f"{NAMESPACE}-streaming", manifest.body)
    finally:
        await cluster.close()
    kube_cluster.advance(60)
    await world.runs.verify("blue")
    await world.runs.verify("red")
    await world.awards.grade("blue", "report", 4, "good report", by="1")

    detail = {r.team.name: r.progress for r in await board.rubric(7)}
    assert [(i.criterion.id, i.standing, i.points) for i in detail["blue"].items] == [
        ("web", Standing.MET, 10),
        ("report", Standing.MET, 4),
        ("swarm-scaled", Standing.OPEN, 0),
    ]
    assert [i.standing for i in detail["red"].items] == [Standing.UNMET, Standing.OPEN, Standing.OPEN]
    # Under way, only the awards count; the checks count once the deadline's verification has scored them.
    assert {r.team: (r.points, r.rubric_points) for r in await board.ranking(7)} == {"blue": (4, 4), "red": (0, 0)}
    team = await world.runs.team("blue")
    await world.runs.verify_run(run, team=team, trigger=Trigger.FINAL)
    rows = await board.ranking(7)
    assert [(r.rank, r.team, r.points, r.rubric_points) for r in rows] == [(1, "blue", 14, 14), (2, "red", 0, 0)]
    exported = next(csv.DictReader((await board.csv(7)).decode("utf-8-sig").splitlines()))
    assert (exported["team"], exported["rubric_points"], exported["web"]) == ("blue", "14", "0")
    with pytest.raises(NotABuild):
        await Scoreboard(store=world.store, catalog=CATALOG).rubric(2)


async def test_challenge_1s_bonus_tasks_are_graded_and_added_to_its_scenarios(
    kube_cluster: KubeCluster, store: Store
) -> None:
    """The seed's 도전 과제: +20 advanced features, +10 creative solutions, graded by an instructor; the
    scenarios keep their points and tiers, the awards add to them on the scoreboard."""
    challenge = CATALOG.get(1)
    assert [(c.id, c.points, c.spec.bonus, c.spec.proof) for c in challenge.rubric] == [
        ("advanced-features", 20, True, "graded"),
        ("creative-solutions", 10, True, "graded"),
    ]
    assert not challenge.is_build and challenge.checked == challenge.scenarios
    assert challenge.total_points == sum(s.spec.points for s in challenge.scenarios)
    cluster = bot_cluster(kube_cluster)
    clock = Clock()
    awards = AwardService(store=store, catalog=CATALOG, clock=clock)
    runs = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock)
    board = Scoreboard(store=store, catalog=CATALOG)
    try:
        await store.teams.create("blue", NAMESPACE)
        await runs.start("blue", 1)
        with pytest.raises(GradeRefused) as ambiguous:  # the final project (52) has items of these names too
            await awards.grade("blue", "advanced-features", 15, "canary release at 10 %", by="1")
        assert said(ambiguous.value).endswith("1/advanced-features, 52/advanced-features")
        given = await awards.grade("blue", "1/advanced-features", 15, "canary release at 10 %", by="1")
        assert (given.challenge.id, given.total) == (1, 15)
        with pytest.raises(StoreConflict) as over:
            await awards.grade("blue", "1/advanced-features", 6, "and Jaeger", by="1")
        assert "at most 5 can be given" in said(over.value)
        await awards.grade("blue", "1/creative-solutions", 10, "a GitOps pipeline", by="1")
        [row] = await board.ranking(1)
        assert (row.points, row.rubric_points) == (25, 25)  # the run is under way: its scenarios score at its end
        await awards.undo("blue", item="1/creative-solutions", by="1")
        [row] = await board.ranking()
        assert (row.points, row.rubric_points) == (15, 15)
    finally:
        await cluster.close()
