"""IncidentService: what the webhook and the Discord side call about incidents.

`receive` keeps a notification (the webhook answers 2xx only once it returns) and wakes the
publisher; acknowledging and silencing change the incident (the publisher re-renders its embed) and
say so in its thread through the outbox.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.errors import MessageError
from bot.i18n import Lang, Message
from bot.incidents import render
from bot.incidents.payload import parse
from bot.incidents.publisher import IncidentPublisher
from bot.incidents.silences import (
    AlertmanagerError,
    AlertmanagerUnavailable,
    SilenceNotFound,
    SilenceRefused,
)
from bot.metrics import Metrics
from bot.store import StoreConflict
from bot.store.incidents import IncidentStore
from bot.store.models import Incident, IncidentAlert, IncidentStatus
from bot.store.notifications import Recorded
from bot.store.teams import TeamStore

log = logging.getLogger(__name__)

#: The silences the buttons offer, in hours.
SILENCE_HOURS = (1, 4)


class Silencer(Protocol):
    """Alertmanager's silences API (bot.incidents.silences.Alertmanager)."""

    async def create_silence(
        self, matchers: Mapping[str, str], *, starts_at: datetime, ends_at: datetime, created_by: str, comment: str
    ) -> str: ...

    async def expire_silence(self, silence_id: str) -> None: ...


class AcknowledgeGate(Protocol):
    """Which incidents only their team may acknowledge (bot.challenges.drill_watch.DrillWatch: a drill's)."""

    async def team_only(self, incident: Incident) -> bool: ...


class IncidentRefused(MessageError):
    """An action on an incident that cannot be done; `message` says why, for the user."""


@dataclass(frozen=True)
class Member:
    """Who acts on an incident from Discord: the name its thread shows, the ids of their roles, and
    whether one of them is the instructors' role."""

    name: str
    role_ids: frozenset[int]
    instructor: bool


@dataclass(frozen=True)
class IncidentView:
    incident: Incident
    alerts: list[IncidentAlert]
    thread_id: int | None


