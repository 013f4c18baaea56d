"""Incidents in the store: what Alertmanager notified, as episodes of alert groups.

`IncidentStore.record` is the webhook's one write: a notification is applied in a single transaction,
so the webhook can answer 2xx exactly when it is kept. Applying it is idempotent: an alert is a row
per (incident, fingerprint, startsAt), a resolved alert stays resolved, and only a real change counts
as one (bumps the incident's `version`). A group that fires after its incident resolved opens a new
incident, linked to the previous one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.errors import NotFound, StoreConflict
from bot.store.models import (
    AlertStatus,
    Incident,
    IncidentAlert,
    IncidentStatus,
    Run,
    RunStatus,
    Team,
)
from bot.store.repository import Store, _utc


@dataclass(frozen=True)
class AlertRecord:
    """One alert of a notification, as the store keeps it."""

    fingerprint: str
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str = ""


@dataclass(frozen=True)
class NotificationRecord:
    """A notification of one alert group (Alertmanager's webhook body, validated)."""

    group_key: str
    status: AlertStatus
    receiver: str
    alerts: Sequence[AlertRecord]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated_alerts: int = 0

    @property
    def namespace(self) -> str | None:
        """The namespace every alert of the group is in, if they share one."""
        if "namespace" in self.common_labels:
            return self.common_labels["namespace"]
        namespaces = {a.labels.get("namespace") for a in self.alerts}
        return namespaces.pop() if len(namespaces) == 1 else None


@dataclass(frozen=True)
class Recorded:
    """What a notification did: the incident it went to (None if every alert in it was already
    resolved and known), whether that incident is new, and whether anything changed."""

    incident: Incident | None
    created: bool
    changed: bool


class IncidentStore:
    """The incident tables, on the bot's `Store` (same engine, same error translation)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(
        self, notification: NotificationRecord, *, at: datetime, alerts_channel: int | None = None
    ) -> Recorded:
        """Apply a notification in one transaction (see the module docstring).

        A new incident goes to the team whose namespace the alerts share (its channel, its active
        run), else to `alerts_channel`; `channel_id` stays None when there is neither.
        """
        at = _utc("at", at)
        for alert in notification.alerts:
            _utc("starts_at", alert.starts_at)
            if alert.ends_at is not None:
                _utc("ends_at", alert.ends_at)
        async with self._store.writing() as session:
            known = await _known_alerts(session, notification)
            opened = await _open_incident(session, notification.group_key)
            touched: dict[int, Incident] = {}
            changed = False
            created = False
            for alert in notification.alerts:
                row = known.get((alert.fingerprint, alert.starts_at))
                if row is not None:
                    if _update_alert(row, alert):
                        session.add(row)
                        changed = True
                        if row.incident_id not in touched:  # read each incident once, not once per alert
                            touched[row.incident_id] = await _incident(session, row.incident_id)
                    continue
                if opened is None:
                    opened = await _new_incident(session, notification, at, alerts_channel)
                    created = True
                session.add(_new_alert(opened.id, alert))
                touched[opened.id] = opened
                changed = True
            if opened is not None:
                touched.setdefault(opened.id, opened)
                changed |= not _same_metadata(opened, notification)
                if notification.status == AlertStatus.resolved and notification.truncated_alerts == 0:
                    # The whole group has resolved: an alert Alertmanager no longer lists has too.
                    changed |= await _resolve_rest(session, opened.id, at)
            if not changed:
                return Recorded(incident=opened, created=False, changed=False)
            await session.flush()
            for incident in touched.values():
                if incident.id == (opened.id if opened else None):
                    _take_metadata(incident, notification, at)
                await _settle(session, incident, at)
                incident.version += 1
                session.add(incident)
        return Recorded(incident=opened, created=created, changed=True)

    async def get(self, incident_id: int) -> Incident | None:
        async with self._store.reading() as session:
            return await session.get(Incident, incident_id)

    async def alerts(self, incident_id: int) -> list[IncidentAlert]:
        """The incident's alerts: firing first, then by when they started."""
        async with self._store.reading() as session:
            query = (
                select(IncidentAlert)
                .where(IncidentAlert.incident_id == incident_id)
                .order_by(
                    sa.case((col(IncidentAlert.status) == AlertStatus.firing, 0), else_=1),
                    col(IncidentAlert.starts_at),
                    col(IncidentAlert.id),
                )
            )
            return list(await session.exec(query))

    async def recent(self, *, status: IncidentStatus | None = None, limit: int = 25) -> list[Incident]:
        """The newest incidents (firing ones first), optionally of one status."""
        async with self._store.reading() as session:
            query = select(Incident)
            if status is not None:
                query = query.where(Incident.status == status)
            query = query.order_by(
                sa.case((col(Incident.status) == IncidentStatus.firing, 0), else_=1), col(Incident.id).desc()
            ).limit(limit)
            return list(await session.exec(query))

    async def count_open(self) -> int:
        """How many incidents are firing (not resolved yet)."""
        async with self._store.reading() as session:
            query = select(sa.func.count()).select_from(Incident).where(Incident.status == IncidentStatus.firing)
            count: int = (await session.exec(query)).one()
        return count

    async def to_publish(self, *, not_before: datetime) -> list[Incident]:
        """Incidents with changes not yet rendered: never published ones, and those last published
        at or before `not_before` (the edit interval), oldest first."""
        not_before = _utc("not_before", not_before)
        async with self._store.reading() as session:
            query = (
                select(Incident)
                .where(
                    col(Incident.version) > col(Incident.published_version),
                    sa.or_(col(Incident.published_at).is_(None), col(Incident.published_at) <= not_before),
                )
                .order_by(col(Incident.id))
            )
            return list(await session.exec(query))

    async def next_publish_due(self) -> datetime | None:
        """When the earliest incident waiting out its edit interval was last published (None if none)."""
        async with self._store.reading() as session:
            query = select(sa.func.min(col(Incident.published_at))).where(
                col(Incident.version) > col(Incident.published_version)
            )
            due: datetime | None = (await session.exec(query)).one()
        return _utc("published_at", due) if due is not None else None

    async def mark_published(
        self, incident_id: int, *, version: int, announced: Mapping[int, AlertStatus], at: datetime
    ) -> None:
        """Record that `version` of the incident was rendered, and which alert statuses were announced."""
        at = _utc("at", at)
        async with self._store.writing() as session:
            incident = await _incident(session, incident_id)
            incident.published_version = max(incident.published_version, version)
            incident.published_at = at
            session.add(incident)
            for alert_id, status in announced.items():
                await session.exec(
                    sa.update(IncidentAlert)
                    .where(col(IncidentAlert.id) == alert_id, col(IncidentAlert.incident_id) == incident_id)
                    .values(announced=status)
                )

    async def runs_to_notify(self) -> list[Incident]:
        """Incidents that opened during a team's run whose thread has not been told yet."""
        async with self._store.reading() as session:
            query = select(Incident).where(col(Incident.run_id).is_not(None), col(Incident.run_notified).is_(False))
            return list(await session.exec(query.order_by(col(Incident.id))))

    async def mark_run_notified(self, incident_id: int) -> None:
        async with self._store.writing() as session:
            incident = await _incident(session, incident_id)
            incident.run_notified = True
            session.add(incident)

    async def acknowledge(self, incident_id: int, *, by: str, at: datetime) -> tuple[Incident, bool]:
        """(the incident, True) when this acknowledged it; (the incident, False) if someone had already."""
        at = _utc("at", at)
        async with self._store.writing() as session:
            incident = await _incident(session, incident_id)
            if incident.acknowledged_at is not None:
                return incident, False
            incident.acknowledged_by = by[:100]
            incident.acknowledged_at = at
            incident.version += 1
            session.add(incident)
        return incident, True

    async def set_silence(self, incident_id: int, *, silence_id: str, by: str, until: datetime) -> Incident:
        """Record the incident's silence; `StoreConflict` if another silence is already recorded (it would
        be lost, and could no longer be lifted)."""
        until = _utc("until", until)
        async with self._store.writing() as session:
            incident = await _incident(session, incident_id)
            if incident.silence_id is not None and incident.silence_id != silence_id:
                raise StoreConflict(f"incident #{incident_id} is already silenced by {incident.silence_id}")
            incident.silence_id = silence_id
            incident.silenced_by = by[:100]
            incident.silenced_until = until
            incident.version += 1
            session.add(incident)
        return incident

    async def clear_silence(self, incident_id: int, *, silence_id: str) -> Incident:
        """Forget the incident's silence if it is still `silence_id`; `StoreConflict` if it changed."""
        async with self._store.writing() as session:
            incident = await _incident(session, incident_id)
            if incident.silence_id != silence_id:
                raise StoreConflict(f"incident #{incident_id} is no longer silenced by {silence_id}")
            incident.silence_id = None
            incident.silenced_by = None
            incident.silenced_until = None
            incident.version += 1
            session.add(incident)
        return incident


async def _incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident", incident_id)
    return incident


async def _known_alerts(
    session: AsyncSession, notification: NotificationRecord
) -> dict[tuple[str, datetime], IncidentAlert]:
    fingerprints = {a.fingerprint for a in notification.alerts}
    if not fingerprints:
        return {}
    query = (
        select(IncidentAlert)
        .join(Incident, col(Incident.id) == col(IncidentAlert.incident_id))
        .where(Incident.group_key == notification.group_key, col(IncidentAlert.fingerprint).in_(fingerprints))
    )
    return {(row.fingerprint, row.starts_at): row for row in await session.exec(query)}


async def _open_incident(session: AsyncSession, group_key: str) -> Incident | None:
    query = select(Incident).where(Incident.group_key == group_key, Incident.status == IncidentStatus.firing)
    return (await session.exec(query)).first()


async def _new_incident(
    session: AsyncSession, notification: NotificationRecord, at: datetime, alerts_channel: int | None
) -> Incident:
    previous = (
        await session.exec(
            select(Incident.id).where(Incident.group_key == notification.group_key).order_by(col(Incident.id).desc())
        )
    ).first()
    namespace = notification.namespace
    team = (await session.exec(select(Team).where(Team.namespace == namespace))).first() if namespace else None
    run_id = None
    if team is not None:
        run_id = (
            await session.exec(
                select(Run.id)
                .where(Run.team_id == team.id, Run.status == RunStatus.active)
                .order_by(col(Run.id).desc())
            )
        ).first()
    incident = Incident(
        group_key=notification.group_key,
        status=IncidentStatus.firing,
        receiver=notification.receiver,
        namespace=namespace[:63] if namespace else None,
        team_id=team.id if team is not None else None,
        channel_id=(team.discord_channel_id if team is not None else None) or alerts_channel,
        run_id=run_id,
        previous_id=previous,
        opened_at=at,
        last_notified_at=at,
        version=0,  # `record` counts the notification that opens it
    )
    _take_metadata(incident, notification, at)
    session.add(incident)
    await session.flush()
    return incident


def _new_alert(incident_id: int, alert: AlertRecord) -> IncidentAlert:
    return IncidentAlert(
        incident_id=incident_id,
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.status == AlertStatus.resolved else None,
        status=alert.status,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        generator_url=alert.generator_url,
    )


def _update_alert(row: IncidentAlert, alert: AlertRecord) -> bool:
    """Bring a known alert up to date; True if it changed. A resolved alert stays as it is."""
    if row.status == AlertStatus.resolved:
        return False
    changed = False
    if alert.status == AlertStatus.resolved:
        row.status = AlertStatus.resolved
        row.ends_at = alert.ends_at
        changed = True
    if dict(alert.annotations) != row.annotations:
        row.annotations = dict(alert.annotations)
        changed = True
    return changed


def _same_metadata(incident: Incident, notification: NotificationRecord) -> bool:
    return (
        incident.truncated_alerts == notification.truncated_alerts
        and incident.common_annotations == dict(notification.common_annotations)
        and incident.common_labels == dict(notification.common_labels)
    )


def _take_metadata(incident: Incident, notification: NotificationRecord, at: datetime) -> None:
    incident.receiver = notification.receiver
    incident.group_labels = dict(notification.group_labels)
    incident.common_labels = dict(notification.common_labels)
    incident.common_annotations = dict(notification.common_annotations)
    incident.external_url = notification.external_url
    incident.truncated_alerts = notification.truncated_alerts
    incident.last_notified_at = at


async def _resolve_rest(session: AsyncSession, incident_id: int, at: datetime) -> bool:
    result = await session.exec(
        sa.update(IncidentAlert)
        .where(col(IncidentAlert.incident_id) == incident_id, col(IncidentAlert.status) == AlertStatus.firing)
        .values(status=AlertStatus.resolved, ends_at=at)
    )
    return bool(result.rowcount)


async def _settle(session: AsyncSession, incident: Incident, at: datetime) -> None:
    """Resolve the incident when none of its alerts fires any more."""
    rows = list(await session.exec(select(IncidentAlert).where(IncidentAlert.incident_id == incident.id)))
    if incident.status == IncidentStatus.firing and rows and all(r.status == AlertStatus.resolved for r in rows):
        incident.status = IncidentStatus.resolved
        ends = [r.ends_at for r in rows if r.ends_at is not None]
        incident.resolved_at = max(ends) if ends else at
