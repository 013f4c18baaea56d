"""What the projector page shows, as JSON: the ranking, each team's grid, its runs' clocks, the chart's series.

Computed from `Standings` (one read of the store, cut at the freeze for the public) with the same ranking as
`/scoreboard show`. Texts from the catalogue go as both languages ({"ko", "en"}): the page picks its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.challenges.catalog import Catalog, Challenge
from bot.scoreboard import rank, series
from bot.standings import RunStanding, Standings


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def page_data(standings: Standings, catalog: Catalog, challenge_id: int | None) -> dict[str, Any]:
    rows = rank(standings, challenge_id)
    ran = {r.challenge_id for r in standings.record.runs}
    challenges = [c for c in catalog if challenge_id in (None, c.id) and (c.id in ran or c.id == challenge_id)]
    order = [row.team for row in rows]
    return {
        "now": _iso(standings.now),
        "frozen_at": _iso(standings.frozen_at(challenge_id)),
        "instructor": not standings.public,
        "ranking": [
            {
                "rank": row.rank,
                "team": row.team,
                "points": row.points,
                "solves": row.solves,
                "time": row.elapsed_seconds,
                "hints": row.hints_used,
                "placed": row.placed,
            }
            for row in rows
        ],
        "challenges": [_grid(standings, challenge, order) for challenge in challenges],
        "series": [{"team": s.team, "points": s.points} for s in series(standings, challenge_id) if s.points],
    }


def _grid(standings: Standings, challenge: Challenge, order: list[str]) -> dict[str, Any]:
    first = standings.first_solves(challenge.id)
    teams = []
    by_name = {team.name: team for team in standings.record.teams}
    for name in order:
        best = standings.best(by_name[name].id, challenge.id)
        if best:
            teams.append(_team(name, best[0], challenge, first))
    return {
        "id": challenge.id,
        "title": challenge.spec.title.model_dump(),
        "items": [
            {"id": item.id, "title": item.title.model_dump(), "points": item.spec.points} for item in challenge.checked
        ],
        "teams": teams,
    }


def _team(name: str, standing: RunStanding, challenge: Challenge, first: dict[str, int]) -> dict[str, Any]:
    run = standing.run
    cells = {}
    for item in challenge.checked:
        solved = standing.solved.get(item.id)
        if solved is not None:
            state = "solved"
        elif item.id in standing.skipped:
            state = "skipped"
        else:
            state = "failed" if standing.checked else "pending"
        cells[item.id] = {
            "state": state,
            "minute": int((solved - run.started_at).total_seconds() // 60) if solved is not None else None,
            "first": solved is not None and first.get(item.id) == run.team_id,
        }
    return {
        "team": name,
        "status": standing.status,
        "points": standing.points,
        "started_at": _iso(run.started_at),
        "deadline": _iso(run.deadline),
        # An ended run's clock stops at its end; one under way (as far as the view goes) runs on in the browser.
        "ended_at": _iso(run.finished_at) if standing.status != "active" else None,
        "hints": standing.hints_used,
        "cells": cells,
    }
