"""Grading a build's items: who, when and why kept; an item's maximum enforced; undo by item or by id; the
rubric's points as checks and awards make them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.awards import AwardService, GradeRefused
from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.progress import Standing, rubric_progress
from bot.challenges.runs import RunService
from bot.errors import UnknownTeam
from bot.i18n import render
from bot.store import Store, StoreConflict
from tests.challenges.test_catalog_build import build_doc, write_build
from tests.challenges.test_runs import NAMESPACE
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster

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
        ("hpa-output", 1, "x", "item hpa-output is scored by the command output the team pastes, not by an instructor"),
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
