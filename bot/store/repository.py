"""`Store`: the stores of the bot's state over one `Database`, and the reads and writes of runs, submissions
and the outbox (not yet stores of their own); each method its own transaction.

Methods return detached model instances (the session is closed, nothing lazy-loads). Errors:

* the database cannot be reached, read or written → `bot.errors.StoreUnavailable`, chaining the
  driver error;
* a write the stored data forbids (duplicate, second active run, history in the way, …) →
  `StoreConflict`; a run or team id that does not exist → `NotFound`; a team name that does not
  exist → `bot.errors.UnknownTeam`; a value that breaks a rule of the schema → `InvalidValue`
  (also a `ValueError`), before anything is written.

Write transactions start with BEGIN IMMEDIATE on SQLite (see `bot.store.db`), so a
read-then-write is serialised against other writers instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database, WriteStep, require, utc
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.incidents import IncidentStore
from bot.store.models import (
    OUTBOX_KEY_MAX,
    HintPost,
    HintSource,
    OutboxEntry,
    OutboxKind,
    Run,
    RunStatus,
    ScenarioState,
    ScenarioStatus,
    Submission,
    Team,
    Verification,
    VerificationTrigger,
)
from bot.store.teams import TeamStore

#: An outbox error message is kept to this length.
_OUTBOX_ERROR_MAX = 2000

_APPLIED_KEYS = ("apiVersion", "kind", "name", "scenario")


class Store:
    """The bot's stores, one per aggregate, over one `Database`. Open with `await Store.open(url)`, close
    with `await store.close()`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.teams = TeamStore(db)
        self.incidents = IncidentStore(db)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to `url` and check that the database answers (`StoreUnavailable` if not).

        The schema is not migrated here: run `bot.store.migrate.upgrade(url)` first.
        """
        return cls(await Database.open(url))

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database can take a write now (`Database.ping`)."""
        await self.db.ping()

    # -- runs --------------------------------------------------------------------------------------

    async def create_run(
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
        order = [*scenario_ids, *(s for s in skipped if s not in scenario_ids)]
        if not order:
            raise InvalidValue("scenario_ids", [], "a run needs at least one scenario")
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
            async with self.db.writing() as session:
                session.add(run)
                await session.flush()
                assert run.id is not None
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
            if await self.active_run(team_id, challenge_id) is not None:
                raise StoreConflict(f"team already has an active run of challenge {challenge_id}") from e.__cause__
            if await self.teams.get_by_id(team_id) is None:
                raise NotFound("team", team_id) from e.__cause__
            raise
        return run

    async def record_applied(self, run_id: int, objects: Sequence[Mapping[str, Any]]) -> Run:
        """Append objects the bot applied (each with apiVersion, kind, name, scenario) to the run."""
        records = [_applied(o) for o in objects]
        async with self.db.writing() as session:
            run = await require(session, Run, run_id)
            run.applied = [*run.applied, *records]  # a new list, so that the change is seen
            session.add(run)
        return run

    async def get_run(self, run_id: int) -> Run | None:
        async with self.db.reading() as session:
            return await session.get(Run, run_id)

    async def active_run(self, team_id: int, challenge_id: int | None = None) -> Run | None:
        """The team's active run (of `challenge_id`, or of any challenge: the most recently started)."""
        query = select(Run).where(Run.team_id == team_id, Run.status == RunStatus.active)
        if challenge_id is not None:
            query = query.where(Run.challenge_id == challenge_id)
        async with self.db.reading() as session:
            return (await session.exec(query.order_by(col(Run.started_at).desc(), col(Run.id).desc()))).first()

    async def active_runs(self) -> list[Run]:
        async with self.db.reading() as session:
            query = select(Run).where(Run.status == RunStatus.active).order_by(col(Run.deadline), col(Run.id))
            return list(await session.exec(query))

    async def runs_for_team(self, team_id: int) -> list[Run]:
        async with self.db.reading() as session:
            query = select(Run).where(Run.team_id == team_id).order_by(col(Run.started_at), col(Run.id))
            return list(await session.exec(query))

    async def scenario_states(self, run_id: int) -> list[ScenarioState]:
        """The run's scenarios, in the order they were given to `create_run`."""
        async with self.db.reading() as session:
            return await _states(session, run_id)

    async def record_verification(
        self,
        run_id: int,
        trigger: VerificationTrigger | str,
        at: datetime,
        results: Sequence[Mapping[str, Any]],
        solved: Mapping[str, bool],
    ) -> tuple[Verification, list[ScenarioState]]:
        """Record one verification and update the scenarios it checked, in one transaction.

        `solved` maps each checked scenario id → whether it passed now. Each checked, non-skipped
        scenario gets one more attempt; one that passed for the first time becomes solved with
        first_solved_at = `at`. A solved scenario stays solved and keeps its first time even if a
        later verification fails (the verifications keep what each one saw). `all_passed` is true
        when every non-skipped scenario of the run passed in this verification.

        Manual and auto verifications are refused (`StoreConflict`) once the run is no longer active;
        a final one is accepted in any state. Returns the verification and all the run's states.
        """
        trigger = _trigger(trigger)
        at = utc("at", at)
        stored_results = [dict(r) for r in results]
        async with self.db.writing() as session:
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
        return verification, updated

    async def finish_run(
        self,
        run_id: int,
        status: RunStatus | str,
        finished_at: datetime,
        elapsed_seconds: int | None,
        tier_percent: int | None,
        points: int | None,
    ) -> bool:
        """End an active run; False (and nothing changed) if it was not active any more.

        A single ``UPDATE … WHERE status = 'active'``: of two racing finishes exactly one wins.
        """
        end = _run_status(status)
        if end == RunStatus.active:
            raise InvalidValue("status", status, "a run is finished as finished, expired or stopped")
        finished_at = utc("finished_at", finished_at)
        values = {
            "status": end,
            "finished_at": finished_at,
            "elapsed_seconds": elapsed_seconds,
            "tier_percent": tier_percent,
            "points": points,
        }
        return await self._update_active(run_id, values)

    async def extend_deadline(self, run_id: int, new_deadline: datetime) -> bool:
        """Move the deadline of an active run; False if the run is not active."""
        return await self._update_active(run_id, {"deadline": utc("new_deadline", new_deadline)})

    async def _update_active(self, run_id: int, values: dict[str, Any]) -> bool:
        async with self.db.writing() as session:
            result = await session.exec(
                sa.update(Run).where(col(Run.id) == run_id, col(Run.status) == RunStatus.active).values(**values)
            )
            if result.rowcount == 1:
                return True
            await require(session, Run, run_id)  # NotFound if there is no such run
            return False

    async def set_thread(self, run_id: int, thread_id: int | None) -> None:
        async with self.db.writing() as session:
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
            source=_hint_source(source),
        )
        try:
            async with self.db.writing() as session:
                session.add(hint)
        except StoreConflict as e:
            async with self.db.reading() as session:
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

    async def hints_posted(self, run_id: int) -> list[HintPost]:
        async with self.db.reading() as session:
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
        async with self.db.writing() as session:
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

    # -- submissions -------------------------------------------------------------------------------

    async def add_submission(
        self,
        team_id: int,
        challenge_id: int,
        *,
        answers: Mapping[str, str],
        submitted_at: datetime,
        run_id: int | None = None,
        submitted_by: str | None = None,
    ) -> Submission:
        """Keep a new submission; earlier ones stay (the newest per team and challenge is current)."""
        submitted_at = utc("submitted_at", submitted_at)
        if not answers:
            raise InvalidValue("answers", dict(answers), "is empty")
        for key, value in answers.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidValue("answers", dict(answers), "must map field ids to strings")
        submission = Submission(
            team_id=team_id,
            challenge_id=challenge_id,
            run_id=run_id,
            answers=dict(answers),
            submitted_at=submitted_at,
            submitted_by=submitted_by,
        )
        async with self.db.writing() as session:
            await require(session, Team, team_id)
            if run_id is not None:
                run = await require(session, Run, run_id)
                if (run.team_id, run.challenge_id) != (team_id, challenge_id):
                    raise StoreConflict(
                        f"run #{run_id} is team #{run.team_id}'s run of challenge {run.challenge_id}, "
                        f"not team #{team_id}'s of challenge {challenge_id}"
                    )
            session.add(submission)
        return submission

    async def submissions(self, team_id: int, challenge_id: int) -> list[Submission]:
        """All of the team's submissions for the challenge, newest first (the first is current)."""
        async with self.db.reading() as session:
            query = (
                select(Submission)
                .where(Submission.team_id == team_id, Submission.challenge_id == challenge_id)
                .order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
            )
            return list(await session.exec(query))

    async def all_submissions(
        self, challenge_id: int | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Submission, Team]]:
        """Every team's submissions (of one challenge, or all), newest first, each with its team."""
        if offset < 0 or (limit is not None and limit < 1):
            raise InvalidValue("limit/offset", (limit, offset), "must be a positive page")
        async with self.db.reading() as session:
            query = select(Submission, Team).where(Submission.team_id == Team.id)
            if challenge_id is not None:
                query = query.where(Submission.challenge_id == challenge_id)
            query = query.order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc()).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [(submission, team) for submission, team in await session.exec(query)]

    async def count_submissions(self, challenge_id: int | None = None) -> int:
        async with self.db.reading() as session:
            query = select(func.count()).select_from(Submission)
            if challenge_id is not None:
                query = query.where(Submission.challenge_id == challenge_id)
            return int((await session.exec(query)).one())

    # -- outbox ------------------------------------------------------------------------------------

    async def enqueue_outbox(
        self,
        *,
        dedupe_key: str,
        kind: OutboxKind | str,
        payload: Mapping[str, Any],
        at: datetime,
        channel_id: int | None = None,
        run_id: int | None = None,
        edit_of: str | None = None,
        thread_of: str | None = None,
    ) -> tuple[OutboxEntry, bool]:
        """Write an outbox entry, due at once; (the entry, True) — or (the existing entry, False)
        unchanged if one with this `dedupe_key` exists, whatever else is given.

        Where it goes: a message needs `channel_id` or `run_id` (then it goes to the run's thread and
        waits until the run has one); a thread needs `channel_id` (the parent; with `run_id`, the
        thread becomes the run's once it is sent); an edit names the entry it edits by its key in
        `edit_of` (an entry enqueued earlier; if that one has failed, the edit is stored as failed);
        a thread update needs `channel_id` (the thread) or `run_id`. Instead of either, a message or a
        thread update may name a thread entry by its key in `thread_of`: it goes into that thread once
        the thread exists (and fails if that entry failed).
        Raises `InvalidValue` for a malformed entry, `NotFound` for an unknown run or target entry.
        """
        item = OutboxItem(dedupe_key, kind, payload, channel_id, run_id, edit_of, thread_of)
        entry = _outbox_entry(item, utc("at", at))
        try:
            async with self.db.writing() as session:
                return await _insert_outbox(session, entry, item)
        except StoreConflict:
            # Another writer inserted the same key first (possible where writes are not serialised).
            async with self.db.reading() as session:
                existing = await _outbox_by_key(session, dedupe_key)
            if existing is not None:
                return existing, False
            raise

    async def enqueue_outbox_all(
        self,
        items: Sequence[OutboxItem],
        *,
        at: datetime,
        then: WriteStep | None = None,
    ) -> list[tuple[OutboxEntry, bool]]:
        """`enqueue_outbox` for each item in order, then `then` (the caller's own write), in one transaction:
        all of it is kept or none. An item may name an earlier one of the same call in `edit_of`/`thread_of`."""
        entries = [(_outbox_entry(item, utc("at", at)), item) for item in items]
        written: list[tuple[OutboxEntry, bool]] = []
        async with self.db.writing() as session:
            for entry, item in entries:
                written.append(await _insert_outbox(session, entry, item))
                await session.flush()  # so that a later item finds it by its key
            if then is not None:
                await then(session)
        return written

    async def newer_edit(self, entry: OutboxEntry) -> OutboxEntry | None:
        """The latest edit of the same message enqueued after `entry` and still to be sent, if any."""
        if entry.kind != OutboxKind.edit or entry.target_id is None:
            return None
        query = (
            select(OutboxEntry)
            .where(
                col(OutboxEntry.kind) == OutboxKind.edit,
                col(OutboxEntry.target_id) == entry.target_id,
                col(OutboxEntry.id) > entry.id,
                col(OutboxEntry.sent_at).is_(None),
                col(OutboxEntry.failed_at).is_(None),
            )
            .order_by(col(OutboxEntry.id).desc())
            .limit(1)
        )
        async with self.db.reading() as session:
            return (await session.exec(query)).first()

    async def get_outbox(self, dedupe_key: str) -> OutboxEntry | None:
        async with self.db.reading() as session:
            return await _outbox_by_key(session, dedupe_key)

    async def pending_outbox(
        self, now: datetime, limit: int, *, exclude_channels: Collection[int] = ()
    ) -> list[OutboxDelivery]:
        """What is due for delivery at `now`, in id order, with where it goes.

        An entry is due when it is neither sent nor failed, its next attempt is due, it has a
        destination (a run's thread exists; an edit's target was sent) and no earlier entry for the
        same destination is waiting for a later attempt: what goes to one channel is delivered in
        the order it was enqueued. `exclude_channels` leaves out destinations (the sender's busy ones).
        """
        now = utc("now", now)
        target = aliased(OutboxEntry)
        lane = _outbox_lane(OutboxEntry, target)
        earlier, earlier_target = aliased(OutboxEntry), aliased(OutboxEntry)
        earlier_run = aliased(Run)
        waiting = (
            select(col(earlier.id))
            .select_from(earlier)
            .outerjoin(earlier_run, col(earlier_run.id) == col(earlier.run_id))
            .outerjoin(earlier_target, col(earlier_target.id) == col(earlier.target_id))
            .where(
                col(earlier.sent_at).is_(None),
                col(earlier.failed_at).is_(None),
                col(earlier.id) < col(OutboxEntry.id),
                col(earlier.next_attempt_at) > now,
                _outbox_lane(earlier, earlier_target, earlier_run) == lane,
            )
        )
        query = (
            select(OutboxEntry, lane, col(target.discord_message_id))
            .select_from(OutboxEntry)
            .outerjoin(Run, col(Run.id) == col(OutboxEntry.run_id))
            .outerjoin(target, col(target.id) == col(OutboxEntry.target_id))
            .where(
                col(OutboxEntry.sent_at).is_(None),
                col(OutboxEntry.failed_at).is_(None),
                col(OutboxEntry.next_attempt_at) <= now,
                lane.is_not(None),
                ~sa.exists(waiting),
            )
            .order_by(col(OutboxEntry.id))
            .limit(limit)
        )
        if exclude_channels:
            query = query.where(lane.not_in(list(exclude_channels)))
        async with self.db.reading() as session:
            rows = (await session.exec(query)).all()
        return [OutboxDelivery(entry, int(channel), message) for entry, channel, message in rows]

    async def next_outbox_attempt(self, now: datetime) -> datetime | None:
        """The earliest retry after `now` of an entry neither sent nor failed (None if there is none)."""
        now = utc("now", now)
        query = select(func.min(col(OutboxEntry.next_attempt_at))).where(
            col(OutboxEntry.sent_at).is_(None),
            col(OutboxEntry.failed_at).is_(None),
            col(OutboxEntry.next_attempt_at) > now,
        )
        async with self.db.reading() as session:
            return (await session.exec(query)).one()

    async def mark_outbox_progress(
        self, entry_id: int, parts_sent: int, channel_id: int | None, message_id: int | None
    ) -> None:
        """Record that the first `parts_sent` parts of a split entry were accepted; the ids of where
        it landed are kept from the first call that gives them."""
        async with self.db.writing() as session:
            entry = await require(session, OutboxEntry, entry_id)
            entry.parts_sent = max(entry.parts_sent, parts_sent)
            _landed(entry, channel_id, message_id)
            session.add(entry)

    async def mark_outbox_sent(
        self, entry_id: int, at: datetime, channel_id: int | None, message_id: int | None
    ) -> bool:
        """Record that Discord accepted the entry (all of it); False if it was already recorded.

        A thread entry with a run becomes the run's thread in the same transaction, so that the
        run's messages waiting for it are due from then on, and not before.
        """
        at = utc("at", at)
        async with self.db.writing() as session:
            entry = await require(session, OutboxEntry, entry_id)
            if entry.sent_at is not None:
                return False
            entry.sent_at = at
            entry.attempts += 1
            _landed(entry, channel_id, message_id)
            session.add(entry)
            if entry.kind == OutboxKind.thread and entry.run_id is not None and entry.discord_channel_id is not None:
                run = await session.get(Run, entry.run_id)
                if run is not None:
                    run.thread_id = entry.discord_channel_id
                    session.add(run)
        return True

    async def mark_outbox_retry(self, entry_id: int, next_attempt_at: datetime, error: str) -> None:
        """Count a failed attempt that is worth repeating, and when to repeat it."""
        next_attempt_at = utc("next_attempt_at", next_attempt_at)
        async with self.db.writing() as session:
            entry = await _failed_attempt(session, entry_id, error)
            if entry is not None:
                entry.next_attempt_at = next_attempt_at

    async def mark_outbox_failed(self, entry_id: int, at: datetime, error: str) -> None:
        """Record a permanent refusal; the entry is kept. Edits of it waiting to be sent fail with it."""
        at = utc("at", at)
        async with self.db.writing() as session:
            entry = await _failed_attempt(session, entry_id, error)
            if entry is None:
                return
            entry.failed_at = at
            await session.flush()
            await session.exec(
                sa.update(OutboxEntry)
                .where(
                    col(OutboxEntry.target_id) == entry_id,
                    col(OutboxEntry.sent_at).is_(None),
                    col(OutboxEntry.failed_at).is_(None),
                )
                .values(failed_at=at, last_error=_failed_target(entry))
            )

    async def outbox_stats(self, now: datetime) -> tuple[int, timedelta | None]:
        """How many entries are neither sent nor failed, and how old the oldest of them is."""
        now = utc("now", now)
        query = select(func.count(), func.min(col(OutboxEntry.created_at))).where(
            col(OutboxEntry.sent_at).is_(None), col(OutboxEntry.failed_at).is_(None)
        )
        async with self.db.reading() as session:
            count, oldest = (await session.exec(query)).one()
        return count, (max(now - oldest, timedelta(0)) if oldest is not None else None)

    async def failed_outbox(self, limit: int = 50) -> list[OutboxEntry]:
        """The entries Discord refused for good, most recent first."""
        async with self.db.reading() as session:
            query = (
                select(OutboxEntry)
                .where(col(OutboxEntry.failed_at).is_not(None))
                .order_by(col(OutboxEntry.failed_at).desc(), col(OutboxEntry.id).desc())
                .limit(limit)
            )
            return list(await session.exec(query))


