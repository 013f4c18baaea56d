"""Ticks in the store: the checkpoints of a lab a team ticked itself, each once, with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.store.db import Database, check_by, utc
from bot.store.models import Tick


class TickStore:
    """The ticks table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def tick(
        self, run_id: int, team_id: int, challenge_id: int, item: str, *, by: str, at: datetime
    ) -> tuple[Tick, bool]:
        """The team's tick of `item`, and whether it is made now (on `run_id`) rather than found: a second press
        changes nothing."""
        at = utc("at", at)
        check_by(by)
        async with self._db.writing() as session:
            mine = select(Tick).where(Tick.team_id == team_id, Tick.challenge_id == challenge_id, Tick.item == item)
            earlier = (await session.exec(mine)).first()
            if earlier is not None:
                return earlier, False
            tick = Tick(
                team_id=team_id, challenge_id=challenge_id, run_id=run_id, item=item, ticked_by=by, ticked_at=at
            )
            session.add(tick)
        return tick, True

    async def of_team(self, team_id: int, challenge_id: int | None = None) -> list[Tick]:
        """The team's ticks, oldest first."""
        async with self._db.reading() as session:
            query = select(Tick).where(Tick.team_id == team_id)
            if challenge_id is not None:
                query = query.where(Tick.challenge_id == challenge_id)
            return list(await session.exec(query.order_by(col(Tick.ticked_at), col(Tick.id))))
