"""What the scoreboard is computed from, read in one transaction, and the freezes instructors set.

`ScoreboardStore.read` loads every team, run, scenario state, verification time, hint, award and passing
evidence paste at once: the ranking, the page's grid and the chart are computed from that record in memory,
so one change costs one read however many pages show it, and a frozen view is the same record cut at a moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select

from bot.store.db import Database, check_by, utc
from bot.store.models import (
    Award,
    Evidence,
    Freeze,
    HintPost,
    Run,
    ScenarioState,
    Submission,
    Team,
    Tick,
    Verification,
)


@dataclass(frozen=True)
class ClassRecord:
    """Everything the scoreboard shows, as stored at one moment (each list oldest first)."""

    teams: list[Team]
    runs: list[Run]
    states: list[ScenarioState]
    #: (run id, when) of every verification: when a scenario was first checked, not what was found.
    verified: list[tuple[int, datetime]]
    hints: list[HintPost]
    awards: list[Award]
    evidence: list[Evidence]
    ticks: list[Tick]
    #: (team id, challenge id) of every hand-in.
    submissions: list[tuple[int, int]]
    freezes: dict[int, Freeze]


class ScoreboardStore:
    """Reads for the scoreboard, and the freezes table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(self) -> ClassRecord:
        async with self._db.reading() as session:
            teams = list(await session.exec(select(Team).order_by(col(Team.id))))
            runs = list(await session.exec(select(Run).order_by(col(Run.started_at), col(Run.id))))
            states = list(await session.exec(select(ScenarioState).order_by(col(ScenarioState.id))))
            verified = [
                (run_id, at)
                for run_id, at in await session.exec(
                    select(Verification.run_id, Verification.at).order_by(col(Verification.at))
                )
            ]
            hints = list(await session.exec(select(HintPost).order_by(col(HintPost.posted_at))))
            awards = list(await session.exec(select(Award).order_by(col(Award.awarded_at))))
            evidence = list(await session.exec(select(Evidence).order_by(col(Evidence.submitted_at))))
            ticks = list(await session.exec(select(Tick).order_by(col(Tick.ticked_at))))
            submissions = [
                (team_id, challenge_id)
                for team_id, challenge_id in await session.exec(select(Submission.team_id, Submission.challenge_id))
            ]
            freezes = {f.challenge_id: f for f in await session.exec(select(Freeze))}
        return ClassRecord(
            teams=teams,
            runs=runs,
            states=states,
            verified=verified,
            hints=hints,
            awards=awards,
            evidence=evidence,
            ticks=ticks,
            submissions=submissions,
            freezes=freezes,
        )

    async def freezes(self) -> dict[int, Freeze]:
        async with self._db.reading() as session:
            return {f.challenge_id: f for f in await session.exec(select(Freeze))}

    async def freeze(self, challenge_id: int, at: datetime, *, by: str) -> Freeze:
        """Freeze the challenge's public scoreboard at `at`, or move its freeze there."""
        at = utc("at", at)
        check_by(by)
        async with self._db.writing() as session:
            freeze = await session.get(Freeze, challenge_id)
            if freeze is None:
                freeze = Freeze(challenge_id=challenge_id, at=at, frozen_by=by)
            else:
                freeze.at, freeze.frozen_by = at, by
            session.add(freeze)
        return freeze

    async def unfreeze(self, challenge_id: int | None = None) -> list[int]:
        """Lift the challenge's freeze, or every one: the challenges unfrozen."""
        async with self._db.writing() as session:
            query = select(Freeze.challenge_id)
            if challenge_id is not None:
                query = query.where(Freeze.challenge_id == challenge_id)
            lifted = sorted(await session.exec(query))
            if lifted:
                await session.exec(delete(Freeze).where(col(Freeze.challenge_id).in_(lifted)))
        return lifted
