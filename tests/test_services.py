"""Teams and the scoreboard over a real SQLite store (submissions: tests/test_submissions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.scoreboard import Scoreboard, chart_figure, render_chart
from bot.store import HintSource, Store, StoreConflict
from bot.teams import AmbiguousTeam, TeamInvalid, TeamService
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_team_names_become_namespaces(store: Store) -> None:
    teams = TeamService(store=store, namespace_prefix="kubecamp-")
    team = await teams.create(" Blue ", role_id=11, channel_id=21)
    assert (team.name, team.namespace) == ("blue", "kubecamp-blue")
    for bad in ("", "Blue Team", "-x", "팀"):
        with pytest.raises(TeamInvalid):
            await teams.create(bad)
    with pytest.raises(StoreConflict):
        await teams.create("blue")
    assert [t.name for t in await teams.all()] == ["blue"]


async def test_a_member_belongs_to_the_team_of_their_role(store: Store) -> None:
    teams = TeamService(store=store, namespace_prefix="kubecamp-")
    await teams.create("blue", role_id=11)
    await teams.create("red", role_id=12)
    blue = await teams.of_member([99, 11])
    assert blue is not None and blue.name == "blue"
    assert await teams.of_member([99]) is None
    with pytest.raises(AmbiguousTeam):
        await teams.of_member([11, 12])


async def finished_run(store: Store, team: str, minutes: int, points: int, *, tier: int = 100) -> None:
    created = await store.teams.create(team, f"kubecamp-{team}")
    challenge = CATALOG.get(2)
    run = await store.runs.create(
        team_id=created.id,
        challenge_id=2,
        started_at=T0,
        deadline=T0 + timedelta(minutes=90),
        scenario_ids=[s.id for s in challenge.scenarios],
        skipped={},
    )
    solved = {s.id: True for s in challenge.scenarios}
    await store.runs.record_verification(
        run.id, trigger="manual", at=T0 + timedelta(minutes=minutes), results=[], solved=solved
    )
    await store.runs.finish(
        run.id,
        status="finished",
        finished_at=T0 + timedelta(minutes=minutes),
        elapsed_seconds=minutes * 60,
        tier_percent=tier,
        points=points,
    )


async def test_ranking_orders_by_points_then_time_and_shows_ties(store: Store) -> None:
    await finished_run(store, "blue", 45, 100)
    await finished_run(store, "red", 45, 100)
    await finished_run(store, "green", 30, 80, tier=80)
    await store.teams.create("gray", "kubecamp-gray")
    board = Scoreboard(store=store, catalog=CATALOG)
    rows = await board.ranking(2)
    assert [(r.rank, r.team, r.points) for r in rows] == [
        (1, "blue", 100),
        (1, "red", 100),
        (3, "green", 80),
        (4, "gray", 0),
    ]
    exported = (await board.csv(2)).decode("utf-8-sig").splitlines()
    assert (
        exported[0]
        == "rank,team,points,elapsed_seconds,finished_at,hints_used,runs,status,automatic_hints,rubric_points"
    )
    assert exported[1].startswith("1,blue,100,2700,")
    assert exported[4] == "4,gray,0,,,0,0,-,0,0"


async def test_hints_used_are_the_asked_for_and_revealed_ones(store: Store) -> None:
    await finished_run(store, "blue", 45, 100)
    team = await store.teams.get("blue")
    assert team is not None
    (run,) = await store.runs.of_team(team.id)
    at = T0 + timedelta(minutes=30)
    await store.runs.record_hint(run.id, "image-pull", 0, at)
    await store.runs.record_hint(run.id, "unschedulable", 0, at)
    await store.runs.record_hint(run.id, "image-pull", 1, at, revealed_by="Blue Student 1", source=HintSource.requested)
    await store.runs.record_hint(run.id, "image-pull", 2, at, revealed_by="Kim", source=HintSource.revealed)
    board = Scoreboard(store=store, catalog=CATALOG)
    (row,) = await board.ranking(2)
    assert (row.hints_used, row.automatic_hints) == (2, 2)
    assert (await board.csv(2)).decode("utf-8-sig").splitlines()[1].endswith(",2,1,finished,2,0")


async def test_chart_has_one_line_per_team_that_solved_something(store: Store) -> None:
    await finished_run(store, "blue", 45, 100)
    await finished_run(store, "red", 60, 80, tier=80)
    board = Scoreboard(store=store, catalog=CATALOG)
    series = await board.series(2)
    assert [(s.team, s.points[-1][1]) for s in series] == [("blue", 100), ("red", 100)]
    png = await board.chart(2, title="challenge 2")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    image = matplotlib.image.imread(__import__("io").BytesIO(png), format="png")
    assert image.shape[:2] == (500, 1000)
    lines = chart_figure(series, title="challenge 2").axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["blue", "red"]
    assert render_chart([], title="empty").startswith(b"\x89PNG")
