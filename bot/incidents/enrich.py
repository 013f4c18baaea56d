"""What the cluster says about an alert: the Pods it concerns and their recent Events, printed like kubectl.

An alert's labels (`namespace`, `pod`, `deployment`, `statefulset`, `job_name`, `service`,
`persistentvolumeclaim`, `horizontalpodautoscaler`, `node`) name the objects; one snapshot of the
namespace gives their Pods and Events. The result carries the facts and a plain-text block (no code
fence: the caller adds it) that never exceeds the size it was given and never contains a fence that
would close the caller's.

Only namespaces that carry the bot's label are read, and the namespace is read afresh for every alert
(`Cluster.assert_managed`), so an alert about a namespace the bot stopped managing shows nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cluster import Cluster
from bot.errors import ClusterError, ClusterForbidden, NamespaceNotManaged
from bot.i18n import Message, render
from bot.kinds import BY_NAME
from bot.limits import text_size, truncate
from bot.snapshot import Obj, Snapshot
from bot.values import is_dns1123_label

#: Pods shown at most; the named Pod and the unhealthy ones are chosen first.
MAX_PODS = 5
#: A table line is cut (its last column, the message, with "…") to this many characters.
LINE_MAX = 160

# A namespace name is a DNS-1123 label. The label comes from a webhook and goes into a URL path:
# anything else (a "/" in particular) must not reach the API server.
_FENCE = re.compile(r"`{3,}")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
_GAP = "  "


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


@dataclass(frozen=True)
class ClusterContext:
    """What the cluster says about an alert's objects.

    `events` holds the newest `max_events`, newest first; `text` prints them oldest first, as
    `kubectl events` does. `not_listed` names each kind that could not be listed and why.
    `unavailable` is set (and nothing else is) when the namespace itself could not be read.
    """

    namespace: str
    subjects: tuple[str, ...]
    pods: tuple[PodFacts, ...]
    pods_left_out: int
    events: tuple[EventFacts, ...]
    events_left_out: int
    not_found: tuple[str, ...]
    not_listed: tuple[tuple[str, Message], ...]
    unavailable: Message | None
    text: str

    def render(self, max_chars: int) -> str:
        """The kubectl-like block in at most `max_chars` (Discord's count): oldest events go first, then pods."""
        if max_chars <= 0:
            return ""
        if self.unavailable is not None:
            return truncate(_clean(f"could not read the cluster: {render(self.unavailable, 'en')}"), max_chars)
        pods, events = list(self.pods), list(self.events)
        pods_out, events_out = self.pods_left_out, self.events_left_out
        while True:
            text = self._compose(pods, pods_out, events, events_out, min(LINE_MAX, max_chars))
            if text_size(text) <= max_chars:
                return text
            if events:
                events.pop()  # newest first: the last is the oldest
                events_out += 1
            elif len(pods) > 1:
                pods.pop()
                pods_out += 1
            else:
                return truncate(text, max_chars)  # a budget too small even for one Pod: cut the end

    def _compose(
        self, pods: Sequence[PodFacts], pods_out: int, events: Sequence[EventFacts], events_out: int, width: int
    ) -> str:
        unlisted = {kind for kind, _ in self.not_listed}
        # Names come from the alert's labels and reasons from the API server: both are cleaned like table cells.
        lines = [_line(f"could not list {BY_NAME[k].plural}: {render(why, 'en')}", width) for k, why in self.not_listed]
        lines += [_line(f"{ref}: not found", width) for ref in self.not_found]
        if "Pod" not in unlisted:
            if pods:
                rows = [[f"pod/{p.name}", f"{p.ready}/{p.total}", p.status, _restarts(p), _age(p.age)] for p in pods]
                lines += _table(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows, width)
            if pods_out:
                lines.append(f"… {pods_out} more pods not shown")
            looked_for = [s for s in self.subjects if s not in self.not_found]
            if not pods and not pods_out and looked_for:
                lines.append(_line(f"No pods found for {', '.join(looked_for)}.", width))
        if "Event" not in unlisted:
            if lines:
                lines.append("")
            if events_out:
                lines.append(f"… {events_out} {'older ' if events else ''}events not shown")
            if events:
                rows = [[_last_seen(e), e.type, e.reason, e.object, e.message] for e in reversed(events)]
                lines += _table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows, width)
            elif not events_out:
                lines.append("No events found.")
        return "\n".join(lines).strip("\n")


