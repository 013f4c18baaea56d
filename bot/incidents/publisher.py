"""Incidents into Discord: renders what changed and hands it to the durable outbox.

The webhook only writes the store; this task turns every incident whose `version` is ahead of its
`published_version` into outbox entries, under keys derived from the incident and its version:

* the first time, the thread (starter embed + buttons) in the team's or the alerts channel, and when
  the embed cannot name every alert (more than 25), the list of them all in the thread;
* afterwards, an edit of the starter message — at most one per incident per `edit_interval`, so an
  alert storm is a few edits, not hundreds (and the outbox drops edits a later one replaces);
* a short message in the thread for the alerts whose status changed since they were last announced,
  and what the cluster says about the newly firing ones (pod status and Events);
* once every alert has resolved, the resolution with the duration, and the thread renamed ✅ and
  archived.

A round's entries and the record that it was published (`IncidentStore.publishing`: the version, and which
status of each alert has been announced) are written in one transaction (`Outbox.enqueue_all`): a crash
keeps all of a round or none of it, so the next round neither says again nor leaves out what this one
said. Keys make a round idempotent besides. On start everything unpublished is found again, so nothing
the webhook accepted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.i18n import Lang
from bot.incidents import render
from bot.outbox import OutboxItem
from bot.store.db import WriteStep
from bot.store.incidents import IncidentStore
from bot.store.models import AlertStatus, Incident, IncidentAlert, IncidentStatus, OutboxEntry

log = logging.getLogger(__name__)

#: Reads what the cluster says about an alert's labels: a text block, or None if there is nothing.
ClusterContextReader = Callable[[Mapping[str, str]], Awaitable[str | None]]

#: At most this many cluster reports per change (one per distinct object).
MAX_CONTEXTS = 3


class IncidentOutbox(Protocol):
    """The durable outbox as the incidents use it (bot.outbox.Outbox)."""

    async def enqueue(
        self,
        *,
        dedupe_key: str,
        payload: Mapping[str, Any],
        kind: Any = ...,
        channel_id: int | None = None,
        run_id: int | None = None,
        edit_of: str | None = None,
        thread_of: str | None = None,
    ) -> Any: ...

    async def enqueue_all(self, items: Sequence[OutboxItem], *, then: WriteStep | None = None) -> Any: ...

    async def get(self, dedupe_key: str) -> OutboxEntry | None: ...


class DrillThreads(Protocol):
    """The drills under way, as the publisher asks of them (bot.challenges.drill_watch.DrillWatch)."""

    async def hosting(self, incident: Incident) -> tuple[int, dict[str, Any]] | None:
        """The drill run whose thread this incident's thread becomes, and what its starter adds to the embed."""
        ...


def thread_key(incident_id: int) -> str:
    """The outbox key of an incident's thread: messages about the incident go into it."""
    return f"incident:{incident_id}:thread"


