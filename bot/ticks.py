"""Ticks: a lab's checkpoints the team ticks itself, with the button in its run's thread.

The button's custom id names the run and the checkpoint; this service decides what a press does. Only a member
of the run's team may tick (an instructor is not one: an instructor grades), only while the run is under way, and
only a checkpoint the catalogue says is ticked by the team. A tick is kept once, with who and when; a second
press, by anyone of the team, finds it and changes nothing. Its points count in the team's progress and on the
scoreboard from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from bot.challenges.catalog import Catalog
from bot.challenges.progress import ProgressReader, RubricProgress
from bot.challenges.rubric import Criterion
from bot.errors import MessageError
from bot.i18n import Message
from bot.live import ChangeFeed
from bot.store import RunStatus, Store, Tick
from bot.store.db import utcnow


class TickRefused(MessageError):
    """The press changes nothing: the run or checkpoint is unknown, the run is over, or the member is not of its
    team."""


@dataclass(frozen=True)
class Ticked:
    checkpoint: Criterion
    tick: Tick
    #: Whether this press made the tick (False: it was there already).
    new: bool
    progress: RubricProgress


class TickService:
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
        #: Told of each new tick: the live scoreboard.
        self._changes = changes or ChangeFeed()

    async def tick(self, run_id: int, item: str, *, role_ids: Collection[int], by: str) -> Ticked:
        """Tick `item` of run `run_id` for a member with the Discord roles `role_ids`."""
        run = await self._store.runs.get(run_id)
        team = await self._store.teams.get_by_id(run.team_id) if run is not None else None
        if run is None or team is None:
            raise TickRefused(Message("tick.run_gone", {"run": run_id}))
        challenge = self._catalog.challenges.get(run.challenge_id)
        checkpoint = challenge.criterion(item) if challenge is not None else None
        if challenge is None or checkpoint is None or checkpoint.spec.proof != "self":
            raise TickRefused(Message("tick.unknown", {"item": item}))
        if team.discord_role_id is None or team.discord_role_id not in role_ids:
            raise TickRefused(Message("tick.not_your_team", {"team": team.name}))
        if run.status != RunStatus.active:
            raise TickRefused(Message("tick.run_over", {"challenge": challenge.id}))
        tick, new = await self._store.ticks.tick(run.id, team.id, challenge.id, item, by=by, at=self._clock())
        if new:
            self._changes.changed()
        standing = await ProgressReader(store=self._store, catalog=self._catalog).of_run(team, run)
        return Ticked(checkpoint, tick, new, standing.progress)