class IncidentService:
    def __init__(
        self,
        *,
        incidents: IncidentStore,
        teams: TeamStore,
        publisher: IncidentPublisher,
        silencer: Silencer | None,
        lang: Lang,
        clock: Callable[[], datetime],
        alerts_channel: int | None,
        metrics: Metrics | None = None,
        team_only: AcknowledgeGate | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._team_only = team_only
        self._incidents = incidents
        self._teams = teams
        self._publisher = publisher
        self._silencer = silencer
        self._lang = lang
        self._clock = clock
        self._alerts_channel = alerts_channel

    @property
    def silences_enabled(self) -> bool:
        return self._silencer is not None

    async def receive(self, body: bytes) -> Recorded:
        """Keep one webhook notification. `PayloadInvalid` for a body that is not one (nothing kept),
        `StoreUnavailable` when it cannot be kept (Alertmanager will send it again)."""
        notification = parse(body)
        recorded = await self._incidents.record(
            notification.record(), at=self._clock(), alerts_channel=self._alerts_channel
        )
        for status, count in Counter(alert.status for alert in notification.alerts).items():
            self._metrics.alerts_received.labels(status).inc(count)
        if recorded.changed and _first_unpublished_change(recorded):
            self._publisher.wake()
        return recorded

    async def view(self, incident_id: int) -> IncidentView:
        incident = await self._get(incident_id)
        return IncidentView(
            incident, await self._incidents.alerts(incident_id), await self._publisher.thread_id(incident_id)
        )

    async def recent(self, status: IncidentStatus | None = None, limit: int = 25) -> list[tuple[Incident, int | None]]:
        """The newest incidents, firing first, each with its thread (if it has one yet)."""
        return [
            (i, await self._publisher.thread_id(i.id)) for i in await self._incidents.recent(status=status, limit=limit)
        ]

    async def check_message(self, incident_id: int, message_id: int | None) -> None:
        """`IncidentRefused` unless `message_id` is the message that starts the incident's thread. A button
        names its incident in its custom id, which the client sends: it is believed only on that message."""
        starter = await self._publisher.starter_id(incident_id)
        if starter is None or starter != message_id:
            raise IncidentRefused(Message("incident.err.not_this_message", {"id": incident_id}))

    async def acknowledge(self, incident_id: int, *, by: Member) -> Incident:
        """Record who acknowledged the incident: an instructor, or a member of the team whose namespace it is
        in; during a drill, a member of the team only (`team_only`). `IncidentRefused` for anyone else (nothing
        recorded), or if someone already had."""
        incident = await self._get(incident_id)
        if self._team_only is not None and by.instructor and await self._team_only.team_only(incident):
            await self._require_team_member(incident, by, drill=True)
        elif not by.instructor:
            await self._require_team_member(incident, by)
        incident, first = await self._incidents.acknowledge(incident.id, by=by.name, at=self._clock())
        if not first:
            raise IncidentRefused(
                Message("incident.err.already_acknowledged", {"id": incident.id, "by": incident.acknowledged_by})
            )
        self._publisher.wake()  # the embed shows it
        await self._publisher.say(incident, "ack", render.acknowledged(by.name, self._lang))
        return incident

    async def _require_team_member(self, incident: Incident, member: Member, *, drill: bool = False) -> None:
        team = await self._teams.get_by_id(incident.team_id) if incident.team_id is not None else None
        if team is None:  # the cluster's, or a namespace no team owns: the instructors'
            raise IncidentRefused(Message("incident.err.ack_instructors_only", {"id": incident.id}))
        if team.discord_role_id is None or team.discord_role_id not in member.role_ids:
            refusal = "incident.err.ack_drill_team_only" if drill else "incident.err.ack_not_your_team"
            raise IncidentRefused(Message(refusal, {"id": incident.id, "team": team.name}))

    async def silence(self, incident_id: int, *, hours: int, by: str) -> Incident:
        """Silence the incident's alerts in Alertmanager for `hours`: matchers are the labels all its
        alerts share (its common labels), so exactly this group is silenced, and it again if it fires."""
        silencer = self._require_silencer()
        if hours not in SILENCE_HOURS:
            raise IncidentRefused(Message("incident.err.silence_hours", {"hours": hours}))
        incident = await self._get(incident_id)
        if incident.status == IncidentStatus.resolved:
            raise IncidentRefused(Message("incident.err.resolved", {"id": incident.id}))
        if incident.silence_id is not None:
            raise IncidentRefused(Message("incident.err.already_silenced", {"id": incident.id}))
        matchers = {str(k): str(v) for k, v in (incident.common_labels or incident.group_labels).items()}
        if not matchers:
            raise IncidentRefused(Message("incident.err.no_matchers", {"id": incident.id}))
        now = self._clock()
        until = now + timedelta(hours=hours)
        try:
            silence_id = await silencer.create_silence(
                matchers,
                starts_at=now,
                ends_at=until,
                created_by=by,
                comment=f"kubecamp-bot: incident #{incident.id} ({render.title(incident)})",
            )
        except (AlertmanagerUnavailable, SilenceRefused) as e:
            raise IncidentRefused(e.message) from e
        try:
            incident = await self._incidents.set_silence(incident.id, silence_id=silence_id, by=by, until=until)
        except StoreConflict as e:
            # Another click silenced it in the meantime: keep theirs, lift the duplicate just made.
            with contextlib.suppress(AlertmanagerError):
                await silencer.expire_silence(silence_id)
            raise IncidentRefused(Message("incident.err.already_silenced", {"id": incident.id})) from e
        except Exception:
            # Not recorded (the store is unavailable): nothing could lift it from Discord, so lift it now.
            with contextlib.suppress(AlertmanagerError):
                await silencer.expire_silence(silence_id)
            raise
        self._publisher.wake()  # the embed shows it
        await self._publisher.say(
            incident, f"silence:{silence_id}", render.silenced(by, hours, until, silence_id, self._lang)
        )
        return incident

    async def unsilence(self, incident_id: int, *, by: str) -> Incident:
        silencer = self._require_silencer()
        incident = await self._get(incident_id)
        silence_id = incident.silence_id
        if silence_id is None:
            raise IncidentRefused(Message("incident.err.not_silenced", {"id": incident.id}))
        try:
            await silencer.expire_silence(silence_id)
        except SilenceNotFound:
            log.info("incident #%d: silence %s was already gone", incident.id, silence_id)
        except (AlertmanagerUnavailable, SilenceRefused) as e:
            raise IncidentRefused(e.message) from e
        try:
            incident = await self._incidents.clear_silence(incident.id, silence_id=silence_id)
        except StoreConflict as e:  # another click lifted it first
            raise IncidentRefused(Message("incident.err.not_silenced", {"id": incident.id})) from e
        self._publisher.wake()  # the embed shows it
        await self._publisher.say(incident, f"unsilence:{silence_id}", render.unsilenced(by, silence_id, self._lang))
        return incident

    def _require_silencer(self) -> Silencer:
        if self._silencer is None:
            raise IncidentRefused(Message("incident.err.no_alertmanager"))
        return self._silencer

    async def _get(self, incident_id: int) -> Incident:
        incident = await self._incidents.get(incident_id)
        if incident is None:
            raise IncidentRefused(Message("incident.err.unknown", {"id": incident_id}))
        return incident


def _first_unpublished_change(recorded: Recorded) -> bool:
    """Whether the publisher must hear of this change: the incident is new, or had nothing left to publish
    before it. Otherwise the publisher already waits for the incident's edit interval to pass (it plans
    its next round from every incident with changes), and waking it on every notification of a storm
    would only have it read the store again, hundreds of times a second, to find nothing due."""
    incident = recorded.incident
    if incident is None:  # only alerts of an earlier incident changed: wake, as for any unknown case
        return True
    return recorded.created or incident.version <= incident.published_version + 1
