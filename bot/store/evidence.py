"""Evidence in the store: the command outputs teams pasted for evidence items of a build's rubric and that passed.

Each passing paste is kept with who pasted it, when, what the parser found and the text itself; an item
counts its points once however many pastes passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from bot.i18n import Message
from bot.limits import TEXT_INPUT_MAX
from bot.store.db import Database, check_by, utc
from bot.store.errors import InvalidValue, StoreConflict
from bot.store.models import Evidence
from bot.store.runs import latest_run_id


class EvidenceStore:
    """The evidence table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        team_id: int,
        challenge_id: int,
        item: str,
        *,
        parser: str,
        verdict: dict[str, Any],
        text: str,
        by: str,
        at: datetime,
    ) -> Evidence:
        """Keep a passing paste for `item` on the team's latest run of the challenge. `StoreConflict` (with its
        reason) when the team never ran the challenge."""
        at = utc("at", at)
        if not text.strip() or len(text) > TEXT_INPUT_MAX:
            raise InvalidValue("text", text[:40], f"must be 1 to {TEXT_INPUT_MAX} characters")
        check_by(by)
        async with self._db.writing() as session:
            run_id = await latest_run_id(session, team_id, challenge_id)
            if run_id is None:
                raise StoreConflict(
                    f"the team has no run of challenge {challenge_id} to paste evidence for",
                    reason=Message("conflict.evidence_no_run", {"challenge": challenge_id}),
                )
            evidence = Evidence(
                team_id=team_id,
                challenge_id=challenge_id,
                run_id=run_id,
                item=item,
                parser=parser,
                verdict=verdict,
                text=text,
                submitted_by=by,
                submitted_at=at,
            )
            session.add(evidence)
        return evidence

    async def of_team(self, team_id: int, challenge_id: int | None = None) -> list[Evidence]:
        """The team's passing pastes, oldest first."""
        async with self._db.reading() as session:
            query = select(Evidence).where(Evidence.team_id == team_id)
            if challenge_id is not None:
                query = query.where(Evidence.challenge_id == challenge_id)
            return list(await session.exec(query.order_by(col(Evidence.submitted_at), col(Evidence.id))))
