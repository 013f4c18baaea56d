"""Runs in the store: a team's attempt at a challenge, with its scenarios' states, its verifications
and the hints posted to it.

A run is started with one state per scenario in one transaction; a verification updates the states it
checked in the same transaction as it is recorded; a run ends once (of two racing finishes one wins);
a hint is recorded once per (run, scenario, level).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database, WriteStep, delete_first, one_of, require, utc
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.models import (
    HintPost,
    HintSource,
    Run,
    RunStatus,
    ScenarioState,
    ScenarioStatus,
    Team,
    Verification,
    VerificationTrigger,
)

_APPLIED_KEYS = ("apiVersion", "kind", "name", "scenario")

#: A caller's write on the session of a verification, given the scenarios that verification solved for the first
#: time: what is written about those solves (their announcement) commits with them or not at all.
SolvedStep = Callable[[AsyncSession, Sequence[str]], Awaitable[None]]


class RunStore:
    """The runs, scenario states, verifications and hint posts, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        team_id: int,
        challenge_id: int,
        started_at: datetime,
        deadline: datetime,
        scenario_ids: Sequence[str],
        skipped: Mapping[str, str],
    ) -> Run:
        """Insert an active run and one ScenarioState per scenario, in one transaction.

        `skipped` maps scenario id → reason; those scenarios are recorded as skipped (they may or may
        not also be listed in `scenario_ids`). Raises `StoreConflict` if the team already has an active
        run of this challenge (the partial unique index decides, so two racing starts cannot both win).
        """
        started_at = utc("started_at", started_at)
        deadline = utc("deadline", deadline)
        if deadline < started_at:
            raise InvalidValue("deadline", deadline, "is before started_at")
        if len(set(scenario_ids)) != len(scenario_ids):
            raise InvalidValue("scenario_ids", list(scenario_ids), "lists a scenario twice")
        # None at all is a lab whose checkpoints are all ticked, pasted or graded: nothing is checked on a cluster.
        order = [*scenario_ids, *(s for s in skipped if s not in scenario_ids)]
        run = Run(
            team_id=team_id,
            challenge_id=challenge_id,
            status=RunStatus.active,
            started_at=started_at,
            deadline=deadline,
            applied=[],
            notes={"skipped": dict(skipped)} if skipped else None,
        )
        try:
            async with self._db.writing() as session:
                session.add(run)
                await session.flush()
                for scenario_id in order:
                    reason = skipped.get(scenario_id)
                    session.add(
                        ScenarioState(
                            run_id=run.id,
                            scenario_id=scenario_id,
                            status=ScenarioStatus.skipped if reason is not None else ScenarioStatus.pending,
                            skip_reason=reason,
                            attempts=0,
                        )
                    )
        except StoreConflict as e:
            if await self.active(team_id, challenge_id) is not None:
                raise StoreConflict(f"team already has an active run of challenge {challenge_id}") from e.__cause__
            async with self._db.reading() as session:
                if await session.get(Team, team_id) is None:
                    raise NotFound("team", team_id) from e.__cause__
            raise
        return run

    async def record_applied(self, run_id: int, objects: Sequence[Mapping[str, Any]]) -> Run:
        """Append objects the bot applied (each with apiVersion, kind, name, scenario) to the run."""
        records = [_applied(o) for o in objects]
        async with self._db.writing() as session:
            run = await require(session, Run, run_id)
            run.applied = [*run.applied, *records]  # a new list, so that the change is seen
            session.add(run)
        return run

    async def get(self, run_id: int) -> Run | None:
        async with self._db.reading() as session:
            return await session.get(Run, run_id)

    async def active(self, team_id: int, challenge_id: int | None = None) -> Run | None:
        """The team's active run (of `challenge_id`, or of any challenge: the most recently started)."""
        query = select(Run).where(Run.team_id == team_id, Run.status == RunStatus.active)
        if challenge_id is not None:
            query = query.where(Run.challenge_id == challenge_id)
        async with self._db.reading() as session:
            return (await session.exec(query.order_by(col(Run.started_at).desc(), col(Run.id).desc()))).first()

    async def all_active(self) -> list[Run]:
        async with self._db.reading() as session:
            query = select(Run).where(Run.status == RunStatus.active).order_by(col(Run.deadline), col(Run.id))
            return list(await session.exec(query))

    async def of_team(self, team_id: int) -> list[Run]:
        async with self._db.reading() as session:
            query = select(Run).where(Run.team_id == team_id).order_by(col(Run.started_at), col(Run.id))
            return list(await session.exec(query))

    async def scenario_states(self, run_id: int) -> list[ScenarioState]:
        """The run's scenarios, in the order they were given to `create`."""
        async with self._db.reading() as session:
            return await _states(session, run_id)

    async def record_verification(
        self,
        run_id: int,
        trigger: VerificationTrigger | str,
        at: datetime,
        results: Sequence[Mapping[str, Any]],
        solved: Mapping[str, bool],
        *,
        on_solved: SolvedStep | None = None,
    ) -> tuple[Verification, list[ScenarioState]]:
        """Record one verification and update the scenarios it checked, in one transaction.

        `solved` maps each checked scenario id → whether it passed now. Each checked, non-skipped
        scenario gets one more attempt; one that passed for the first time becomes solved with
        first_solved_at = `at`. A solved scenario stays solved and keeps its first time even if a
        later verification fails (the verifications keep what each one saw). `all_passed` is true
        when every non-skipped scenario of the run passed in this verification.

        Manual and auto verifications are refused (`StoreConflict`) once the run is no longer active;
        a final one is accepted in any state. Returns the verification and all the run's states.
        `on_solved` is given the scenarios solved for the first time now, if any, in the same transaction.
        """
        trigger = one_of("trigger", VerificationTrigger, trigger)
        at = utc("at", at)
        stored_results = [dict(r) for r in results]
        async with self._db.writing() as session:
            run = await require(session, Run, run_id)
            if run.status != RunStatus.active and trigger != VerificationTrigger.final:
                raise StoreConflict(f"run #{run_id} is {run.status}: a {trigger} verification is not recorded")
            states = {s.scenario_id: s for s in await _states(session, run_id)}
            unknown = sorted(set(solved) - set(states))
            if unknown:
                raise InvalidValue("solved", unknown, f"not scenarios of run #{run_id}")
            live = [s for s in states.values() if s.status != ScenarioStatus.skipped]
            all_passed = all(solved.get(s.scenario_id, False) for s in live)
            verification = Verification(
                run_id=run_id, trigger=trigger, at=at, all_passed=all_passed, results=stored_results
            )
            session.add(verification)
            checked = [s.scenario_id for s in live if s.scenario_id in solved]
            passed = [s for s in checked if solved[s]]
            # Read before the update: the refresh below updates these very instances.
            first = [s for s in passed if states[s].status == ScenarioStatus.pending and not states[s].first_solved_at]
            if checked:
                await session.exec(
                    sa.update(ScenarioState)
                    .where(
                        col(ScenarioState.run_id) == run_id,
                        col(ScenarioState.scenario_id).in_(checked),
                        col(ScenarioState.status) != ScenarioStatus.skipped,
                    )
                    .values(attempts=col(ScenarioState.attempts) + 1)
                )
            if passed:
                await session.exec(
                    sa.update(ScenarioState)
                    .where(
                        col(ScenarioState.run_id) == run_id,
                        col(ScenarioState.scenario_id).in_(passed),
                        col(ScenarioState.status) == ScenarioStatus.pending,
                        col(ScenarioState.first_solved_at).is_(None),
                    )
                    .values(status=ScenarioStatus.solved, first_solved_at=at)
                )
            await session.flush()
            updated = await _states(session, run_id, refresh=True)
            if first and on_solved is not None:
                await on_solved(session, first)
        return verification, updated

    async def finish(
        self,
        run_id: int,
        status: RunStatus | str,
        finished_at: datetime,
        elapsed_seconds: int | None,
        tier_percent: int | None,
        points: int | None,
        notes: Mapping[str, Any] | None = None,
        *,
        then: WriteStep | None = None,
    ) -> bool:
        """End an active run; False (and nothing changed) if it was not active any more. `notes`: the run's notes
        as they are to be kept (unchanged when None).

        A single ``UPDATE … WHERE status = 'active'``: of two racing finishes exactly one wins. `then` (the
        caller's write about the end) runs in the same transaction, only when this call ended the run.
        """
        end = one_of("status", RunStatus, status)
        if end == RunStatus.active:
            raise InvalidValue("status", status, "a run is finished as finished, expired or stopped")
        finished_at = utc("finished_at", finished_at)
        values: dict[str, Any] = {
            "status": end,
            "finished_at": finished_at,
            "elapsed_seconds": elapsed_seconds,
            "tier_percent": tier_percent,
            "points": points,
        }
        if notes is not None:
            values["notes"] = dict(notes)
        return await self._update_active(run_id, values, then=then)

    async def extend_deadline(self, run_id: int, new_deadline: datetime, *, then: WriteStep | None = None) -> bool:
        """Move the deadline of an active run; False if the run is not active. `then` (the caller's write, the
        team's notice) runs in the same transaction, only when the deadline moved."""
        return await self._update_active(run_id, {"deadline": utc("new_deadline", new_deadline)}, then=then)

    async def _update_active(self, run_id: int, values: dict[str, Any], *, then: WriteStep | None = None) -> bool:
        async with self._db.writing() as session:
            result = await session.exec(
                sa.update(Run).where(col(Run.id) == run_id, col(Run.status) == RunStatus.active).values(**values)
            )
            if result.rowcount == 1:
                if then is not None:
                    await then(session)
                return True
            await require(session, Run, run_id)  # NotFound if there is no such run
            return False

    async def set_thread(self, run_id: int, thread_id: int | None) -> None:
        async with self._db.writing() as session:
            run = await require(session, Run, run_id)
            run.thread_id = thread_id
            session.add(run)

    # -- hints -------------------------------------------------------------------------------------

    async def record_hint(
        self,
        run_id: int,
        scenario_id: str,
        level: int,
        posted_at: datetime,
        revealed_by: str | None = None,
        source: HintSource | str = HintSource.auto,
    ) -> bool:
        """Record that a hint was posted: True if this is the first time, False if it already was.

        The unique (run, scenario, level) constraint decides, so two racing posters cannot both get
        True, before or after a restart. Call it before posting and post only on True.
        """
        posted_at = utc("posted_at", posted_at)
        hint = HintPost(
            run_id=run_id,
            scenario_id=scenario_id,
            level=level,
            posted_at=posted_at,
            revealed_by=revealed_by,
            source=one_of("source", HintSource, source),
        )
        try:
            async with self._db.writing() as session:
                session.add(hint)
        except StoreConflict as e:
            async with self._db.reading() as session:
                existing = await session.exec(
                    select(HintPost.id).where(
                        HintPost.run_id == run_id, HintPost.scenario_id == scenario_id, HintPost.level == level
                    )
                )
                if existing.first() is not None:
                    return False
                await require(session, Run, run_id)
            raise e
        return True

    async def latest_verification(self, run_id: int) -> Verification | None:
        """The run's latest verification (None: never verified, or pruned since the run ended)."""
        async with self._db.reading() as session:
            query = select(Verification).where(Verification.run_id == run_id)
            return (
                await session.exec(query.order_by(col(Verification.at).desc(), col(Verification.id).desc()))
            ).first()

    async def hints_posted(self, run_id: int) -> list[HintPost]:
        async with self._db.reading() as session:
            query = select(HintPost).where(HintPost.run_id == run_id)
            return list(await session.exec(query.order_by(col(HintPost.posted_at), col(HintPost.id))))

    def hints_recording(
        self, run_id: int, hints: Sequence[tuple[str, int]], posted_at: datetime, *, recorded: list[tuple[str, int]]
    ) -> WriteStep:
        """`record_hint` of the schedule's hints (scenario, level) as a write in a transaction of the caller's:
        the one that enqueues the post they go out in (`Outbox.enqueue_all`), so that a crash keeps both or
        neither. A hint recorded already is left as it is; `recorded` receives the ones this write adds."""
        posted_at = utc("posted_at", posted_at)

        async def record(session: AsyncSession) -> None:
            existing = await session.exec(select(HintPost.scenario_id, HintPost.level).where(HintPost.run_id == run_id))
            posted = {(scenario_id, level) for scenario_id, level in existing}
            for scenario_id, level in hints:
                if (scenario_id, level) not in posted:
                    session.add(HintPost(run_id=run_id, scenario_id=scenario_id, level=level, posted_at=posted_at))
                    posted.add((scenario_id, level))
                    recorded.append((scenario_id, level))

        return record

    async def reveal_diagnosis(self, run_id: int, revealed_by: str) -> bool:
        """Show every diagnosis of an active run from now on: True if this revealed them, False if they had
        been revealed already or the run has ended."""
        async with self._db.writing() as session:
            result = await session.exec(
                sa.update(Run)
                .where(
                    col(Run.id) == run_id,
                    col(Run.status) == RunStatus.active,
                    col(Run.diagnosis_revealed_by).is_(None),
                )
                .values(diagnosis_revealed_by=revealed_by)
            )
            if result.rowcount == 1:
                return True
            await require(session, Run, run_id)  # NotFound if there is no such run
            return False

    async def prune(self, before: datetime, limit: int) -> dict[str, int]:
        """Delete at most `limit` verifications of runs that ended before `before`; rows deleted, by table.
        Call again until it deletes none.

        Only the verifications, which nothing reads once the run has ended: the runs themselves, their
        scores, scenario states and hints stay, whatever their age (the scoreboard and exports read them)."""
        before = utc("before", before)
        ended = select(col(Run.id)).where(col(Run.status) != RunStatus.active, col(Run.finished_at) < before)
        old = select(col(Verification.id)).where(col(Verification.run_id).in_(ended))
        async with self._db.writing() as session:
            deleted = await delete_first(session, old, limit=limit)
        return {Verification.__tablename__: deleted}


