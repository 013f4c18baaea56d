"""Submissions in the store on a real, migrated SQLite file: history kept, newest first, pages, bad input refused."""

from __future__ import annotations

import pytest

from bot.store import InvalidValue, NotFound, Store, StoreConflict, Team

from .conftest import HOUR, T0

pytestmark = pytest.mark.every_database


async def test_submissions_keep_history_newest_first(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    answers = {"completion_time": "00:45", "root_cause": "이미지 태그 오타", "bonus": ""}
    first = await store.submissions.add(
        team.id, 1, answers=answers, submitted_at=T0 + HOUR, run_id=run.id, submitted_by="alice"
    )
    second = await store.submissions.add(
        team.id, 1, answers={**answers, "root_cause": "better"}, submitted_at=T0 + 2 * HOUR
    )
    other = await store.submissions.add(team.id, 2, answers={"insight": "x"}, submitted_at=T0)
    current, older = await store.submissions.of_team(team.id, 1)
    assert (current.id, older.id) == (second.id, first.id)
    assert (current.answers["root_cause"], current.run_id, older.run_id, older.answers) == (
        "better",
        None,
        run.id,
        answers,
    )
    # Every team's, newest first, one challenge or all, a page at a time.
    assert [s.id for s, _ in await store.submissions.all()] == [second.id, first.id, other.id]
    assert [s.id for s, _ in await store.submissions.all(1, limit=1, offset=1)] == [first.id]
    assert {t.name for _, t in await store.submissions.all(2)} == {team.name}
    assert (await store.submissions.count(), await store.submissions.count(1), await store.submissions.count(3)) == (
        3,
        2,
        0,
    )

    with pytest.raises(InvalidValue, match="answers"):
        await store.submissions.add(team.id, 1, answers={}, submitted_at=T0)
    with pytest.raises(InvalidValue, match="strings"):
        await store.submissions.add(team.id, 1, answers={"completion_time": 45}, submitted_at=T0)  # type: ignore[dict-item]
    with pytest.raises(InvalidValue, match="page"):
        await store.submissions.all(1, limit=0)
    with pytest.raises(StoreConflict, match="challenge 1"):
        await store.submissions.add(team.id, 2, answers=answers, submitted_at=T0, run_id=run.id)
    with pytest.raises(NotFound):
        await store.submissions.add(999, 1, answers=answers, submitted_at=T0)
    assert await store.submissions.count() == 3
    with pytest.raises(StoreConflict, match="submission"):
        await store.teams.remove(team.name)
