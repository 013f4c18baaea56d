"""The incidents' tables: Alertmanager groups as incidents, and their alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.store.models.columns import NAMESPACE_MAX, UTCDateTime, _enum, _in


class IncidentStatus(StrEnum):
    firing = "firing"  # at least one alert of the group is firing
    resolved = "resolved"  # every alert of the group has resolved; a new firing opens a new incident


class AlertStatus(StrEnum):
    firing = "firing"
    resolved = "resolved"


#: One firing incident per Alertmanager group: a partial unique index on the group key.
OPEN_INCIDENT_INDEX = "uq_incidents_open_group_key"
_FIRING = sa.text("status = 'firing'")


class Incident(SQLModel, table=True):
    """One episode of an Alertmanager alert group (its `group_key`), from first firing to resolved.

    `version` counts the changes the notifications (and acknowledgements, silences) made;
    `published_version` is the last version rendered into the outbox (`bot.incidents.publisher`), so
    an incident with `version > published_version` is still to be shown in Discord.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        sa.CheckConstraint(_in("status", IncidentStatus), name="status"),
        sa.CheckConstraint("truncated_alerts >= 0", name="truncated_alerts_not_negative"),
        sa.Index(OPEN_INCIDENT_INDEX, "group_key", unique=True, sqlite_where=_FIRING, postgresql_where=_FIRING),
        sa.Index("ix_incidents_group_key", "group_key"),
        sa.Index("ix_incidents_published_version_version", "published_version", "version"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    group_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: IncidentStatus = Field(
        default=IncidentStatus.firing, sa_column=sa.Column(_enum(IncidentStatus), nullable=False)
    )
    receiver: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: The alerts' namespace when they share one; it decides the team.
    namespace: str | None = Field(default=None, sa_column=sa.Column(sa.String(NAMESPACE_MAX)))
    team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="SET NULL")
    #: Where the incident's thread is started; None when neither a team channel nor an alerts channel exists.
    channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    #: The team's active run when the incident opened: that run's thread is told about it.
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL")
    run_notified: bool = Field(default=False, nullable=False)
    #: The incident of the same group before this one (the group fired again after resolving).
    previous_id: int | None = Field(default=None, foreign_key="incidents.id", ondelete="SET NULL", index=True)
    group_labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    common_labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    common_annotations: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    external_url: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    #: Alerts Alertmanager left out of the last notification (its receiver's max_alerts).
    truncated_alerts: int = Field(default=0, nullable=False)
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_notified_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    acknowledged_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    acknowledged_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    silence_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    silenced_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    silenced_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    version: int = Field(default=1, nullable=False)
    published_version: int = Field(default=0, nullable=False)
    published_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))


class IncidentAlert(SQLModel, table=True):
    """One alert of an incident: an Alertmanager alert instance, (fingerprint, startsAt).

    A resolved alert stays resolved: the same alert firing again has a new startsAt. `announced` is
    the status last shown in the thread, so the publisher posts each change once.
    """

    __tablename__ = "incident_alerts"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "fingerprint", "starts_at"),
        sa.CheckConstraint(_in("status", AlertStatus), name="status"),
        sa.CheckConstraint(f"announced IS NULL OR {_in('announced', AlertStatus)}", name="announced"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    incident_id: int = Field(foreign_key="incidents.id", ondelete="CASCADE", nullable=False)
    fingerprint: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    starts_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    ends_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    status: AlertStatus = Field(sa_column=sa.Column(_enum(AlertStatus), nullable=False))
    announced: AlertStatus | None = Field(default=None, sa_column=sa.Column(_enum(AlertStatus)))
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    generator_url: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