class IncidentPublisher:
    def __init__(
        self,
        *,
        incidents: IncidentStore,
        outbox: IncidentOutbox,
        lang: Lang,
        clock: Callable[[], datetime],
        silences: bool,
        cluster_context: ClusterContextReader | None = None,
        drills: DrillThreads | None = None,
        edit_interval: float = 5.0,
        poll_interval: float = 30.0,
    ) -> None:
        self._incidents = incidents
        self._drills = drills
        self._outbox = outbox
        self._lang = lang
        self._clock = clock
        self._silences = silences
        self._cluster_context = cluster_context
        self._edit_interval = timedelta(seconds=edit_interval)
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the incident publisher is already running")
        self._task = asyncio.create_task(self._run(), name="incident publisher")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def wake(self) -> None:
        """Something changed: look now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.publish_due()
                waiting_runs = await self.notify_runs()
                pause = await self._pause(waiting_runs)
                failures = 0
            except Exception as e:  # the store is unavailable, or a bug: keep going
                pause = min(60.0, 2.0**failures)
                failures += 1
                log.warning("incidents: cannot publish (%s); trying again in %.0f s", e, pause, exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()

    async def _pause(self, waiting_runs: bool) -> float:
        pause = self._poll_interval
        if waiting_runs:
            pause = min(pause, 2.0)  # a run's notice waits for the incident thread to exist
        last = await self._incidents.next_publish_due()
        if last is not None:
            due = last + self._edit_interval - self._clock()
            pause = min(pause, max(due.total_seconds(), 0.05))
        return pause

    async def publish_due(self) -> int:
        """Publish every incident with changes whose edit interval has passed; how many."""
        due = await self._incidents.to_publish(not_before=self._clock() - self._edit_interval)
        for incident in due:
            await self._publish(incident)
        return len(due)

    async def _publish(self, incident: Incident) -> None:
        alerts = await self._incidents.alerts(incident.id)
        announced = {a.id: a.status for a in alerts}
        entries: list[OutboxItem] = []
        if incident.channel_id is not None:
            entries = await self._round(incident, alerts)
        else:
            log.info("incident #%d (%s) has no channel to go to", incident.id, render.title(incident))
        published = self._incidents.publishing(
            incident.id, version=incident.version, announced=announced, at=self._clock()
        )
        await self._outbox.enqueue_all(entries, then=published)

    async def _round(self, incident: Incident, alerts: list[IncidentAlert]) -> list[OutboxItem]:
        """What to post about this version of the incident, in order (`_publish` writes it)."""
        key = thread_key(incident.id)
        previous_thread = None
        if incident.previous_id is not None:
            previous_thread = await self.thread_id(incident.previous_id)
        starter = render.starter(incident, alerts, self._lang, silences=self._silences, previous_thread=previous_thread)
        entries: list[OutboxItem] = []
        if await self._outbox.get(key) is None:
            # The first incident of a drill starts the drill run's thread: the run's posts go into it.
            hosted = await self._drills.hosting(incident) if self._drills is not None else None
            run_id, call = hosted if hosted is not None else (None, {})
            thread = {"name": render.thread_name(incident), "message": {**starter, **call}}
            entries.append(OutboxItem(key, "thread", thread, channel_id=incident.channel_id, run_id=run_id))
            if not render.embed_shows_all(alerts):
                # Else the alerts behind "… N more" would be marked announced without ever having been shown.
                listed = render.alert_list(alerts, self._lang)
                entries.append(self._line(incident, f"alerts:{incident.version}", listed))
        else:
            entries.append(OutboxItem(f"incident:{incident.id}:embed:{incident.version}", "edit", starter, edit_of=key))
            changes = render.changes(alerts, self._lang)
            if changes is not None:
                entries.append(self._line(incident, f"changes:{incident.version}", changes))
        entries += await self._describe_new_alerts(incident, alerts)
        if incident.status == IncidentStatus.resolved:
            entries.append(self._line(incident, "resolved", render.resolution(incident, self._lang)))
            archive = {"name": render.thread_name(incident), "archived": True}
            entries.append(OutboxItem(f"incident:{incident.id}:archive", "thread_update", archive, thread_of=key))
        return entries

    async def _describe_new_alerts(self, incident: Incident, alerts: list[IncidentAlert]) -> list[OutboxItem]:
        """What the cluster says about the objects of alerts that started firing since the last time."""
        if self._cluster_context is None or incident.status == IncidentStatus.resolved:
            return []
        said: list[OutboxItem] = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for alert in alerts:
            if alert.status != AlertStatus.firing or alert.announced is not None:
                continue
            labels = {k: str(v) for k, v in alert.labels.items() if k == "namespace" or k in render.OBJECT_LABELS}
            identity = tuple(sorted(labels.items()))
            if identity in seen or len(seen) >= MAX_CONTEXTS:
                continue
            seen.add(identity)
            try:
                text = await self._cluster_context(labels)
            except Exception:  # the cluster is a nicety here: the incident goes on without it
                log.warning("incident #%d: cannot read the cluster for %s", incident.id, labels, exc_info=True)
                continue
            if text:
                where = ", ".join(f"{k}={v}" for k, v in identity)
                context = render.cluster_context(where, text, self._lang)
                said.append(self._line(incident, f"cluster:{incident.version}:{len(seen)}", context))
        return said

    async def say(self, incident: Incident, what: str, content: str) -> None:
        """A line in the incident's thread, once, under the key `incident:<id>:<what>`. Nothing when the
        incident has nowhere to go or its thread was never asked for (the embed says it all then)."""
        if incident.channel_id is None or await self._outbox.get(thread_key(incident.id)) is None:
            return
        line = self._line(incident, what, content)
        await self._outbox.enqueue(dedupe_key=line.dedupe_key, payload=line.payload, thread_of=line.thread_of)

    def _line(self, incident: Incident, what: str, content: str) -> OutboxItem:
        payload = {"content": content, "allowed_mentions": {"parse": []}}
        return OutboxItem(f"incident:{incident.id}:{what}", "message", payload, thread_of=thread_key(incident.id))

    async def thread_id(self, incident_id: int) -> int | None:
        """The incident's Discord thread, once it has been started."""
        entry = await self._outbox.get(thread_key(incident_id))
        return entry.discord_channel_id if entry is not None and entry.sent_at is not None else None

    async def starter_id(self, incident_id: int) -> int | None:
        """The message that starts the incident's thread and carries its buttons, once it is posted."""
        entry = await self._outbox.get(thread_key(incident_id))
        return entry.discord_message_id if entry is not None else None

    async def notify_runs(self) -> bool:
        """Tell each run's thread about the incidents that opened in its team's namespace during the
        run, linking the incident thread once it exists. True if some are still waiting for it."""
        waiting = False
        for incident in await self._incidents.runs_to_notify():
            entry = await self._outbox.get(thread_key(incident.id))
            if incident.channel_id is not None and (entry is None or (entry.sent_at is None and not entry.failed_at)):
                waiting = True
                continue
            thread = entry.discord_channel_id if entry is not None and entry.sent_at is not None else None
            if entry is not None and entry.run_id == incident.run_id:  # the run's own thread: nothing to link
                await self._incidents.mark_run_notified(incident.id)
                continue
            await self._outbox.enqueue(
                dedupe_key=f"run:{incident.run_id}:incident:{incident.id}",
                run_id=incident.run_id,
                payload={"content": render.run_notice(incident, thread, self._lang), "allowed_mentions": {"parse": []}},
            )
            await self._incidents.mark_run_notified(incident.id)
        return waiting
