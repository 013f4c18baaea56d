"""Incidents in the store: what Alertmanager notified, as episodes of alert groups, read, published,
acknowledged, silenced and pruned. A notification is written by `bot.store.notifications`, through
`IncidentStore.record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database, WriteStep, delete_first, utc
from bot.store.errors import NotFound, StoreConflict
from bot.store.models import (
    AlertStatus,
    Incident,
    IncidentAlert,
    IncidentStatus,
)
from bot.store.notifications import NotificationRecord, NotificationWriter, Recorded

#: Alert ids bound in one statement: far below any database's limit on parameters.
_IDS_PER_STATEMENT = 500


class IncidentStore:
    """The incident tables, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._notifications = NotificationWriter(db)

    async def record(
        self, notification: NotificationRecord, *, at: datetime, alerts_channel: int | None = None
    ) -> Recorded:
        """Apply a notification in one transaction (`NotificationWriter.record`)."""
        return await self._notifications.record(notification, at=at, alerts_channel=alerts_channel)

    async def get(self, incident_id: int) -> Incident | None:
        async with self._db.reading() as session:
            return await session.get(Incident, incident_id)

    async def alerts(self, incident_id: int) -> list[IncidentAlert]:
        """The incident's alerts: firing first, then by when they started."""
        async with self._db.reading() as session:
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
        async with self._db.reading() as session:
            query = select(Incident)
            if status is not None:
                query = query.where(Incident.status == status)
            query = query.order_by(
                sa.case((col(Incident.status) == IncidentStatus.firing, 0), else_=1), col(Incident.id).desc()
            ).limit(limit)
            return list(await session.exec(query))

    async def of_team(self, team_id: int, *, opened_since: datetime) -> list[Incident]:
        """The incidents in the team's namespace opened at or after `opened_since`, oldest first (a drill's)."""
        opened_since = utc("opened_since", opened_since)
        async with self._db.reading() as session:
            query = select(Incident).where(Incident.team_id == team_id, col(Incident.opened_at) >= opened_since)
            return list(await session.exec(query.order_by(col(Incident.id))))

    async def count_open(self) -> int:
        """How many incidents are firing (not resolved yet)."""
        async with self._db.reading() as session:
            query = select(sa.func.count()).select_from(Incident).where(Incident.status == IncidentStatus.firing)
            count: int = (await session.exec(query)).one()
        return count

    async def to_publish(self, *, not_before: datetime) -> list[Incident]:
        """Incidents with changes not yet rendered: never published ones, and those last published
        at or before `not_before` (the edit interval), oldest first."""
        not_before = utc("not_before", not_before)
        async with self._db.reading() as session:
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
        async with self._db.reading() as session:
            query = select(sa.func.min(col(Incident.published_at))).where(
                col(Incident.version) > col(Incident.published_version)
            )
            due: datetime | None = (await session.exec(query)).one()
        return utc("published_at", due) if due is not None else None

    async def mark_published(
        self, incident_id: int, *, version: int, announced: Mapping[int, AlertStatus], at: datetime
    ) -> None:
        """Record that `version` of the incident was rendered, and which alert statuses were announced."""
        mark = self.publishing(incident_id, version=version, announced=announced, at=at)
        async with self._db.writing() as session:
            await mark(session)

    def publishing(
        self, incident_id: int, *, version: int, announced: Mapping[int, AlertStatus], at: datetime
    ) -> WriteStep:
        """`mark_published` as a write in a transaction of the caller's: the one that keeps what was published
        (`Outbox.enqueue_all`), so that a crash cannot keep the one without the other."""
        at = utc("at", at)
        by_status: dict[AlertStatus, list[int]] = {}
        for alert_id, status in announced.items():
            by_status.setdefault(status, []).append(alert_id)

        async def mark(session: AsyncSession) -> None:
            incident = await _incident(session, incident_id)
            incident.published_version = max(incident.published_version, version)
            incident.published_at = at
            session.add(incident)
            # A few statements whatever the number of alerts (an incident of a storm has hundreds), and
            # only the rows whose announced status changes are written.
            for status, ids in by_status.items():
                for start in range(0, len(ids), _IDS_PER_STATEMENT):
                    chunk = ids[start : start + _IDS_PER_STATEMENT]
                    await session.exec(
                        sa.update(IncidentAlert)
                        .where(
                            col(IncidentAlert.incident_id) == incident_id,
                            col(IncidentAlert.id).in_(chunk),
                            col(IncidentAlert.announced).is_distinct_from(status),
                        )
                        .values(announced=status)
                    )

        return mark

    async def runs_to_notify(self) -> list[Incident]:
        """Incidents that opened during a team's run whose thread has not been told yet."""
        async with self._db.reading() as session:
            query = select(Incident).where(col(Incident.run_id).is_not(None), col(Incident.run_notified).is_(False))
            return list(await session.exec(query.order_by(col(Incident.id))))

    async def mark_run_notified(self, incident_id: int) -> None:
        async with self._db.writing() as session:
            incident = await _incident(session, incident_id)
            incident.run_notified = True
            session.add(incident)

    async def acknowledge(self, incident_id: int, *, by: str, at: datetime) -> tuple[Incident, bool]:
        """(the incident, True) when this acknowledged it; (the incident, False) if someone had already."""
        at = utc("at", at)
        async with self._db.writing() as session:
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
        until = utc("until", until)
        async with self._db.writing() as session:
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
        async with self._db.writing() as session:
            incident = await _incident(session, incident_id)
            if incident.silence_id != silence_id:
                raise StoreConflict(f"incident #{incident_id} is no longer silenced by {silence_id}")
            incident.silence_id = None
            incident.silenced_by = None
            incident.silenced_until = None
            incident.version += 1
            session.add(incident)
        return incident

    async def prune(self, before: datetime, limit: int) -> dict[str, int]:
        """Delete at most `limit` rows of the incidents resolved before `before`: their alerts first, then
        the incidents left without alerts. Rows deleted, by table; call again until it deletes none.

        Firing incidents stay, and so does the newest incident whatever its age: SQLite gives a new row
        the largest id plus one, and an incident's id is in its buttons and its outbox keys."""
        before = utc("before", before)
        newest = select(sa.func.max(col(Incident.id))).scalar_subquery()
        old = select(col(Incident.id)).where(
            col(Incident.status) == IncidentStatus.resolved,
            col(Incident.resolved_at) < before,
            col(Incident.id) < newest,
        )
        async with self._db.writing() as session:
            alerts = await delete_first(
                session, select(col(IncidentAlert.id)).where(col(IncidentAlert.incident_id).in_(old)), limit=limit
            )
            incidents = 0
            if alerts < limit:
                alerting = select(col(IncidentAlert.id)).where(col(IncidentAlert.incident_id) == col(Incident.id))
                incidents = await delete_first(session, old.where(~sa.exists(alerting)), limit=limit - alerts)
        return {IncidentAlert.__tablename__: alerts, Incident.__tablename__: incidents}


async def _incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident", incident_id)
    return incident
