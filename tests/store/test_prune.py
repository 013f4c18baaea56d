"""Pruning old rows on a real, migrated SQLite file: incidents with their alerts (`IncidentStore.prune`) and the
verifications of ended runs (`RunStore.prune`). Older than the cutoff goes, newer or unfinished stays, a call
deletes at most its limit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.store import InvalidValue, Store, Team
from bot.store.incidents import IncidentStore
from bot.store.models import AlertStatus, Incident, IncidentAlert, Verification
from bot.store.notifications import AlertRecord, NotificationRecord

from .conftest import HOUR, T0

pytestmark = pytest.mark.every_database

DAY = timedelta(days=1)
CUTOFF = T0 + 5 * DAY
FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved


def _notification(group: str, *fingerprints: str, status: AlertStatus, at: datetime) -> NotificationRecord:
    alerts = [
        AlertRecord(
            fingerprint=fingerprint,
            status=status,
            starts_at=at if status == FIRING else at - HOUR,
            ends_at=at if status == RESOLVED else None,
            labels={"alertname": group, "namespace": "kube-system"},
            annotations={},
        )
        for fingerprint in fingerprints
    ]
    return NotificationRecord(group_key=group, status=status, receiver="kubecamp-bot", alerts=alerts)


async def _incident(
    incidents: IncidentStore, group: str, *fingerprints: str, resolved_at: datetime | None = None, fired: datetime = T0
) -> Incident:
    """An incident of `group` that fired at `fired`, or an hour before it resolved if it did."""
    fired = fired if resolved_at is None else resolved_at - HOUR
    recorded = await incidents.record(_notification(group, *fingerprints, status=FIRING, at=fired), at=fired)
    assert recorded.incident is not None
    if resolved_at is not None:
        await incidents.record(_notification(group, *fingerprints, status=RESOLVED, at=resolved_at), at=resolved_at)
    fresh = await incidents.get(recorded.incident.id)
    assert fresh is not None and (fresh.resolved_at == resolved_at)
    return fresh


async def _column(store: Store, column: Any) -> list[int]:
    """Every value of an integer column, in order."""
    async with store.db.reading() as session:
        return sorted(await session.exec(select(column)))


async def test_resolved_incidents_older_than_the_cutoff_go_with_their_alerts_in_bounded_batches(store: Store) -> None:
    incidents = store.incidents
    old = await _incident(incidents, "Old", "a", "b", "c", resolved_at=T0)
    again = await _incident(incidents, "Old", "a", fired=T0 + HOUR)  # the group firing again: linked to the old one
    firing = await _incident(incidents, "StillFiring", "f")  # opened before the cutoff, still firing
    recent = await _incident(incidents, "Recent", "r", resolved_at=CUTOFF + HOUR)
    newest = await _incident(incidents, "Newest", "n", resolved_at=T0 + HOUR)  # old, but the highest id
    assert again.previous_id == old.id

    assert await incidents.prune(CUTOFF, 2) == {"incident_alerts": 2, "incidents": 0}
    assert await incidents.prune(CUTOFF, 2) == {"incident_alerts": 1, "incidents": 1}
    assert await incidents.prune(CUTOFF, 2) == {"incident_alerts": 0, "incidents": 0}

    kept = sorted([again.id, firing.id, recent.id, newest.id])
    assert await _column(store, col(Incident.id)) == kept
    assert await _column(store, col(IncidentAlert.incident_id)) == kept  # one alert each
    relinked = await incidents.get(again.id)
    assert relinked is not None and relinked.previous_id is None


async def test_verifications_of_runs_ended_before_the_cutoff_go_and_the_runs_stay(store: Store, team: Team) -> None:
    runs = store.runs
    ended = await runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    other_team = await store.teams.create("Red Pandas", "kc-red-pandas", role_id=1002, channel_id=2002)
    recent = await runs.create(other_team.id, 1, CUTOFF, CUTOFF + HOUR, ["a"], {})
    active = await runs.create(team.id, 2, T0, T0 + 30 * DAY, ["a"], {})  # started long ago, still going
    for run in (ended, recent, active):
        for minute in range(3):
            at = run.started_at + timedelta(minutes=minute)
            await runs.record_verification(run.id, "manual", at, [{"scenario": "a"}], {"a": minute == 2})
    await runs.record_hint(ended.id, "a", 1, T0 + HOUR / 2)
    await runs.finish(ended.id, "finished", T0 + HOUR / 2, 1800, 100, 10)
    await runs.finish(recent.id, "finished", CUTOFF + HOUR / 2, 1800, 100, 10)

    assert await runs.prune(CUTOFF, 2) == {"verifications": 2}
    assert await runs.prune(CUTOFF, 2) == {"verifications": 1}
    assert await runs.prune(CUTOFF, 2) == {"verifications": 0}

    assert await _column(store, col(Verification.run_id)) == sorted([recent.id] * 3 + [active.id] * 3)
    kept = await runs.get(ended.id)
    assert kept is not None and (kept.points, kept.tier_percent) == (10, 100)  # the score stays
    assert [s.status for s in await runs.scenario_states(ended.id)] == ["solved"]
    assert [h.level for h in await runs.hints_posted(ended.id)] == [1]


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_limit_below_one_is_refused(store: Store, limit: int) -> None:
    await _incident(store.incidents, "Old", "a", resolved_at=T0)
    await _incident(store.incidents, "Newest", "n")
    with pytest.raises(InvalidValue, match="limit"):
        await store.incidents.prune(CUTOFF, limit)
    with pytest.raises(InvalidValue, match="limit"):
        await store.runs.prune(CUTOFF, limit)
    assert await store.incidents.prune(CUTOFF, 10) == {"incident_alerts": 1, "incidents": 1}
