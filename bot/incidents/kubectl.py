"""Pods and Events as kubectl prints them: the facts of `kubectl get pods` and `kubectl events`, and its columns.

STATUS is kubectl's printPod (from `bot.pods`, the reading of a Pod the checks share), AGE its HumanDuration,
RESTARTS and LAST SEEN the way `kubectl get pods` and `kubectl events` write a count with the time of its last
occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.pods import kubectl_status
from bot.snapshot import Obj


@dataclass(frozen=True)
class ContainerFacts:
    """One container of a Pod, from its status (`state` is waiting, running, terminated or unknown)."""

    name: str
    ready: bool
    restarts: int
    state: str
    reason: str | None
    message: str | None
    init: bool = False


@dataclass(frozen=True)
class PodFacts:
    """One Pod as `kubectl get pods` sees it; `status` is kubectl's STATUS column, `phase` the API's."""

    name: str
    phase: str
    status: str
    ready: int
    total: int
    restarts: int
    last_restart: timedelta | None
    age: timedelta | None
    node: str | None
    containers: tuple[ContainerFacts, ...]


@dataclass(frozen=True)
class EventFacts:
    """One Event; `object` is kubectl's OBJECT column (`pod/frontend-…`), `age` is since it was last seen."""

    type: str
    reason: str
    object: str
    message: str
    count: int
    last_seen: datetime | None
    first_seen: datetime | None
    age: timedelta | None
    first_age: timedelta | None


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def pod_facts(pod: Obj, now: datetime) -> PodFacts:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses: list[Obj] = status.get("containerStatuses") or []
    init_statuses: list[Obj] = status.get("initContainerStatuses") or []
    containers = tuple(
        [_container(c, init=True) for c in init_statuses] + [_container(c, init=False) for c in statuses]
    )
    finished = [
        t
        for c in statuses
        if (t := _parse_time(((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))) is not None
    ]
    created = _parse_time(meta.get("creationTimestamp"))
    return PodFacts(
        name=name_of(pod),
        phase=str(status.get("phase") or "Unknown"),
        status=kubectl_status(pod),
        ready=sum(1 for c in statuses if c.get("ready")),
        total=len(spec.get("containers") or []) or len(statuses),
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses),
        last_restart=now - max(finished) if finished else None,
        age=now - created if created else None,
        node=spec.get("nodeName"),
        containers=containers,
    )


def _container(status: Obj, *, init: bool) -> ContainerFacts:
    state: Obj = status.get("state") or {}
    which = next((s for s in ("waiting", "running", "terminated") if s in state), "unknown")
    detail: Obj = state.get(which) or {}
    return ContainerFacts(
        name=str(status.get("name") or ""),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount") or 0),
        state=which,
        reason=detail.get("reason"),
        message=detail.get("message"),
        init=init,
    )


def _last_time(event: Obj) -> datetime | None:
    # kubectl's order: the series' last observation, else lastTimestamp, else eventTime.
    series = event.get("series") or {}
    return (
        _parse_time(series.get("lastObservedTime"))
        or _parse_time(event.get("lastTimestamp"))
        or _parse_time(event.get("eventTime"))
        or _parse_time((event.get("metadata") or {}).get("creationTimestamp"))
    )


def event_order(event: Obj) -> tuple[datetime, int, str]:
    # Timestamps have one-second resolution and a kubelet records several Events in the same second;
    # resourceVersion (an etcd revision in practice, opaque by contract) keeps the order they were written in.
    version = str((event.get("metadata") or {}).get("resourceVersion") or "")
    return (
        _last_time(event) or datetime.min.replace(tzinfo=UTC),
        int(version) if version.isdigit() else 0,
        name_of(event),
    )


def event_facts(event: Obj, now: datetime) -> EventFacts:
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    last = _last_time(event)
    first = _parse_time(event.get("eventTime")) or _parse_time(event.get("firstTimestamp")) or last
    return EventFacts(
        type=str(event.get("type") or ""),
        reason=str(event.get("reason") or ""),
        object=f"{str(involved.get('kind') or '').lower()}/{involved.get('name') or ''}",
        message=str(event.get("message") or "").strip(),
        count=int(series.get("count") or event.get("count") or 1),
        last_seen=last,
        first_seen=first,
        age=now - last if last else None,
        first_age=now - first if first else None,
    )


def restarts(pod: PodFacts) -> str:
    """RESTARTS: the count, and how long ago the last one was."""
    if pod.restarts and pod.last_restart is not None:
        return f"{pod.restarts} ({age(pod.last_restart)} ago)"
    return str(pod.restarts)


def last_seen(event: EventFacts) -> str:
    """LAST SEEN: since the last occurrence, and for a series how many over how long."""
    if event.count > 1:
        return f"{age(event.age)} (x{event.count} over {age(event.first_age)})"
    return age(event.age)


def age(delta: timedelta | None) -> str:
    """kubectl's HumanDuration: 90s, 3m20s, 15m, 5h30m, 20h, 3d4h, 40d, 2y10d."""
    if delta is None:
        return "<unknown>"
    seconds = int(delta.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{years}y"


def _parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Time or MicroTime) as an aware datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