async def cluster_context(
    cluster: Cluster, labels: Mapping[str, str], *, now: datetime, max_events: int = 8, max_chars: int = 1500
) -> ClusterContext | None:
    """The Pods and recent Events an alert's labels point at, or None when there is nothing the bot may read.

    None: no valid `namespace` label, no label naming an object (pod, deployment, statefulset, job_name,
    service, persistentvolumeclaim, horizontalpodautoscaler, node), or a namespace the bot does not manage.
    When the namespace cannot be read at all (API down, timeout, 403), the context says so in `text`
    rather than being None, so the incident thread tells why it has no cluster context.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_events < 0:
        raise ValueError("max_events must not be negative")
    namespace = labels.get("namespace", "")
    wanted = _Wanted.from_labels(labels)
    if not is_dns1123_label(namespace) or not wanted.subjects:
        return None
    try:
        await cluster.assert_managed(namespace)
    except NamespaceNotManaged:
        return None
    except ClusterError as exc:
        forbidden = isinstance(exc, ClusterForbidden)
        reason = Message("cluster.forbidden", {"kind": "Namespace"}) if forbidden else exc.reason
        empty = ClusterContext(
            namespace=namespace,
            subjects=wanted.subjects,
            pods=(),
            pods_left_out=0,
            events=(),
            events_left_out=0,
            not_found=(),
            not_listed=(),
            unavailable=reason,
            text="",
        )
        return replace(empty, text=empty.render(max_chars))

    snapshot = await cluster.snapshot(namespace, wanted.kinds)
    related = _Related(snapshot, wanted)
    pods, pods_out = _pods(related, wanted, now)
    events, events_out = _events(snapshot, related, wanted, pods, now, max_events)
    context = ClusterContext(
        namespace=namespace,
        subjects=wanted.subjects,
        pods=pods,
        pods_left_out=pods_out,
        events=events,
        events_left_out=events_out,
        not_found=tuple(related.not_found),
        not_listed=tuple(sorted(snapshot.errors.items())),
        unavailable=None,
        text="",
    )
    return replace(context, text=context.render(max_chars))


# --- what the labels name ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    pod: str | None
    deployment: str | None
    service: str | None
    claim: str | None
    hpa: str | None
    node: str | None
    statefulset: str | None
    job: str | None

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> _Wanted:
        def label(name: str) -> str | None:
            return labels.get(name) or None

        return cls(
            pod=label("pod"),
            deployment=label("deployment"),
            service=label("service"),
            claim=label("persistentvolumeclaim"),
            hpa=label("horizontalpodautoscaler"),
            node=label("node"),
            statefulset=label("statefulset"),
            job=label("job_name"),  # kube-state-metrics' name for a Job's label
        )

    @property
    def subjects(self) -> tuple[str, ...]:
        named = [
            ("pod", self.pod),
            ("deployment", self.deployment),
            ("service", self.service),
            ("persistentvolumeclaim", self.claim),
            ("horizontalpodautoscaler", self.hpa),
            ("node", self.node),
            ("statefulset", self.statefulset),
            ("job", self.job),
        ]
        return tuple(f"{kind}/{name}" for kind, name in named if name)

    @property
    def kinds(self) -> list[str]:
        kinds = ["Pod", "Event"]
        if self.deployment or self.hpa:
            kinds.append("ReplicaSet")
        if self.service:
            kinds.append("Service")
        if self.hpa:
            kinds.append("HorizontalPodAutoscaler")
        return kinds

    def objects(self) -> set[tuple[str, str]]:
        """(kind, name) of the named objects, whose own Events count too."""
        named = [
            ("Pod", self.pod),
            ("Deployment", self.deployment),
            ("Service", self.service),
            ("PersistentVolumeClaim", self.claim),
            ("HorizontalPodAutoscaler", self.hpa),
            ("StatefulSet", self.statefulset),
            ("Job", self.job),
        ]
        return {(kind, name) for kind, name in named if name}


def _items(snapshot: Snapshot, kind: str) -> list[Obj]:
    """The kind's items, or none when it could not be listed (the gap is reported from `errors`)."""
    return snapshot.items.get(kind, [])


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _owned_by(obj: Obj, kind: str, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(
        ref.get("kind") == kind and ref.get("name") in wanted
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


class _Related:
    """The Pods and other objects an alert concerns, found in one snapshot."""

    def __init__(self, snapshot: Snapshot, wanted: _Wanted) -> None:
        self.snapshot = snapshot
        self.pods: dict[str, Obj] = {}
        self.objects = wanted.objects()
        self.not_found: list[str] = []
        all_pods = _items(snapshot, "Pod")
        if wanted.pod:
            pod = next((p for p in all_pods if _name(p) == wanted.pod), None)
            if pod is not None:
                self.pods[wanted.pod] = pod
            elif "Pod" in snapshot.items:
                self.not_found.append(f"pod/{wanted.pod}")
        if wanted.deployment:
            self._add_deployment(all_pods, wanted.deployment)
        if wanted.service:
            self._add_service(all_pods, wanted.service)
        if wanted.claim:
            self._add(p for p in all_pods if wanted.claim in _claims(p))
        if wanted.hpa:
            self._add_hpa(all_pods, wanted.hpa)
        if wanted.node:
            self._add(p for p in all_pods if (p.get("spec") or {}).get("nodeName") == wanted.node)
        if wanted.statefulset:
            self._add(p for p in all_pods if _owned_by(p, "StatefulSet", [wanted.statefulset]))
        if wanted.job:
            self._add(p for p in all_pods if _owned_by(p, "Job", [wanted.job]))

    def _add(self, pods: Iterable[Obj]) -> None:
        for pod in pods:
            self.pods.setdefault(_name(pod), pod)

    def _add_deployment(self, all_pods: list[Obj], deployment: str) -> None:
        self.objects.add(("Deployment", deployment))
        if "ReplicaSet" in self.snapshot.items:
            sets = [_name(rs) for rs in self.snapshot.items["ReplicaSet"] if _owned_by(rs, "Deployment", [deployment])]
            self.objects.update(("ReplicaSet", name) for name in sets)
            self._add(p for p in all_pods if _owned_by(p, "ReplicaSet", sets))
            return
        # Without ReplicaSets, the Deployment controller's naming still ties a Pod to it exactly:
        # its ReplicaSet is "<deployment>-<pod-template-hash>".
        for pod in all_pods:
            template_hash = ((pod.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
            if template_hash and _owned_by(pod, "ReplicaSet", [f"{deployment}-{template_hash}"]):
                self._add([pod])

    def _add_service(self, all_pods: list[Obj], service: str) -> None:
        if "Service" not in self.snapshot.items:
            return
        found = next((s for s in self.snapshot.items["Service"] if _name(s) == service), None)
        if found is None:
            self.not_found.append(f"service/{service}")
            return
        selector: dict[str, Any] = (found.get("spec") or {}).get("selector") or {}
        # A Service selector is a plain equality map; an empty one selects no Pod (no endpoints are managed).
        if selector:
            self._add(
                p
                for p in all_pods
                if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in selector.items())
            )

    def _add_hpa(self, all_pods: list[Obj], hpa: str) -> None:
        if "HorizontalPodAutoscaler" not in self.snapshot.items:
            return
        found = next((h for h in self.snapshot.items["HorizontalPodAutoscaler"] if _name(h) == hpa), None)
        if found is None:
            self.not_found.append(f"horizontalpodautoscaler/{hpa}")
            return
        target = (found.get("spec") or {}).get("scaleTargetRef") or {}
        kind, name = str(target.get("kind") or ""), str(target.get("name") or "")
        if not name:
            return
        if kind == "Deployment":
            self._add_deployment(all_pods, name)
        elif kind in ("StatefulSet", "ReplicaSet"):
            self.objects.add((kind, name))
            self._add(p for p in all_pods if _owned_by(p, kind, [name]))


def _claims(pod: Obj) -> set[str]:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return {str(claim) for v in volumes if (claim := (v.get("persistentVolumeClaim") or {}).get("claimName"))}


# --- pods -------------------------------------------------------------------------------------


def _pods(related: _Related, wanted: _Wanted, now: datetime) -> tuple[tuple[PodFacts, ...], int]:
    facts = [_pod_facts(pod, now) for pod in related.pods.values()]
    # The named Pod first, then the ones in trouble: those are what the alert is about.
    facts.sort(key=lambda p: (p.name != wanted.pod, _healthy(p), p.name))
    shown = sorted(facts[:MAX_PODS], key=lambda p: p.name)
    return tuple(shown), len(facts) - len(shown)


def _healthy(pod: PodFacts) -> bool:
    return pod.phase == "Succeeded" or (pod.phase == "Running" and pod.ready == pod.total)


def _pod_facts(pod: Obj, now: datetime) -> PodFacts:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses: list[Obj] = status.get("containerStatuses") or []
    init_statuses: list[Obj] = status.get("initContainerStatuses") or []
    containers = tuple(
        [_container(c, init=True) for c in init_statuses] + [_container(c, init=False) for c in statuses]
    )
    finished = [
        t
        for c in statuses
        if (t := _time(((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))) is not None
    ]
    created = _time(meta.get("creationTimestamp"))
    return PodFacts(
        name=_name(pod),
        phase=str(status.get("phase") or "Unknown"),
        status=_kubectl_status(pod),
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


def _kubectl_status(pod: Obj) -> str:
    """kubectl's STATUS column (printPod): the first container's waiting or terminated reason wins."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    initializing = False
    init_total = len(spec.get("initContainers") or [])
    for i, container in enumerate(status.get("initContainerStatuses") or []):
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if container.get("started") and "running" in state:
            continue  # a sidecar (restartable init container) that runs
        initializing = True
        if terminated:
            reason = "Init:" + _terminated_reason(terminated)
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{init_total}"
        break
    if not initializing:
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            state = container.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and "running" in state:
                running = True
        if reason == "Completed" and running:
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            reason = "Running" if ready else "NotReady"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _terminated_reason(terminated: Obj) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode')}"


# --- events -----------------------------------------------------------------------------------


def _events(
    snapshot: Snapshot, related: _Related, wanted: _Wanted, pods: Sequence[PodFacts], now: datetime, max_events: int
) -> tuple[tuple[EventFacts, ...], int]:
    # Events about Pods not shown stay out: the text speaks about the Pods it lists.
    objects = {pair for pair in related.objects if pair[0] != "Pod"}
    objects |= {("Pod", p.name) for p in pods}
    if wanted.pod:
        objects.add(("Pod", wanted.pod))  # a Pod that is gone still has its recent Events
    about = [
        e
        for e in _items(snapshot, "Event")
        if ((e.get("involvedObject") or {}).get("kind"), (e.get("involvedObject") or {}).get("name")) in objects
    ]
    about.sort(key=_event_order, reverse=True)
    kept = about[:max_events]
    return tuple(_event_facts(e, now) for e in kept), len(about) - len(kept)


def _last_time(event: Obj) -> datetime | None:
    # kubectl's order: the series' last observation, else lastTimestamp, else eventTime.
    series = event.get("series") or {}
    return (
        _time(series.get("lastObservedTime"))
        or _time(event.get("lastTimestamp"))
        or _time(event.get("eventTime"))
        or _time((event.get("metadata") or {}).get("creationTimestamp"))
    )


def _event_order(event: Obj) -> tuple[datetime, int, str]:
    # Timestamps have one-second resolution and a kubelet records several Events in the same second;
    # resourceVersion (an etcd revision in practice, opaque by contract) keeps the order they were written in.
    version = str((event.get("metadata") or {}).get("resourceVersion") or "")
    return (
        _last_time(event) or datetime.min.replace(tzinfo=UTC),
        int(version) if version.isdigit() else 0,
        _name(event),
    )


def _event_facts(event: Obj, now: datetime) -> EventFacts:
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    last = _last_time(event)
    first = _time(event.get("eventTime")) or _time(event.get("firstTimestamp")) or last
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


# --- text -------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """Columns padded like kubectl's tabwriter; each line cut to `width` (the last column goes first)."""
    cells = [[_clean(cell) for cell in row] for row in [header, *rows]]
    widths = [max(text_size(row[i]) for row in cells) for i in range(len(header) - 1)]
    lines = []
    for row in cells:
        padded = [cell + " " * (w - text_size(cell)) for cell, w in zip(row, widths, strict=False)]
        lines.append(truncate(_GAP.join([*padded, row[-1]]).rstrip(), width))
    return lines


def _line(text: str, width: int) -> str:
    return truncate(_clean(text), width)


def _clean(text: str) -> str:
    """One line, and no ``` that would close the caller's code block (each backtick becomes a look-alike)."""
    one_line = _SPACES.sub(" ", text)
    return _FENCE.sub(lambda m: "ˋ" * len(m.group()), one_line)


def _restarts(pod: PodFacts) -> str:
    if pod.restarts and pod.last_restart is not None:
        return f"{pod.restarts} ({_age(pod.last_restart)} ago)"
    return str(pod.restarts)


def _last_seen(event: EventFacts) -> str:
    if event.count > 1:
        return f"{_age(event.age)} (x{event.count} over {_age(event.first_age)})"
    return _age(event.age)


def _age(delta: timedelta | None) -> str:
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


def _time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Time or MicroTime) as an aware datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
