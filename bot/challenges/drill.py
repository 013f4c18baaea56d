"""An incident drill (`kind: drill`): what its `drill:` section declares, and how a drill run is scored.

A drill is a run like any other: an instructor starts it for a team, the run engine applies the broken state
of the scenarios it names (those of an existing challenge, by `scenarios_of`), and the team's verifications
end it. What a drill adds is the alert: the team is told nothing, and learns of the failure from the incident
thread of one of the drill's `alerts` in its namespace. The first such incident opened during the run is the
drill's; its Acknowledge, pressed by a member of the team, is the time to acknowledge (from the incident's
opening), and the verification that finds every scenario fixed is the time to fix (from the start, as every
run is timed). Fixing is scored by the challenge's tiers, acknowledging by `acknowledge`'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from bot.challenges.spec import Strict
from bot.errors import ScenarioInvalid
from bot.store.incidents import IncidentStore
from bot.store.models import Incident, Run
from bot.values import Duration

#: A Prometheus alerting rule's name: what `alert:` takes, and the `alertname` label Alertmanager sends.
ALERT_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]{0,99}$"


class AckTier(Strict):
    """Points for acknowledging the drill's incident within `within` of its opening."""

    within: Duration
    points: int = Field(ge=0, le=1000)


class DrillSpec(Strict):
    #: Which scenarios of the challenge (its own, or those `scenarios_of` brings) the drill breaks.
    scenarios: list[str] = Field(min_length=1)
    #: The alert names whose incident in the team's namespace is the drill's.
    alerts: list[str] = Field(min_length=1)
    #: Points by time to acknowledge, in increasing order of `within`; none past the last.
    acknowledge: list[AckTier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DrillSpec:
        for name, values in (("scenarios", self.scenarios), ("alerts", self.alerts)):
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"{name} lists {', '.join(duplicates)} twice")
        for alert in self.alerts:
            if re.fullmatch(ALERT_NAME, alert) is None:
                raise ValueError(f"alert {alert!r} is not an alerting rule's name (letters, digits, _)")
        withins = [t.within for t in self.acknowledge]
        if withins != sorted(withins) or len(set(withins)) != len(withins):
            raise ValueError("acknowledge tiers must be in increasing order of `within`")
        return self

    def acknowledge_points(self, taken: timedelta | None) -> int:
        """The points of the first tier `taken` falls within; 0 past the last one or unacknowledged."""
        if taken is None:
            return 0
        return next((tier.points for tier in self.acknowledge if taken <= tier.within), 0)

    @property
    def acknowledge_max(self) -> int:
        return max((tier.points for tier in self.acknowledge), default=0)


def chosen(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """A drill's document with only the scenarios its `drill.scenarios` names, in that order; ScenarioInvalid
    naming the field for one the challenge does not have."""
    drill = document.get("drill")
    if not isinstance(drill, dict) or not isinstance(drill.get("scenarios"), list) or not drill["scenarios"]:
        return document  # the model says what is wrong with it
    scenarios = [s for s in document.get("scenarios") or [] if isinstance(s, dict)]
    by_id = {s.get("id"): s for s in scenarios}
    for index, wanted in enumerate(drill["scenarios"]):
        if wanted not in by_id:
            known = ", ".join(str(i) for i in by_id) or "none"
            raise ScenarioInvalid(
                str(path), f"drill.scenarios[{index}]", f"no scenario {wanted!r} in the challenge (it has: {known})"
            )
    return {**document, "scenarios": [by_id[wanted] for wanted in dict.fromkeys(drill["scenarios"])]}


def alert_name(incident: Incident) -> str | None:
    labels = incident.common_labels or incident.group_labels
    name = labels.get("alertname") or incident.group_labels.get("alertname")
    return str(name) if name is not None else None


def of_drill(spec: DrillSpec, team_id: int, started_at: datetime, until: datetime | None, incident: Incident) -> bool:
    """Whether `incident` is one of the drill's: one of its alerts, in the team's namespace, opened while the drill
    ran (from its start until `until`, its end if it has ended)."""
    return (
        incident.team_id == team_id
        and alert_name(incident) in spec.alerts
        and started_at <= incident.opened_at
        and (until is None or incident.opened_at <= until)
    )


async def incidents_of(store: IncidentStore, spec: DrillSpec, run: Run, *, until: datetime | None) -> list[Incident]:
    """The drill run's incidents, oldest first (`until`: its end, None while it runs)."""
    opened = await store.of_team(run.team_id, opened_since=run.started_at)
    return [i for i in opened if of_drill(spec, run.team_id, run.started_at, until, i)]


@dataclass(frozen=True)
class Acknowledgement:
    """How the team answered the drill's alert: its first incident's opening, and the first acknowledgement of
    any of the drill's incidents (by a member of the team: during a drill no one else may press it)."""

    incident_id: int | None
    opened_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def taken(self) -> timedelta | None:
        if self.opened_at is None or self.acknowledged_at is None:
            return None
        return max(self.acknowledged_at - self.opened_at, timedelta(0))

    @classmethod
    def of(cls, incidents: Sequence[Incident], until: datetime) -> Acknowledgement:
        """From the drill's incidents (oldest first); an acknowledgement after `until` (the drill's end) is late."""
        if not incidents:
            return cls(None, None, None, None)
        acked = sorted(
            (i for i in incidents if i.acknowledged_at is not None and i.acknowledged_at <= until),
            key=lambda i: i.acknowledged_at or until,
        )
        first = incidents[0]
        if not acked:
            return cls(first.id, first.opened_at, None, None)
        return cls(first.id, first.opened_at, acked[0].acknowledged_at, acked[0].acknowledged_by)

    def to_json(self, points: int) -> dict[str, Any]:
        """What the run keeps of it (`runs.notes["drill"]`): the scoreboard and the results read it, whatever
        became of the incident since (incidents are pruned after the retention)."""
        taken = self.taken
        return {
            "incident": self.incident_id,
            "alerted_at": self.opened_at.isoformat() if self.opened_at else None,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "acknowledge_seconds": int(taken.total_seconds()) if taken is not None else None,
            "acknowledge_points": points,
        }