@dataclass(frozen=True)
class OutboxItem:
    """The arguments of `Store.enqueue_outbox` but the time, as one value (for `Store.enqueue_outbox_all`)."""

    dedupe_key: str
    kind: OutboxKind | str
    payload: Mapping[str, Any]
    channel_id: int | None = None
    run_id: int | None = None
    edit_of: str | None = None
    thread_of: str | None = None


@dataclass(frozen=True)
class OutboxDelivery:
    """An outbox entry due for delivery and where it goes.

    `channel_id`: for a message or a thread update, the channel or thread (a run's thread
    resolved); for a thread, the channel to start it in; for an edit, the channel of the message it
    edits, `message_id`. This is also the order key: one destination's entries go in id order.
    """

    entry: OutboxEntry
    channel_id: int
    message_id: int | None = None


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


def _run_status(value: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        raise InvalidValue("status", value, f"one of {', '.join(RunStatus)}") from None


def _trigger(value: VerificationTrigger | str) -> VerificationTrigger:
    try:
        return VerificationTrigger(value)
    except ValueError:
        raise InvalidValue("trigger", value, f"one of {', '.join(VerificationTrigger)}") from None


def _hint_source(value: HintSource | str) -> HintSource:
    try:
        return HintSource(value)
    except ValueError:
        raise InvalidValue("source", value, f"one of {', '.join(HintSource)}") from None


def _outbox_kind(value: OutboxKind | str) -> OutboxKind:
    try:
        return OutboxKind(value)
    except ValueError:
        raise InvalidValue("kind", value, f"one of {', '.join(OutboxKind)}") from None


def _json_object(field: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON copy of `value`, so that what is returned is what a later read gives."""
    if not isinstance(value, Mapping):
        raise InvalidValue(field, value, "must be a JSON object")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise InvalidValue(field, value, f"not JSON: {e}") from None
    return copied


def _outbox_entry(item: OutboxItem, at: datetime) -> OutboxEntry:
    """A new outbox entry for `item`, due at `at`; `InvalidValue` for a malformed one (see `Store.enqueue_outbox`)."""
    kind = _outbox_kind(item.kind)
    if not 1 <= len(item.dedupe_key) <= OUTBOX_KEY_MAX:
        raise InvalidValue("dedupe_key", item.dedupe_key, f"1 to {OUTBOX_KEY_MAX} characters")
    stored = _json_object("payload", item.payload)
    if kind == OutboxKind.edit:
        if item.edit_of is None:
            raise InvalidValue("edit_of", None, "an edit names the outbox entry it edits")
        if item.channel_id is not None:
            raise InvalidValue("channel_id", item.channel_id, "an edit goes where the entry it edits landed")
    elif item.edit_of is not None:
        raise InvalidValue("edit_of", item.edit_of, f"only an edit names an entry to edit, not a {kind}")
    if item.thread_of is not None:
        if kind not in (OutboxKind.message, OutboxKind.thread_update):
            raise InvalidValue(
                "thread_of", item.thread_of, f"only a message or a thread update goes into a thread, not a {kind}"
            )
        if item.channel_id is not None or item.run_id is not None:
            raise InvalidValue(
                "thread_of",
                item.thread_of,
                "a message goes into one place: a channel, a run's thread or a thread entry's thread",
            )
    if kind == OutboxKind.thread and item.channel_id is None:
        raise InvalidValue("channel_id", None, "a thread needs the channel to start it in")
    if (
        kind in (OutboxKind.message, OutboxKind.thread_update)
        and item.channel_id is None
        and item.run_id is None
        and item.thread_of is None
    ):
        raise InvalidValue("channel_id", None, f"a {kind} needs a channel_id, a run_id (the run's thread) or thread_of")
    return OutboxEntry(
        dedupe_key=item.dedupe_key,
        kind=kind,
        channel_id=item.channel_id,
        run_id=item.run_id,
        payload=stored,
        created_at=at,
        attempts=0,
        next_attempt_at=at,
        parts_sent=0,
    )


async def _insert_outbox(session: AsyncSession, entry: OutboxEntry, item: OutboxItem) -> tuple[OutboxEntry, bool]:
    """Add `entry` unless an entry with its key exists: (the entry, True), or (the existing one, False)."""
    existing = await _outbox_by_key(session, entry.dedupe_key)
    if existing is not None:
        return existing, False
    if item.run_id is not None:
        await require(session, Run, item.run_id)
    if item.edit_of is not None or item.thread_of is not None:
        field, key = ("edit_of", item.edit_of) if item.edit_of is not None else ("thread_of", item.thread_of)
        target = await _outbox_by_key(session, str(key))
        if target is None:
            raise NotFound("outbox entry", key)
        if item.edit_of is not None and target.kind not in (OutboxKind.message, OutboxKind.thread):
            raise InvalidValue(field, key, f"a {target.kind} entry has no message to edit")
        if item.thread_of is not None and target.kind != OutboxKind.thread:
            raise InvalidValue(field, key, f"a {target.kind} entry starts no thread")
        entry.target_id = target.id
        if target.failed_at is not None:
            entry.failed_at = entry.created_at
            entry.last_error = _failed_target(target)
    session.add(entry)
    return entry, True


async def _outbox_by_key(session: AsyncSession, dedupe_key: str) -> OutboxEntry | None:
    return (await session.exec(select(OutboxEntry).where(OutboxEntry.dedupe_key == dedupe_key))).first()


def _outbox_lane(entry: type[OutboxEntry], target: type[OutboxEntry], run: type[Run] = Run) -> Any:
    """SQL: where an entry goes (see `OutboxDelivery.channel_id`); NULL while it has nowhere to go.

    With a target entry (an edit's message, a message's thread): nowhere until the target was sent;
    then an edit of a thread's starter message goes to the thread's parent channel, anything else to
    where the target landed (a message's channel, a thread entry's thread)."""
    return sa.case(
        (col(entry.target_id).is_(None), func.coalesce(col(entry.channel_id), col(run.thread_id))),
        (col(target.sent_at).is_(None), sa.null()),
        (
            sa.and_(col(entry.kind) == OutboxKind.edit, col(target.kind) == OutboxKind.thread),
            col(target.channel_id),
        ),
        else_=col(target.discord_channel_id),
    )


def _landed(entry: OutboxEntry, channel_id: int | None, message_id: int | None) -> None:
    if entry.discord_channel_id is None:
        entry.discord_channel_id = channel_id
    if entry.discord_message_id is None:
        entry.discord_message_id = message_id


async def _failed_attempt(session: AsyncSession, entry_id: int, error: str) -> OutboxEntry | None:
    """Count a failed attempt of an entry still open (neither sent nor failed); None if it is not open."""
    entry = await require(session, OutboxEntry, entry_id)
    if entry.sent_at is not None or entry.failed_at is not None:
        return None
    entry.attempts += 1
    entry.last_error = error[:_OUTBOX_ERROR_MAX]
    session.add(entry)
    return entry


def _failed_target(target: OutboxEntry) -> str:
    what = "the thread it goes into" if target.kind == OutboxKind.thread else "the message it edits"
    return f"{what} (outbox #{target.id}, {target.dedupe_key!r}) was not sent: {target.last_error}"[:_OUTBOX_ERROR_MAX]
