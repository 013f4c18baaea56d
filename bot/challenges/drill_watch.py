"""What the incidents need to know of the drills under way: which incident's thread a drill run takes as its own
(and calls the team to), and which incidents only the team may acknowledge.

`bot.incidents` never imports the challenges: it takes this through its own protocols (`DrillThreads`,
`AcknowledgeGate`), which the composition root meets with a `DrillWatch`.
"""

from __future__ import annotations

from typing import Any

from bot.challenges import drill, render_drill
from bot.challenges.catalog import Catalog
from bot.challenges.drill import DrillSpec
from bot.i18n import Lang
from bot.store import Run, Store
from bot.store.models import Incident


class DrillWatch:
    def __init__(self, *, catalog: Catalog, store: Store, lang: Lang) -> None:
        self._catalog = catalog
        self._store = store
        self._lang = lang

    async def _drills(self, team_id: int | None) -> list[tuple[Run, DrillSpec]]:
        """The team's drill runs under way, with their drill's spec."""
        if team_id is None:
            return []
        runs = [r for r in await self._store.runs.all_active() if r.team_id == team_id]
        challenges = [(r, self._catalog.challenges.get(r.challenge_id)) for r in runs]
        return [(r, c.spec.drill) for r, c in challenges if c is not None and c.spec.drill is not None]

    async def hosting(self, incident: Incident) -> tuple[int, dict[str, Any]] | None:
        """When `incident` is the first of a drill under way: the drill run, whose thread its thread becomes, and
        what its starter says to the team (their role mentioned). None for any other incident."""
        for run, spec in await self._drills(incident.team_id):
            incidents = await drill.incidents_of(self._store.incidents, spec, run, until=None)
            if incidents and incidents[0].id == incident.id:
                team = await self._store.teams.get_by_id(run.team_id)
                role = team.discord_role_id if team is not None else None
                return run.id, render_drill.alert_call(run, role, self._lang)
        return None

    async def team_only(self, incident: Incident) -> bool:
        """Whether `incident` belongs to a drill under way: its Acknowledge is what the drill measures, so only the
        team's members may press it (not an instructor, who would spoil the measure)."""
        for run, spec in await self._drills(incident.team_id):
            if drill.of_drill(spec, run.team_id, run.started_at, None, incident):
                return True
        return False
