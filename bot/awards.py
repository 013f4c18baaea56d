"""Grading: an instructor gives a team points for a `graded` criterion of a rubric (a build's, or a break-fix
challenge's bonus items), or takes them back.

Discord's `/grade` and `kubecamp grade` both come here. An item is a criterion's id (`report`), or
`<challenge>/<id>` (`4/report`) where two challenges have a criterion of that id. Every award keeps who gave
it, when and why; an item's awards never pass its points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.progress import awarded, proven_item
from bot.challenges.rubric import Criterion
from bot.errors import MessageError, UnknownTeam
from bot.live import ChangeFeed
from bot.store import Award, Store, Team
from bot.store.db import utcnow


class GradeRefused(MessageError):
    """The item cannot be graded: unknown, ambiguous, or proven otherwise than by grading."""


@dataclass(frozen=True)
class Graded:
    award: Award
    team: Team
    challenge: Challenge
    #: None only when an award is undone whose item the catalogue no longer has.
    criterion: Criterion | None
    #: The item's points still standing, this award included.
    total: int


class AwardService:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        clock: Callable[[], datetime] = utcnow,
        changes: ChangeFeed | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._clock = clock
        #: Told of each award given or undone: the live scoreboard.
        self._changes = changes or ChangeFeed()

    async def _team(self, name: str) -> Team:
        team = await self._store.teams.get(name)
        if team is None:
            raise UnknownTeam(name)
        return team

    def item(self, item: str) -> tuple[Challenge, Criterion]:
        """The challenge and criterion `item` names (`report` or `4/report`)."""
        return proven_item(self._catalog, item, proof="graded", messages="grade", refused=GradeRefused)

    async def grade(self, team_name: str, item: str, points: int, reason: str, *, by: str) -> Graded:
        team = await self._team(team_name)
        challenge, criterion = self.item(item)
        award = await self._store.awards.grant(
            team.id,
            challenge.id,
            criterion.id,
            points=points,
            maximum=criterion.points,
            reason=reason,
            by=by,
            at=self._clock(),
        )
        self._changes.changed()
        return Graded(award, team, challenge, criterion, await self._standing(team, award))

    async def undo(self, team_name: str, *, by: str, item: str | None = None, award_id: int | None = None) -> Graded:
        """Take back the award `award_id` of the team, or its latest award still standing for `item`."""
        team = await self._team(team_name)
        criterion_id = self.item(item)[1].id if item is not None else None
        award = await self._store.awards.undo(team.id, by=by, at=self._clock(), item=criterion_id, award_id=award_id)
        self._changes.changed()
        challenge = self._catalog.get(award.challenge_id)
        return Graded(award, team, challenge, challenge.criterion(award.item), await self._standing(team, award))

    async def awards(self, team_name: str, challenge_id: int | None = None) -> list[Award]:
        team = await self._team(team_name)
        return await self._store.awards.of_team(team.id, challenge_id)

    async def _standing(self, team: Team, award: Award) -> int:
        """The points still standing for the award's item."""
        return awarded(await self._store.awards.of_team(team.id, award.challenge_id)).get(award.item, 0)
