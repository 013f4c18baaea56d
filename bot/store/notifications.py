"""What Alertmanager notifies, written into the incident tables: the webhook's one write.

`NotificationWriter.record` (`IncidentStore.record`) applies a notification in a single transaction,
so the webhook can answer 2xx exactly when it is kept. Applying it is idempotent: an alert is a row
per (incident, fingerprint, startsAt), a resolved alert stays resolved, and only a real change counts
as one (bumps the incident's `version`). A group that fires after its incident resolved opens a new
incident, linked to the previous one.

On SQLite that transaction runs whole in a worker thread on the store's synchronous twin
(`Database.sync_twin`), under the database's write lock: it is the webhook's hot path, and through aiosqlite
each of its statements would be a round trip to the driver's thread. PostgreSQL runs the same code
on the store's async session (under the database's advisory write lock, `bot.store.db`).

The notifications that come in while another writer holds the write lock wait for it together: the first to
take it writes them all, in order, in one transaction (group commit: one BEGIN, one lock and one commit for
the lot, which on PostgreSQL are round trips every writer waits on), and each caller gets its own outcome once
that commits. Should that transaction fail, each is written again alone, so only a notification that cannot
be kept is refused.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col, select

from bot.errors import StoreUnavailable
from bot.store.db import BEGIN_IMMEDIATE, Database, utc
from bot.store.models import (
    AlertStatus,
    Incident,
    IncidentAlert,
    IncidentStatus,
    Run,
    RunStatus,
    Team,
)


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


#: The statements `record` runs for every notification, built once: building one costs as much as running it.
#: The first reads in one round trip, for each group of a wave (`_record_all`), its open incident, its incidents
#: holding any of the notifications' alerts, and those alerts (one row per alert, or one without an alert for an
#: incident that has none of them): on PostgreSQL every statement under the write lock is a round trip that all
#: writers wait on.
#: The incidents are read as plain rows, not ORM objects: `record` writes them back with one UPDATE of its own.
_INCIDENT_COLUMNS = tuple(Incident.__table__.columns)  # type: ignore[attr-defined]
_GROUP_STATE = (
    sa.select(
        *_INCIDENT_COLUMNS,
        col(IncidentAlert.fingerprint),
        col(IncidentAlert.starts_at),
        col(IncidentAlert.id).label("alert_id"),
        col(IncidentAlert.incident_id),
        col(IncidentAlert.status).label("alert_status"),
        col(IncidentAlert.annotations),
    )
    .outerjoin(
        IncidentAlert,
        sa.and_(
            col(IncidentAlert.incident_id) == col(Incident.id),
            col(IncidentAlert.fingerprint).in_(sa.bindparam("fingerprints", expanding=True)),
        ),
    )
    .where(
        col(Incident.group_key).in_(sa.bindparam("group_keys", expanding=True)),
        sa.or_(col(Incident.status) == IncidentStatus.firing, col(IncidentAlert.id).is_not(None)),
    )
)


def _upsert_alerts(insert: Callable[[type[IncidentAlert]], Any]) -> Any:
    """The alerts of a notification written in one statement: new ones inserted, known ones brought up to date
    (`_alert_row` gives both the same row). A resolved alert stays as it is."""
    upsert = insert(IncidentAlert)
    return upsert.on_conflict_do_update(
        index_elements=[IncidentAlert.incident_id, IncidentAlert.fingerprint, IncidentAlert.starts_at],
        set_={
            "status": upsert.excluded.status,
            "ends_at": upsert.excluded.ends_at,
            "annotations": upsert.excluded.annotations,
        },
        where=col(IncidentAlert.status) == AlertStatus.firing,
    )


#: By dialect: both databases the bot supports have INSERT … ON CONFLICT … DO UPDATE.
_UPSERT_ALERTS = {"sqlite": _upsert_alerts(sqlite.insert), "postgresql": _upsert_alerts(postgresql.insert)}
_UPDATE_INCIDENT = (
    sa.update(Incident)
    .where(col(Incident.id) == sa.bindparam("incident_id"))
    .values(
        version=col(Incident.version) + 1,
        status=sa.bindparam("new_status"),
        resolved_at=sa.bindparam("new_resolved_at"),
        receiver=sa.bindparam("new_receiver"),
        group_labels=sa.bindparam("new_group_labels"),
        common_labels=sa.bindparam("new_common_labels"),
        common_annotations=sa.bindparam("new_common_annotations"),
        external_url=sa.bindparam("new_external_url"),
        truncated_alerts=sa.bindparam("new_truncated_alerts"),
        last_notified_at=sa.bindparam("new_last_notified_at"),
    )
)
_RESOLVE_FIRING = (
    sa.update(IncidentAlert)
    .where(
        col(IncidentAlert.incident_id) == sa.bindparam("of_incident"), col(IncidentAlert.status) == AlertStatus.firing
    )
    .values(status=AlertStatus.resolved, ends_at=sa.bindparam("resolved_at"))
)
_ALERT_COUNTS = sa.select(
    sa.func.count(),
    sa.func.count().filter(col(IncidentAlert.status) == AlertStatus.firing),
    sa.func.max(col(IncidentAlert.ends_at)),
).where(col(IncidentAlert.incident_id) == sa.bindparam("of_incident"))


@dataclass(frozen=True)
class _Notified:
    """A notification to apply, with what `record` was given beside it."""

    notification: NotificationRecord
    at: datetime
    alerts_channel: int | None


@dataclass(frozen=True)
class _Waiting:
    """A notification waiting for the write lock, and its outcome once applied."""

    notified: _Notified
    done: asyncio.Future[Recorded]


def _forget(done: asyncio.Future[Recorded]) -> None:
    if not done.cancelled():
        done.exception()  # retrieved, so that asyncio does not report it as never retrieved


class NotificationWriter:
    """Notifications applied to the incident tables of the bot's `Database` (for `IncidentStore.record`)."""

    def __init__(self, db: Database) -> None:
        dialect = db.engine.dialect.name
        if dialect not in _UPSERT_ALERTS:
            raise StoreUnavailable(f"the incident store runs on SQLite or PostgreSQL, not on {dialect}")
        self._db = db
        #: Notifications waiting for the write lock: whoever takes it writes all of them in one transaction.
        self._waiting: list[_Waiting] = []
        twin = db.sync_twin
        self._twin_writing = (
            sessionmaker(twin.execution_options(**{BEGIN_IMMEDIATE: True}), expire_on_commit=False)
            if twin is not None
            else None
        )

    async def record(
        self, notification: NotificationRecord, *, at: datetime, alerts_channel: int | None = None
    ) -> Recorded:
        """Apply a notification in one transaction (see the module docstring).

        A new incident goes to the team whose namespace the alerts share (its channel, its active
        run), else to `alerts_channel`; `channel_id` stays None when there is neither.
        """
        at = utc("at", at)
        for alert in notification.alerts:
            utc("starts_at", alert.starts_at)
            if alert.ends_at is not None:
                utc("ends_at", alert.ends_at)
        waiting = _Waiting(_Notified(notification, at, alerts_channel), asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        try:
            async with self._db.write_lock:
                if not waiting.done.done():  # else an earlier holder of the lock wrote it with its own
                    batch, self._waiting = self._waiting, []
                    await self._write(batch)
        except BaseException:
            if waiting in self._waiting:
                self._waiting.remove(waiting)  # not written: cancelled while waiting for the lock
            else:  # written by another, or put back for the next holder: its outcome concerns no one now
                waiting.done.add_done_callback(_forget)
            raise
        return waiting.done.result()

    async def _write(self, batch: list[_Waiting]) -> None:
        """Apply the notifications of `batch` in one transaction, in order, under the write lock the caller holds,
        and give each its outcome. When that transaction fails, each is applied again in one of its own, so that
        only a notification that cannot be kept is refused. Those left without an outcome (cancelled) are put back
        for the next holder of the lock."""
        try:
            try:
                results = await self._transaction([waiting.notified for waiting in batch])
            except Exception as error:
                if len(batch) == 1:
                    batch[0].done.set_exception(error)
                    return
                for waiting in batch:
                    try:
                        [result] = await self._transaction([waiting.notified])
                    except Exception as alone:
                        waiting.done.set_exception(alone)
                    else:
                        waiting.done.set_result(result)
                return
            for waiting, result in zip(batch, results, strict=True):
                waiting.done.set_result(result)
        finally:
            self._waiting[:0] = [waiting for waiting in batch if not waiting.done.done()]

    async def _transaction(self, notified: list[_Notified]) -> list[Recorded]:
        """Apply `notified` (`_record_all`) in one write transaction, under the write lock the caller holds: on
        SQLite in a worker thread on the synchronous twin, elsewhere on the async session."""
        apply_all = functools.partial(_record_all, notified=notified)
        if self._twin_writing is None:
            async with self._db.writing_while_locked() as session:
                return await session.run_sync(apply_all)
        writing = asyncio.ensure_future(asyncio.to_thread(self._on_twin, self._twin_writing, apply_all))
        try:
            return await asyncio.shield(writing)
        except asyncio.CancelledError:
            # The thread goes on to its commit or rollback: hold the lock until it has, or the next
            # writer would meet its open transaction in SQLite's busy handler.
            await asyncio.wait([writing])
            raise

    def _on_twin(self, writing: sessionmaker[Session], apply: Callable[[Session], list[Recorded]]) -> list[Recorded]:
        with self._db.translating(), writing.begin() as session:
            return apply(session)


def _record_all(session: Session, *, notified: Sequence[_Notified]) -> list[Recorded]:
    """Apply notifications in order; the outcome of each.

    Read as plain rows and written with prebuilt statements, not as ORM objects, and those of distinct groups
    together, in waves: the state of every group of the wave read in one statement, their alerts upserted in one,
    their incidents updated in one (so three statements for a wave of pods replaced, however many groups). A
    later notification of a group already in the wave goes to the next wave, which reads what this one wrote.
    """
    connection = session.connection()
    outcomes: dict[int, Recorded] = {}
    left = list(range(len(notified)))
    while left:
        wave: list[int] = []
        later: list[int] = []
        groups: set[str] = set()
        for index in left:
            group_key = notified[index].notification.group_key
            (later if group_key in groups else wave).append(index)
            groups.add(group_key)
        states = _group_states(connection, [notified[index].notification for index in wave])
        changes = {
            index: _changes(session, notified[index], states[notified[index].notification.group_key]) for index in wave
        }
        alert_rows = [row for change in changes.values() for row in change.alert_rows]
        if alert_rows:
            connection.execute(_UPSERT_ALERTS[connection.dialect.name], alert_rows)
        incident_rows: list[dict[str, Any]] = []
        for index, change in changes.items():
            outcomes[index] = _outcome(connection, notified[index], change, incident_rows)
        if incident_rows:
            connection.execute(_UPDATE_INCIDENT, incident_rows)
        left = later
    return [outcomes[index] for index in range(len(notified))]


@dataclass
class _Change:
    """What a notification changes of its group's alerts, before they are written."""

    opened: Incident | None  # the group's firing incident: found, or opened for the notification
    created: bool
    touched: dict[int, Incident] = field(default_factory=dict)  # incidents whose alerts change, by id
    firing_in: set[int] = field(default_factory=set)  # incidents that keep an alert firing: they cannot resolve now
    alert_rows: list[dict[str, Any]] = field(default_factory=list)  # for `_UPSERT_ALERTS`


def _changes(session: Session, notified: _Notified, state: _GroupState) -> _Change:
    """The alerts `notified` adds or changes in its group (opening an incident for new ones when none fires)."""
    notification = notified.notification
    change = _Change(opened=state.opened, created=False)
    for alert in notification.alerts:
        row = state.known.get((alert.fingerprint, alert.starts_at))
        if row is not None:
            if _alert_changes(row, alert):
                change.alert_rows.append(_alert_row(row.incident_id, alert))
                change.touched[row.incident_id] = state.incidents[row.incident_id]
            if row.status == alert.status == AlertStatus.firing:
                change.firing_in.add(row.incident_id)
            continue
        if change.opened is None:
            change.opened = _new_incident(session, notification, notified.at, notified.alerts_channel)
            change.created = True
        change.alert_rows.append(_alert_row(change.opened.id, alert))
        change.touched[change.opened.id] = change.opened
        if alert.status == AlertStatus.firing:
            change.firing_in.add(change.opened.id)
    return change


def _outcome(
    connection: sa.Connection, notified: _Notified, change: _Change, incident_rows: list[dict[str, Any]]
) -> Recorded:
    """Once its alerts are written: resolve what the notification resolves, and add the rows of the incidents it
    changes to `incident_rows` (for `_UPDATE_INCIDENT`)."""
    notification, at, opened = notified.notification, notified.at, change.opened
    touched, firing_in = change.touched, change.firing_in
    changed = bool(change.alert_rows)
    if opened is not None:
        touched.setdefault(opened.id, opened)
        changed |= not _same_metadata(opened, notification)
        if notification.status == AlertStatus.resolved and notification.truncated_alerts == 0:
            # The whole group has resolved: an alert Alertmanager no longer lists has too.
            resolved = connection.execute(_RESOLVE_FIRING, {"of_incident": opened.id, "resolved_at": at}).rowcount
            changed |= bool(resolved)
            firing_in.discard(opened.id)
    if not changed:
        return Recorded(incident=opened, created=False, changed=False)
    for incident in touched.values():
        if incident.id not in firing_in:
            _settle(connection, incident, at)
        if incident is opened:
            _take_metadata(incident, notification, at)
        incident.version += 1
        incident_rows.append(_incident_row(incident))
    return Recorded(incident=opened, created=change.created, changed=True)


@dataclass(frozen=True)
class _KnownAlert:
    """What `record` reads of an alert it already has."""

    incident_id: int
    status: AlertStatus
    annotations: Mapping[str, Any]


@dataclass
class _GroupState:
    """What `record` reads of a group: its firing incident (None if none), its incidents holding any of the
    notification's alerts (by id), and those alerts (by fingerprint and start)."""

    opened: Incident | None = None
    incidents: dict[int, Incident] = field(default_factory=dict)
    known: dict[tuple[str, datetime], _KnownAlert] = field(default_factory=dict)


def _group_states(connection: sa.Connection, notifications: Sequence[NotificationRecord]) -> dict[str, _GroupState]:
    """The state of each notification's group, by group key, in one statement (`_GROUP_STATE`). The incidents are
    detached from any session: `record` writes their changes itself. (An alert of one group whose fingerprint
    another notification has is read too, and never asked for.)"""
    group_keys = sorted({n.group_key for n in notifications})
    fingerprints = sorted({a.fingerprint for n in notifications for a in n.alerts})
    rows = connection.execute(_GROUP_STATE, {"group_keys": group_keys, "fingerprints": fingerprints})
    states = {group_key: _GroupState() for group_key in group_keys}
    columns = len(_INCIDENT_COLUMNS)
    for row in rows:
        state = states[row.group_key]
        incident = state.incidents.get(row.id)
        if incident is None:
            incident = Incident(**{c.key: value for c, value in zip(_INCIDENT_COLUMNS, row[:columns], strict=True)})
            state.incidents[incident.id] = incident
            if incident.status == IncidentStatus.firing:
                state.opened = incident
        fingerprint, starts, alert_id, *rest = row[columns:]
        if alert_id is not None:
            state.known[(fingerprint, starts)] = _KnownAlert(*rest)
    return states


def _new_incident(
    session: Session, notification: NotificationRecord, at: datetime, alerts_channel: int | None
) -> Incident:
    previous = session.scalars(
        select(Incident.id).where(Incident.group_key == notification.group_key).order_by(col(Incident.id).desc())
    ).first()
    namespace = notification.namespace
    team = session.scalars(select(Team).where(Team.namespace == namespace)).first() if namespace else None
    run_id = None
    if team is not None:
        run_id = session.scalars(
            select(Run.id).where(Run.team_id == team.id, Run.status == RunStatus.active).order_by(col(Run.id).desc())
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
    session.flush()
    session.expunge(incident)  # `record` writes its changes itself, as for the incidents it read
    return incident


def _alert_row(incident_id: int, alert: AlertRecord) -> dict[str, Any]:
    """The row of an alert as the notification gives it (for `_UPSERT_ALERTS`): inserted if it is new, else its
    status, end and annotations taken."""
    return {
        "incident_id": incident_id,
        "fingerprint": alert.fingerprint,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at if alert.status == AlertStatus.resolved else None,
        "status": alert.status,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "announced": None,
    }


def _alert_changes(row: _KnownAlert, alert: AlertRecord) -> bool:
    """Whether the notification changes a known alert: it resolves, or its annotations changed while it fires.
    A resolved alert stays as it is."""
    if row.status == AlertStatus.resolved:
        return False
    return alert.status == AlertStatus.resolved or dict(alert.annotations) != row.annotations


def _incident_row(incident: Incident) -> dict[str, Any]:
    """What `_UPDATE_INCIDENT` writes of an incident `record` changed (its version goes up by one there)."""
    return {
        "incident_id": incident.id,
        "new_status": incident.status,
        "new_resolved_at": incident.resolved_at,
        "new_receiver": incident.receiver,
        "new_group_labels": incident.group_labels,
        "new_common_labels": incident.common_labels,
        "new_common_annotations": incident.common_annotations,
        "new_external_url": incident.external_url,
        "new_truncated_alerts": incident.truncated_alerts,
        "new_last_notified_at": incident.last_notified_at,
    }


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


def _settle(connection: sa.Connection, incident: Incident, at: datetime) -> None:
    """Resolve the incident when none of its alerts fires any more (counted in the database: an incident
    can have thousands of alerts)."""
    if incident.status != IncidentStatus.firing:
        return
    alerts, still_firing, last_end = connection.execute(_ALERT_COUNTS, {"of_incident": incident.id}).one()
    if alerts and not still_firing:
        incident.status = IncidentStatus.resolved
        incident.resolved_at = last_end if last_end is not None else at
