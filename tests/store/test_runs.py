"""Runs in the store on a real, migrated SQLite file: races, idempotence, the verification bookkeeping, hints."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store import (
    HintSource,
    InvalidValue,
    NotFound,
    RunStatus,
    ScenarioState,
    Store,
    StoreConflict,
    Team,
    VerificationTrigger,
)
from bot.store.runs import finished_elsewhere, solved_elsewhere
from tests.databases import FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION

from .conftest import HOUR, T0

pytestmark = pytest.mark.every_database

MINUTE = timedelta(minutes=1)


def _by_id(states: list[ScenarioState]) -> dict[str, ScenarioState]:
    return {s.scenario_id: s for s in states}


# -- runs ------------------------------------------------------------------------------------------


async def test_create_run_records_the_scenarios(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["b", "a"], {"c": "needs cluster scope"})
    assert (run.status, run.challenge_id, run.applied, run.finished_at) == (RunStatus.active, 1, [], None)
    assert run.notes == {"skipped": {"c": "needs cluster scope"}}
    states = await store.runs.scenario_states(run.id)
    assert [(s.scenario_id, s.status, s.skip_reason, s.attempts, s.first_solved_at) for s in states] == [
        ("b", "pending", None, 0, None),
        ("a", "pending", None, 0, None),
        ("c", "skipped", "needs cluster scope", 0, None),
    ]
    assert (await store.runs.get(run.id)) == run
    assert await store.runs.get(run.id + 100) is None


async def test_create_run_refuses_bad_input(store: Store, team: Team) -> None:
    with pytest.raises(InvalidValue, match="twice"):
        await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a", "a"], {})
    with pytest.raises(InvalidValue, match="before started_at"):
        await store.runs.create(team.id, 1, T0, T0 - HOUR, ["a"], {})
    with pytest.raises(NotFound, match="no team #999"):
        await store.runs.create(999, 1, T0, T0 + HOUR, ["a"], {})
    assert await store.runs.all_active() == []


async def test_a_run_with_nothing_to_check_has_no_scenario_states(store: Store, team: Team) -> None:
    """A lab whose checkpoints are all ticked, pasted or graded checks nothing on a cluster."""
    run = await store.runs.create(team.id, 3, T0, T0 + HOUR, [], {})
    assert await store.runs.scenario_states(run.id) == []
    _, states = await store.runs.record_verification(run.id, "final", T0 + HOUR, [], {})
    assert states == []


async def test_racing_starts_leave_exactly_one_active_run(store: Store, db_url: str, team: Team) -> None:
    """Two processes (two engines) and several coroutines start the same challenge at once."""
    other = await Store.open(db_url)
    try:
        attempts = [
            s.runs.create(team.id, 1, T0, T0 + HOUR, ["a", "b"], {}) for s in (store, other, store, other, store)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    finally:
        await other.close()
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1
    assert len(lost) == 4
    assert all(isinstance(e, StoreConflict) for e in lost), lost
    assert str(lost[0]) == "team already has an active run of challenge 1"
    assert isinstance(lost[0].__cause__, sa_exc.IntegrityError)
    # The losers' scenario states were rolled back with their runs.
    assert [r.id for r in await store.runs.of_team(team.id)] == [won[0].id]
    assert len(await store.runs.scenario_states(won[0].id)) == 2


async def test_a_new_run_is_allowed_once_the_active_one_ended(store: Store, team: Team) -> None:
    first = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    other_challenge = await store.runs.create(team.id, 2, T0, T0 + HOUR, ["a"], {})
    with pytest.raises(StoreConflict):
        await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    assert await store.runs.finish(first.id, RunStatus.expired, T0 + HOUR, 3600, 50, 10)
    second = await store.runs.create(team.id, 1, T0 + 2 * HOUR, T0 + 3 * HOUR, ["a"], {})
    assert await store.runs.finish(second.id, "stopped", T0 + 2 * HOUR, 0, 0, 0)
    third = await store.runs.create(team.id, 1, T0 + 4 * HOUR, T0 + 5 * HOUR, ["a"], {})

    assert [r.id for r in await store.runs.of_team(team.id)] == [first.id, other_challenge.id, second.id, third.id]
    assert {r.id for r in await store.runs.all_active()} == {other_challenge.id, third.id}
    assert (await store.runs.active(team.id, 1)) == third
    assert (await store.runs.active(team.id)) == third  # the most recently started
    assert await store.runs.active(team.id, 3) is None


async def test_the_partial_index_itself_refuses_a_second_active_run(store: Store, team: Team) -> None:
    await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.IntegrityError, match=UNIQUE_VIOLATION):
            await connection.execute(
                sa.text(
                    "INSERT INTO runs (team_id, challenge_id, status, started_at, deadline, applied) "
                    "VALUES (:team_id, 1, 'active', '2025-03-01 09:00:00', '2025-03-01 10:00:00', '[]')"
                ),
                {"team_id": team.id},
            )


async def test_finish_run_is_idempotent_under_races(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    assert await store.runs.finish(run.id, "finished", T0 + MINUTE, 60, 100, 30) is True
    assert await store.runs.finish(run.id, "expired", T0 + HOUR, 3600, 0, 0) is False
    ended = await store.runs.get(run.id)
    assert ended is not None
    assert (ended.status, ended.finished_at, ended.elapsed_seconds, ended.tier_percent, ended.points) == (
        "finished",
        T0 + MINUTE,
        60,
        100,
        30,
    )

    racing = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    outcomes = await asyncio.gather(*(store.runs.finish(racing.id, "expired", T0 + HOUR, 3600, 0, i) for i in range(5)))
    assert sorted(outcomes) == [False, False, False, False, True]

    with pytest.raises(InvalidValue):
        await store.runs.finish(racing.id, "active", T0, 0, 0, 0)
    with pytest.raises(InvalidValue):
        await store.runs.finish(racing.id, "done", T0, 0, 0, 0)
    with pytest.raises(NotFound):
        await store.runs.finish(12345, "stopped", T0, 0, 0, 0)


async def test_deadline_thread_and_applied_objects(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a", "b"], {})
    assert await store.runs.extend_deadline(run.id, T0 + 2 * HOUR)
    await store.runs.set_thread(run.id, 987654321012345678)
    pod = {"apiVersion": "v1", "kind": "Pod", "name": "web", "scenario": "a"}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "scenario": "b"}
    assert (await store.runs.record_applied(run.id, [pod])).applied == [pod]
    assert (await store.runs.record_applied(run.id, [deploy])).applied == [pod, deploy]
    with pytest.raises(InvalidValue, match="missing scenario"):
        await store.runs.record_applied(run.id, [{"apiVersion": "v1", "kind": "Pod", "name": "x"}])

    fresh = await store.runs.get(run.id)
    assert fresh is not None
    assert (fresh.deadline, fresh.thread_id, fresh.applied) == (T0 + 2 * HOUR, 987654321012345678, [pod, deploy])

    await store.runs.finish(run.id, "stopped", T0 + MINUTE, 60, 0, 0)
    assert await store.runs.extend_deadline(run.id, T0 + 3 * HOUR) is False
    await store.runs.record_applied(run.id, [])  # allowed after the end (clean-up bookkeeping)
    with pytest.raises(NotFound):
        await store.runs.set_thread(555, 1)


# -- verifications ---------------------------------------------------------------------------------


async def test_verifications_count_attempts_and_keep_the_first_solve(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a", "b"], {"c": "cluster scope"})
    t1, t2, t3 = T0 + 10 * MINUTE, T0 + 20 * MINUTE, T0 + 30 * MINUTE

    v1, states = await store.runs.record_verification(
        run.id,
        "manual",
        t1,
        [{"scenario": "a", "checks": [{"name": "ready", "status": "pass"}]}],
        {"a": True, "b": False, "c": True},
    )
    assert (v1.trigger, v1.at, v1.all_passed) == (VerificationTrigger.manual, t1, False)
    s = _by_id(states)
    assert (s["a"].status, s["a"].attempts, s["a"].first_solved_at) == ("solved", 1, t1)
    assert (s["b"].status, s["b"].attempts, s["b"].first_solved_at) == ("pending", 1, None)
    assert (s["c"].status, s["c"].attempts, s["c"].first_solved_at) == ("skipped", 0, None)

    # a breaks again, b is fixed: a keeps its first solve, b gets its own.
    v2, states = await store.runs.record_verification(run.id, "auto", t2, [], {"a": False, "b": True})
    assert v2.all_passed is False
    s = _by_id(states)
    assert (s["a"].status, s["a"].attempts, s["a"].first_solved_at) == ("solved", 2, t1)
    assert (s["b"].status, s["b"].attempts, s["b"].first_solved_at) == ("solved", 2, t2)

    # Only b checked: a's attempts do not move.
    _, states = await store.runs.record_verification(run.id, "manual", t2, [], {"b": True})
    assert (_by_id(states)["a"].attempts, _by_id(states)["b"].attempts) == (2, 3)

    v3, states = await store.runs.record_verification(run.id, "final", t3, [], {"a": True, "b": True})
    assert v3.all_passed is True
    s = _by_id(states)
    assert (s["a"].first_solved_at, s["b"].first_solved_at) == (t1, t2)
    assert (s["a"].attempts, s["b"].attempts, s["c"].attempts) == (3, 4, 0)
    assert [x.scenario_id for x in await store.runs.scenario_states(run.id)] == ["a", "b", "c"]
    assert _by_id(await store.runs.scenario_states(run.id)) == s

    async with store.db.engine.connect() as connection:
        # As text: the JSON as written, on either database.
        query = "SELECT trigger, CAST(results AS TEXT) FROM verifications ORDER BY id"
        result = await connection.exec_driver_sql(query)
        rows = [tuple(r) for r in result]
    assert [r[0] for r in rows] == ["manual", "auto", "manual", "final"]
    assert rows[0][1] == '[{"scenario": "a", "checks": [{"name": "ready", "status": "pass"}]}]'


async def test_writes_about_first_solves_and_ends_share_their_transaction(store: Store, team: Team) -> None:
    """`on_solved` sees the scenarios solved for the first time, and what another run of the challenge solved
    or finished before; a write that fails takes the verification (or the end) down with it."""
    other_team = await store.teams.create("red", "kubecamp-red")
    first = await store.runs.create(other_team.id, 1, T0, T0 + HOUR, ["a", "b"], {})
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a", "b"], {})
    await store.runs.record_verification(first.id, "manual", T0 + MINUTE, [], {"a": True, "b": False})
    seen: list[tuple[list[str], set[str], bool]] = []

    async def note(session: AsyncSession, solved: Sequence[str]) -> None:
        seen.append(
            (list(solved), await solved_elsewhere(session, run.id, solved), await finished_elsewhere(session, run.id))
        )

    await store.runs.record_verification(run.id, "manual", T0 + 2 * MINUTE, [], {"a": True, "b": True}, on_solved=note)
    await store.runs.record_verification(run.id, "manual", T0 + 3 * MINUTE, [], {"a": True, "b": True}, on_solved=note)
    assert seen == [(["a", "b"], {"a"}, False)]  # solved once: the second verification solves nothing new

    async def failing(session: AsyncSession, solved: Sequence[str]) -> None:
        raise RuntimeError("the announcement could not be written")

    with pytest.raises(RuntimeError):
        await store.runs.record_verification(first.id, "manual", T0 + 4 * MINUTE, [], {"b": True}, on_solved=failing)
    assert _by_id(await store.runs.scenario_states(first.id))["b"].status == "pending"

    async def failing_end(session: AsyncSession) -> None:
        raise RuntimeError("the line could not be written")

    with pytest.raises(RuntimeError):
        await store.runs.finish(first.id, "finished", T0 + 5 * MINUTE, 300, 100, 10, then=failing_end)
    assert (await store.runs.get(first.id)).status == RunStatus.active  # type: ignore[union-attr]
    ended: list[bool] = []

    async def note_end(session: AsyncSession) -> None:
        ended.append(await finished_elsewhere(session, run.id))

    assert await store.runs.finish(first.id, "finished", T0 + 5 * MINUTE, 300, 100, 10, then=note_end)
    assert not await store.runs.finish(first.id, "finished", T0 + 6 * MINUTE, 360, 100, 10, then=note_end)
    assert ended == [True]  # run's own view: the other run has finished; and `then` only with the end itself


async def test_verifications_refused_after_the_end_except_the_final_one(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    with pytest.raises(InvalidValue, match="not scenarios of run"):
        await store.runs.record_verification(run.id, "manual", T0, [], {"a": True, "zzz": True})
    with pytest.raises(InvalidValue, match="trigger"):
        await store.runs.record_verification(run.id, "whenever", T0, [], {"a": True})
    assert _by_id(await store.runs.scenario_states(run.id))["a"].attempts == 0  # nothing was written

    await store.runs.finish(run.id, "expired", T0 + HOUR, 3600, 0, 0)
    with pytest.raises(StoreConflict, match="is expired"):
        await store.runs.record_verification(run.id, "manual", T0 + HOUR, [], {"a": True})
    with pytest.raises(StoreConflict):
        await store.runs.record_verification(run.id, VerificationTrigger.auto, T0 + HOUR, [], {"a": True})
    verification, states = await store.runs.record_verification(run.id, "final", T0 + HOUR, [], {"a": False})
    assert verification.all_passed is False
    assert states[0].attempts == 1
    with pytest.raises(NotFound):
        await store.runs.record_verification(4242, "final", T0, [], {})


# -- hints -----------------------------------------------------------------------------------------


async def test_a_hint_is_recorded_once(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    assert await store.runs.record_hint(run.id, "a", 0, T0 + MINUTE) is True
    assert await store.runs.record_hint(run.id, "a", 0, T0 + 2 * MINUTE, revealed_by="someone") is False
    assert await store.runs.record_hint(run.id, "a", 1, T0 + 3 * MINUTE, revealed_by="alice#1") is True
    hints = await store.runs.hints_posted(run.id)
    assert [(h.scenario_id, h.level, h.posted_at, h.revealed_by) for h in hints] == [
        ("a", 0, T0 + MINUTE, None),
        ("a", 1, T0 + 3 * MINUTE, "alice#1"),
    ]

    racing = await asyncio.gather(*(store.runs.record_hint(run.id, "a", 2, T0 + 4 * MINUTE) for _ in range(5)))
    assert sorted(racing) == [False, False, False, False, True]
    assert len(await store.runs.hints_posted(run.id)) == 3

    with pytest.raises(NotFound):
        await store.runs.record_hint(777, "a", 0, T0)


async def test_a_hint_says_how_it_came(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    await store.runs.record_hint(run.id, "a", 0, T0, revealed_by="Blue Student 1", source="requested")
    await store.runs.record_hint(run.id, "a", 1, T0, revealed_by="Kim", source=HintSource.revealed)
    with pytest.raises(InvalidValue, match="source"):
        await store.runs.record_hint(run.id, "a", 2, T0, source="guessed")
    recorded: list[tuple[str, int]] = []
    schedule = store.runs.hints_recording(run.id, [("a", 1), ("a", 2), ("a", 2)], T0 + MINUTE, recorded=recorded)
    async with store.db.writing() as session:
        await schedule(session)
    assert recorded == [("a", 2)]  # level 1 was revealed already
    hints = await store.runs.hints_posted(run.id)
    assert [(h.level, h.source, h.revealed_by) for h in hints] == [
        (0, HintSource.requested, "Blue Student 1"),
        (1, HintSource.revealed, "Kim"),
        (2, HintSource.auto, None),
    ]


async def test_diagnoses_are_revealed_once_to_an_active_run(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    assert await store.runs.reveal_diagnosis(run.id, "Kim") is True
    assert await store.runs.reveal_diagnosis(run.id, "Lee") is False
    stored = await store.runs.get(run.id)
    assert stored is not None and stored.diagnosis_revealed_by == "Kim"
    await store.runs.finish(run.id, "stopped", T0 + MINUTE, 60, 0, 0)
    other = await store.runs.create(team.id, 1, T0 + MINUTE, T0 + HOUR, ["a"], {})
    assert (await store.runs.get(other.id)).diagnosis_revealed_by is None  # type: ignore[union-attr]
    await store.runs.finish(other.id, "stopped", T0 + MINUTE, 60, 0, 0)
    assert await store.runs.reveal_diagnosis(other.id, "Kim") is False  # ended
    with pytest.raises(NotFound):
        await store.runs.reveal_diagnosis(777, "Kim")


async def test_cascades_and_restrictions_hold_in_the_database(store: Store, team: Team) -> None:
    run = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    await store.runs.record_hint(run.id, "a", 0, T0)
    async with store.db.engine.begin() as connection:
        with pytest.raises(sa_exc.IntegrityError, match=FOREIGN_KEY_VIOLATION):
            await connection.execute(sa.text("DELETE FROM teams WHERE id = :id"), {"id": team.id})
    async with store.db.engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM runs WHERE id = :id"), {"id": run.id})
    assert await store.runs.scenario_states(run.id) == []
    assert await store.runs.hints_posted(run.id) == []
