"""`Store`: the stores of the bot's state, one per aggregate, over one `Database`.

Every method of a store is its own transaction and returns detached model instances (the session is
closed, nothing lazy-loads). Errors:

* the database cannot be reached, read or written → `bot.errors.StoreUnavailable`, chaining the
  driver error;
* a write the stored data forbids (duplicate, second active run, history in the way, …) →
  `StoreConflict`; a run or team id that does not exist → `NotFound`; a team name that does not
  exist → `bot.errors.UnknownTeam`; a value that breaks a rule of the schema → `InvalidValue`
  (also a `ValueError`), before anything is written.

Write transactions start with BEGIN IMMEDIATE on SQLite and take an advisory lock on PostgreSQL (see
`bot.store.db`), so a read-then-write is serialised against other writers, of any process, instead of failing.
"""

from __future__ import annotations

from typing import Self

from bot.store.awards import AwardStore
from bot.store.boards import BoardStore
from bot.store.db import Database
from bot.store.evidence import EvidenceStore
from bot.store.incidents import IncidentStore
from bot.store.runs import RunStore
from bot.store.scoreboard import ScoreboardStore
from bot.store.submissions import SubmissionStore
from bot.store.teams import TeamStore
from bot.store.ticks import TickStore


class Store:
    """The bot's stores, one per aggregate, over one `Database`. Open with `await Store.open(url)`, close
    with `await store.close()`.

    The outbox's table is not among them: only the outbox reads and writes it, through its own
    `OutboxStore` on the same `Database`, which the composition root builds."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.teams = TeamStore(db)
        self.runs = RunStore(db)
        self.submissions = SubmissionStore(db)
        self.incidents = IncidentStore(db)
        self.awards = AwardStore(db)
        self.evidence = EvidenceStore(db)
        self.boards = BoardStore(db)
        self.ticks = TickStore(db)
        self.scoreboard = ScoreboardStore(db)

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

    async def reachable(self) -> None:
        """Raise `StoreUnavailable` unless the database answers a read now (`Database.reachable`)."""
        await self.db.reachable()