async def latest_run_id(session: AsyncSession, team_id: int, challenge_id: int) -> int | None:
    """The id of the team's latest run of the challenge, in `session` (None: the team never ran it)."""
    query = (
        select(Run.id)
        .where(Run.team_id == team_id, Run.challenge_id == challenge_id)
        .order_by(col(Run.started_at).desc(), col(Run.id).desc())
    )
    return (await session.exec(query)).first()


async def solved_elsewhere(session: AsyncSession, run_id: int, scenario_ids: Sequence[str]) -> set[str]:
    """Of `scenario_ids`, those another run of the same challenge has solved, in `session`."""
    other = aliased(Run)
    query = (
        select(ScenarioState.scenario_id)
        .join(other, col(other.id) == col(ScenarioState.run_id))
        .where(
            col(other.challenge_id) == select(Run.challenge_id).where(col(Run.id) == run_id).scalar_subquery(),
            col(other.id) != run_id,
            col(ScenarioState.scenario_id).in_(list(scenario_ids)),
            col(ScenarioState.status) == ScenarioStatus.solved,
        )
    )
    return set(await session.exec(query))


async def finished_elsewhere(session: AsyncSession, run_id: int) -> bool:
    """Whether another run of the same challenge has finished (solved everything), in `session`."""
    other = aliased(Run)
    query = select(other.id).where(
        col(other.challenge_id) == select(Run.challenge_id).where(col(Run.id) == run_id).scalar_subquery(),
        col(other.id) != run_id,
        col(other.status) == RunStatus.finished,
    )
    return (await session.exec(query.limit(1))).first() is not None


async def _states(session: AsyncSession, run_id: int, *, refresh: bool = False) -> list[ScenarioState]:
    query = select(ScenarioState).where(ScenarioState.run_id == run_id).order_by(col(ScenarioState.id))
    if refresh:
        query = query.execution_options(populate_existing=True)
    return list(await session.exec(query))


def _applied(obj: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in _APPLIED_KEYS if k not in obj]
    if missing:
        raise InvalidValue("objects", dict(obj), f"missing {', '.join(missing)}")
    for key in ("apiVersion", "kind", "name"):
        if not isinstance(obj[key], str) or not obj[key]:
            raise InvalidValue(f"objects.{key}", obj[key], "must be a non-empty string")
    if obj["scenario"] is not None and not isinstance(obj["scenario"], str):
        raise InvalidValue("objects.scenario", obj["scenario"], "must be a string or None")
    return dict(obj)
