"""Awards in the store: points an instructor gives a team for an item of a challenge's rubric.

Every award keeps who gave it, when and why; taking one back marks it undone (who, when) and keeps it. The
points of an item never pass its maximum: the sum is checked and the award written in one write
transaction, so two instructors grading at once cannot both pass it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Message
from bot.store.db import Database, check_by, utc
from bot.store.errors import InvalidValue, StoreConflict
from bot.store.models import Award
from bot.store.runs import latest_run_id

REASON_MAX = 1000


class AwardStore:
    """The awards table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def grant(
        self,
        team_id: int,
        challenge_id: int,
        item: str,
        *,
        points: int,
        maximum: int,
        reason: str,
        by: str,
        at: datetime,
    ) -> Award:
        """Give `points` for `item` on the team's latest run of the challenge. `StoreConflict` (with its reason)
        when the team never ran the challenge or when the item's awards would pass `maximum`."""
        at = utc("at", at)
        reason = reason.strip()
        if not reason:
            raise InvalidValue("reason", reason, "is empty")
        if len(reason) > REASON_MAX:
            raise InvalidValue("reason", reason, f"is longer than {REASON_MAX} characters")
        if points < 0:
            raise InvalidValue("points", points, "is negative")
        check_by(by)
        async with self._db.writing() as session:
            run_id = await latest_run_id(session, team_id, challenge_id)
            if run_id is None:
                raise StoreConflict(
                    f"the team has no run of challenge {challenge_id} to grade",
                    reason=Message("conflict.grade_no_run", {"challenge": challenge_id}),
                )
            given = sum(a.points for a in await _active(session, team_id, challenge_id, item))
            if given + points > maximum:
                raise StoreConflict(
                    f"item {item}: {given} points awarded, {points} more would pass its maximum {maximum} "
                    f"(at most {maximum - given} can be given)",
                    reason=Message(
                        "conflict.grade_over_maximum",
                        {"item": item, "points": points, "given": given, "maximum": maximum, "left": maximum - given},
                    ),
                )
            award = Award(
                team_id=team_id,
                challenge_id=challenge_id,
                run_id=run_id,
                item=item,
                points=points,
                reason=reason,
                awarded_by=by,
                awarded_at=at,
            )
            session.add(award)
        return award

    async def undo(
        self, team_id: int, *, by: str, at: datetime, item: str | None = None, award_id: int | None = None
    ) -> Award:
        """Mark undone the award `award_id` of the team, or else the team's latest award still standing for
        `item`. `StoreConflict` (with its reason) when there is none to undo."""
        at = utc("at", at)
        if (item is None) == (award_id is None):
            raise InvalidValue("undo", (item, award_id), "give an item or an award id, not both")
        async with self._db.writing() as session:
            if award_id is not None:
                award = await session.get(Award, award_id)
                if award is None or award.team_id != team_id or award.undone_at is not None:
                    raise StoreConflict(
                        f"team #{team_id} has no standing award #{award_id}",
                        reason=Message("conflict.grade_no_award_id", {"award": award_id}),
                    )
            else:
                standing = await _active(session, team_id, None, str(item))
                if not standing:
                    raise StoreConflict(
                        f"team #{team_id} has no standing award for {item}",
                        reason=Message("conflict.grade_no_award", {"item": item}),
                    )
                award = standing[-1]
            award.undone_by = by
            award.undone_at = at
            session.add(award)
            await session.flush()
            await session.refresh(award)
        return award

    async def of_team(self, team_id: int, challenge_id: int | None = None) -> list[Award]:
        """The team's awards, undone ones too, oldest first."""
        async with self._db.reading() as session:
            query = select(Award).where(Award.team_id == team_id)
            if challenge_id is not None:
                query = query.where(Award.challenge_id == challenge_id)
            return list(await session.exec(query.order_by(col(Award.awarded_at), col(Award.id))))


async def _active(session: AsyncSession, team_id: int, challenge_id: int | None, item: str) -> list[Award]:
    """The team's awards still standing for `item` (of the challenge, if given), oldest first."""
    query = select(Award).where(Award.team_id == team_id, Award.item == item, col(Award.undone_at).is_(None))
    if challenge_id is not None:
        query = query.where(Award.challenge_id == challenge_id)
    return list(await session.exec(query.order_by(col(Award.awarded_at), col(Award.id))))
