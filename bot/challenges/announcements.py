"""The class's announcements channel: a line when a team is the first to solve a scenario (🩸), when a team is the
first to finish a challenge, and when any other team finishes one.

Each line is an outbox entry written in the transaction that records the fact itself (the verification that
solved the scenario, the end of the run), so a crash between the fact and its post neither loses the line nor
posts it twice: both are kept or neither, and the outbox delivers what it keeps once. Who is first is read in
that same transaction, against every other run of the challenge in the store, so of two teams solving at once
exactly one is first. A build or a lab has no announcements: its items are a rubric, not a race, and every team's
run of it ends at its deadline. Nor has a drill: it is started for one team unannounced, and a line naming what
that team fixed would tell the next team what its drill will break.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import markup
from bot.challenges.catalog import Catalog
from bot.challenges.scoring import Score
from bot.i18n import Lang, t
from bot.outbox import OutboxItem
from bot.store import Run, Team
from bot.store.db import WriteStep
from bot.store.runs import SolvedStep, finished_elsewhere, solved_elsewhere


class AnnouncementOutbox(Protocol):
    """The durable outbox, as announcements use it (bot.outbox.Outbox)."""

    def enqueuing(self, items: Sequence[OutboxItem]) -> WriteStep: ...


class Announcements:
    """The lines of one announcements channel (`channel_id`; None: the class has none, nothing is written)."""

    def __init__(self, *, outbox: AnnouncementOutbox, catalog: Catalog, lang: Lang, channel_id: int | None) -> None:
        self._outbox = outbox
        self._catalog = catalog
        self._lang = lang
        self._channel_id = channel_id

    def _announced(self, run: Run) -> bool:
        challenge = self._catalog.get(run.challenge_id)
        return self._channel_id is not None and not (challenge.scored_by_items or challenge.is_drill)

    def solved(self, run: Run, team: Team) -> SolvedStep | None:
        """The write, in the verification's transaction, of a 🩸 line per scenario `team` is the first to solve."""
        if not self._announced(run):
            return None

        async def write(session: AsyncSession, scenario_ids: Sequence[str]) -> None:
            before = await solved_elsewhere(session, run.id, scenario_ids)
            challenge = self._catalog.get(run.challenge_id)
            lines = [
                self._line(
                    f"run:{run.id}:first-solve:{scenario_id}",
                    t(
                        "announce.first_solve",
                        self._lang,
                        team=markup.escape(team.name),
                        challenge=challenge.id,
                        scenario=markup.escape(challenge.checked_item(scenario_id).title.get(self._lang)),
                    ),
                )
                for scenario_id in scenario_ids
                if scenario_id not in before
            ]
            if lines:
                await self._outbox.enqueuing(lines)(session)

        return write

    def finished(self, run: Run, team: Team, score: Score) -> WriteStep | None:
        """The write, in the transaction that ends the run as finished, of the line saying so: the first to
        finish the challenge gets a line of its own."""
        if not self._announced(run):
            return None

        async def write(session: AsyncSession) -> None:
            first = not await finished_elsewhere(session, run.id)
            key = "announce.first_finish" if first else "announce.finished"
            text = t(
                key,
                self._lang,
                team=markup.escape(team.name),
                challenge=run.challenge_id,
                elapsed=markup.clock(score.elapsed),
                points=score.points,
            )
            await self._outbox.enqueuing([self._line(f"run:{run.id}:finished", text)])(session)

        return write

    def _line(self, key: str, text: str) -> OutboxItem:
        return OutboxItem(
            key, "message", {"content": text, "allowed_mentions": {"parse": []}}, channel_id=self._channel_id
        )
