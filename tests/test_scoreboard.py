"""The live ranking, its CSV, its chart and the freeze, over a real store, the emulated cluster and RunService."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.scoreboard import FreezeRefused, Row
from bot.scoreboard_chart import chart_figure, hangul_font, render_chart
from bot.store import Store
from tests.classroom import T0, Classroom, classroom
from tests.emulators.kube import KubeCluster


@pytest.fixture
async def room(kube_cluster: KubeCluster, store: Store) -> AsyncIterator[Classroom]:
    async with classroom(kube_cluster, store) as room:
        for team in ("blue", "red", "gray"):
            await room.team(team)
        yield room


def table(rows: list[Row]) -> list[tuple[int, str, int, int, bool]]:
    return [(r.rank, r.team, r.points, r.solves, r.placed) for r in rows]


async def test_solves_under_way_rank_at_the_tier_their_elapsed_time_gives(room: Classroom) -> None:
    await room.runs.start("blue", 2)
    await room.runs.start("red", 2)
    await room.solve("blue", "image-pull", minute=10)
    # Nothing solved is no medal, and two such teams tie.
    assert table(await room.board.ranking(2)) == [
        (1, "blue", 25, 1, True),
        (2, "gray", 0, 0, False),
        (2, "red", 0, 0, False),
    ]
    room.clock.at(55)  # past the 50-minute tier: the same solve is worth 80 %
    (blue, *_) = await room.board.ranking(2)
    assert (blue.points, blue.elapsed_seconds, blue.status) == (20, 600, "active")


async def test_more_points_then_more_solves_then_less_time(room: Classroom) -> None:
    await room.team("green")
    for team in ("blue", "red", "green"):
        await room.runs.start(team, 2)
    await room.solve("blue", "image-pull", minute=10)
    await room.solve("red", "image-pull", minute=10)
    assert [(r.rank, r.team) for r in await room.board.ranking(2)][:2] == [(1, "blue"), (1, "red")]
    await room.solve("green", "image-pull", minute=12)
    await room.solve("red", "unschedulable", minute=20)
    rows = await room.board.ranking(2)
    assert table(rows)[:3] == [(1, "red", 50, 2, True), (2, "blue", 25, 1, True), (3, "green", 25, 1, True)]
    assert [r.elapsed_seconds for r in rows[:3]] == [1200, 600, 720]


async def test_an_expired_team_does_not_outrank_an_active_one_that_solved_more(room: Classroom) -> None:
    room.clock.at(-30)  # red starts half an hour before blue
    await room.runs.start("red", 2)
    room.clock.at(0)
    await room.runs.start("blue", 2)
    await room.solve("red", "image-pull", minute=5)
    await room.solve("blue", "image-pull", "unschedulable", minute=40)
    room.clock.at(60)  # red's deadline: the verification then expires it at 60 %; blue is at 80 % by now
    report = await room.runs.verify("red")
    assert report.ended is not None and report.ended.status == "expired"
    rows = await room.board.ranking(2)
    assert [(r.team, r.points, r.status) for r in rows[:2]] == [("blue", 40, "active"), ("red", 15, "expired")]


async def test_a_freeze_stops_what_everyone_sees_and_not_what_instructors_see(room: Classroom) -> None:
    await room.runs.start("blue", 2)
    await room.solve("blue", "image-pull", minute=10)
    room.clock.at(20)
    with pytest.raises(FreezeRefused) as future:
        await room.board.freeze(2, "2026-11-23T18:30:00+09:00", by="Kim")  # 09:30 UTC, ten minutes ahead
    assert future.value.message.key == "scoreboard.freeze_in_future"
    with pytest.raises(FreezeRefused) as garbled:
        await room.board.freeze(2, "half past", by="Kim")
    assert garbled.value.message.params == {"given": "half past"}
    assert await room.store.scoreboard.freezes() == {}
    frozen = await room.board.freeze(2, "18:15", by="Kim")  # the class's clock: 09:15 UTC
    assert frozen.at == T0 + timedelta(minutes=15)
    await room.solve("blue", "unschedulable", minute=30)
    public = await room.board.ranking(2)
    assert (public[0].points, public[0].solves) == (25, 1)
    assert await room.board.shown(2) == (public, T0 + timedelta(minutes=15))
    live = await room.board.ranking(2, public=False)
    assert (live[0].points, live[0].solves) == (50, 2)
    assert next(csv.DictReader(io.StringIO((await room.board.csv(2)).decode("utf-8-sig"))))["unschedulable"] == "30"
    assert [s.points[-1][1] for s in await room.board.series(2) if s.team == "blue"] == [25]
    assert await room.board.unfreeze() == [2]
    assert (await room.board.ranking(2))[0].points == 50
    assert (await room.board.shown(2))[1] is None


async def test_the_csv_has_each_scenarios_solve_minute_and_the_hand_ins(room: Classroom) -> None:
    await room.runs.start("blue", 2)
    await room.solve("blue", "image-pull", minute=10)
    await room.solve("blue", "rolling-update", minute=23.5)
    team = await room.store.teams.get("blue")
    assert team is not None
    await room.store.submissions.add(team.id, 2, answers={"cause": "a typo in the tag"}, submitted_at=room.clock())
    rows = list(csv.DictReader(io.StringIO((await room.board.csv(2)).decode("utf-8-sig"))))
    assert list(rows[0])[:10] == [
        "rank", "team", "points", "elapsed_seconds", "finished_at", "hints_used", "runs", "status",
        "automatic_hints", "rubric_points",
    ]  # fmt: skip
    blue = rows[0]
    assert (blue["team"], blue["solves"], blue["submissions"]) == ("blue", "2", "1")
    assert {s: blue[s] for s in ("image-pull", "unschedulable", "rolling-update", "node-affinity")} == {
        "image-pull": "10",
        "unschedulable": "",
        "rolling-update": "23",
        "node-affinity": "",
    }
    everything = list(csv.DictReader(io.StringIO((await room.board.csv()).decode("utf-8-sig"))))
    assert everything[0]["2/image-pull"] == "10"


async def test_the_chart_follows_the_rankings_points_over_elapsed_time(room: Classroom) -> None:
    await room.runs.start("blue", 2)
    await room.runs.start("red", 2)
    await room.solve("blue", "image-pull", minute=10)
    await room.solve("blue", "unschedulable", minute=60)  # 80 % by then: the first solve counts 20 now
    series = {s.team: s.points for s in await room.board.series(2)}
    assert series["blue"] == [(600, 25), (3600, 40), (3600, 40)]
    assert series["red"] == series["gray"] == []  # nothing solved: no line
    ranking = {r.team: r.points for r in await room.board.ranking(2)}
    assert series["blue"][-1][1] == ranking["blue"]
    lines = chart_figure(await room.board.series(2), title="x").axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["blue"]


def test_the_chart_writes_korean_in_a_hangul_font() -> None:
    assert hangul_font() is not None, "no Hangul font installed: apt-get install fonts-nanum"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for each box it draws
        png = render_chart([], title="Challenge 2: 배포 재해 시나리오", lang="ko")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (500, 1000)


async def test_each_committed_change_is_published_once(room: Classroom) -> None:
    heard: list[None] = []
    stop = room.changes.listen(lambda: heard.append(None))
    await room.runs.start("blue", 2)
    await room.solve("blue", "image-pull", minute=10)
    await room.board.freeze(2, None, by="Kim")
    await room.board.unfreeze(2)
    assert len(heard) == 4  # start, verification, freeze, unfreeze
    stop()
    await room.runs.verify("blue")
    assert len(heard) == 4


async def test_an_extension_tells_the_page_and_moves_the_time_left(room: Classroom) -> None:
    report = await room.runs.start("blue", 2)
    heard: list[None] = []
    room.changes.listen(lambda: heard.append(None))
    assert await room.runs.extend(report.run, report.run.deadline + timedelta(minutes=15))
    assert len(heard) == 1  # the page's stream re-reads once: the run's time left moved
    moved = await room.store.runs.get(report.run.id)
    assert moved is not None and moved.deadline == report.run.deadline + timedelta(minutes=15)
    await room.runs.stop("blue")
    heard.clear()
    assert not await room.runs.extend(report.run, report.run.deadline + timedelta(minutes=30))
    assert heard == []  # an ended run moves nothing and tells no one
