"""Evidence pasted for a build's rubric: a team's command output judged by its criterion's parser.

Discord's `/challenge evidence` and `kubecamp evidence submit` both come here. An item is a criterion's id
(`swarm-scaled`), or `<challenge>/<id>` where two challenges have a criterion of that id. A paste that passes
is kept (who, when, what the parser found, the text) and the criterion's points count; one that does not
is answered with what is missing and changes nothing. A team pastes while its run of the build is under
way; an instructor acting for a team may paste for any run of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.progress import proven_item
from bot.challenges.rubric import Criterion, EvidenceSpec
from bot.errors import MessageError
from bot.evidence import Verdict, evaluate
from bot.i18n import Message
from bot.live import ChangeFeed
from bot.store import Evidence, RunStatus, Store, Team
from bot.store.db import utcnow


class EvidenceRefused(MessageError):
    """The paste cannot be taken: the item is unknown, ambiguous or not proven by evidence, or the team has no
    run of its build to paste for."""


@dataclass(frozen=True)
class EvidenceItem:
    challenge: Challenge
    criterion: Criterion

    @property
    def spec(self) -> EvidenceSpec:
        evidence = self.criterion.spec.evidence
        assert evidence is not None  # noqa: S101 — `item` returns only criteria proven by evidence
        return evidence


@dataclass(frozen=True)
class Pasted:
    item: EvidenceItem
    verdict: Verdict
    #: What was kept: None when the paste did not pass.
    evidence: Evidence | None


class EvidenceService:
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
        #: Told of each paste kept: the live scoreboard.
        self._changes = changes or ChangeFeed()

    def item(self, item: str) -> EvidenceItem:
        """The evidence criterion `item` names (`swarm-scaled` or `9/swarm-scaled`)."""
        return EvidenceItem(
            *proven_item(self._catalog, item, proof="evidence", messages="evidence", refused=EvidenceRefused)
        )

    async def open(self, team: Team, item: str, *, any_run: bool) -> EvidenceItem:
        """The item a team may paste for now: under way, its run of the item's build; with `any_run` (an
        instructor acting for the team), any run of it."""
        found = self.item(item)
        runs = [r for r in await self._store.runs.of_team(team.id) if r.challenge_id == found.challenge.id]
        if not runs or not (any_run or any(r.status == RunStatus.active for r in runs)):
            key = "evidence.no_active_run" if runs else "evidence.no_run"
            raise EvidenceRefused(Message(key, {"challenge": found.challenge.id, "item": found.criterion.id}))
        return found

    async def paste(self, team: Team, item: str, text: str, *, by: str, any_run: bool) -> Pasted:
        """Judge `text` for `item`; keep it when it passes."""
        found = await self.open(team, item, any_run=any_run)
        verdict = evaluate(found.spec.parser, found.spec.params, text)
        if not verdict.passed:
            return Pasted(found, verdict, None)
        kept = await self._store.evidence.record(
            team.id,
            found.challenge.id,
            found.criterion.id,
            parser=found.spec.parser,
            verdict=verdict.message.to_json(),
            text=text,
            by=by,
            at=self._clock(),
        )
        self._changes.changed()
        return Pasted(found, verdict, kept)
