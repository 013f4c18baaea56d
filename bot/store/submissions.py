"""Submissions in the store: each team's answers to a challenge's hand-in form, every one kept.

The newest submission of a team for a challenge is its current one; earlier ones stay as history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import col, func, select

from bot.store.db import Database, require, utc
from bot.store.errors import InvalidValue, StoreConflict
from bot.store.models import Run, Submission, Team


class SubmissionStore:
    """The submissions table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
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
        async with self._db.writing() as session:
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

    async def of_team(self, team_id: int, challenge_id: int) -> list[Submission]:
        """All of the team's submissions for the challenge, newest first (the first is current)."""
        async with self._db.reading() as session:
            query = (
                select(Submission)
                .where(Submission.team_id == team_id, Submission.challenge_id == challenge_id)
                .order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
            )
            return list(await session.exec(query))

    async def all(
        self, challenge_id: int | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Submission, Team]]:
        """Every team's submissions (of one challenge, or all), newest first, each with its team."""
        if offset < 0 or (limit is not None and limit < 1):
            raise InvalidValue("limit/offset", (limit, offset), "must be a positive page")
        async with self._db.reading() as session:
            query = select(Submission, Team).where(Submission.team_id == Team.id)
            if challenge_id is not None:
                query = query.where(Submission.challenge_id == challenge_id)
            query = query.order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc()).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [(submission, team) for submission, team in await session.exec(query)]

    async def count(self, challenge_id: int | None = None) -> int:
        async with self._db.reading() as session:
            query = select(func.count()).select_from(Submission)
            if challenge_id is not None:
                query = query.where(Submission.challenge_id == challenge_id)
            return int((await session.exec(query)).one())
