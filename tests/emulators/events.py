"""Core v1 Events, aggregated the way client-go's recorder does it.

kubernetes/kubernetes staging/src/k8s.io/client-go/tools/record/events_cache.go (v1.33): ``getEventKey``
joins source, involved object (with fieldPath), type, reason and message; an event whose key was seen
before is not created again but patched: ``count`` + 1 and a new ``lastTimestamp``. The recorder's
spam filter (25 events per source and object, then one per 5 minutes) and the "(combined from similar
events)" aggregation of more than 10 messages per reason are not modelled.

Callers say how an event repeats:

* ``record(...)``: a one-off (Scheduled, SuccessfulCreate): recorded once however often it is called.
* ``record(..., occurrence=True, at=t, count=n)``: ``n`` new occurrences, the last at ``t`` (the kubelet
  reports what happened since its previous sync, e.g. the back-offs it went through).
* ``record(..., every=s)``: a controller that retries every ``s`` seconds while a condition holds
  (FailedScheduling, ExternalProvisioning): each call adds the retries due since ``lastTimestamp``. A
  settle round in which the caller did not report the event ends the series, so the next report
  counts as a new retry rather than back-filling the interval in which the condition did not hold.
* ``record(..., rate_limited=True)``: a controller whose sync fails and is requeued through its
  workqueue's ``DefaultControllerRateLimiter`` (client-go util/workqueue/default_rate_limiters.go:
  5 ms doubling per failure up to 1000 s), e.g. a ReplicaSet that cannot create its pods: the count
  follows the retries due since the series began.
"""

from __future__ import annotations

import datetime
import hashlib
import math
from typing import TYPE_CHECKING

from .resources import Obj
from .store import parse_time, rfc3339

if TYPE_CHECKING:
    from .apiserver import KubeEmulator

# cmd/kube-apiserver/app/options/options.go (v1.33): --event-ttl defaults to 1h; every write of an event
# renews its lease, so an event goes an hour after it last happened
EVENT_TTL_SECONDS = 3600.0
RETRY_BASE_SECONDS = 0.005
RETRY_MAX_SECONDS = 1000.0


class EventRecorder:
    def __init__(self, api: KubeEmulator) -> None:
        self.api = api
        self.res = api.table.find("events")
        self.ns_res = api.table.find("namespaces")
        self.run = 0  # the simulator's settle run; bumped by ``Simulator.run``
        self._seen: dict[str, int] = {}  # event name -> the last run it was reported in
        self._series: dict[str, tuple[datetime.datetime, int]] = {}  # rate-limited: (start, count at start)

    def record(
        self,
        obj: Obj,
        type_: str,
        reason: str,
        message: str,
        *,
        component: str,
        host: str | None = None,
        field_path: str | None = None,
        occurrence: bool = False,
        at: datetime.datetime | None = None,
        count: int = 1,
        first: datetime.datetime | None = None,
        every: float | None = None,
        rate_limited: bool = False,
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        if self.api.store.peek(self.ns_res, None, namespace) is None:
            return
        key = f"{component}|{host}|{meta.get('uid')}|{field_path}|{type_}|{reason}|{message}"
        name = f"{meta['name']}.{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        moment = at or self.api.clock.now()
        previous_run = self._seen.get(name)
        self._seen[name] = self.run
        existing = self.api.store.peek(self.res, namespace, name)  # read only: a bump writes a new one
        interrupted = previous_run is None or previous_run < self.run - 1
        if rate_limited and (existing is None or interrupted):
            self._series[name] = (moment, int((existing or {}).get("count") or 0))
        if existing is None:
            span = (rfc3339(first or moment), rfc3339(moment))
            self._create(obj, name, namespace, type_, reason, message, component, host, field_path, count, span)
            return
        last = parse_time(existing.get("lastTimestamp")) or moment
        if occurrence:
            added, stamp = count, moment
        elif rate_limited:
            start, before = self._series[name]
            due, offset = _retries_due((moment - start).total_seconds())
            added, stamp = before + due - int(existing.get("count") or 1), start + datetime.timedelta(seconds=offset)
        elif every is not None:
            if interrupted:
                added, stamp = 1, moment  # the condition stopped and came back
            else:
                added = math.floor((moment - last).total_seconds() / every)
                stamp = last + datetime.timedelta(seconds=added * every)
        else:
            return
        if added <= 0:
            return
        bumped = {**existing, "count": int(existing.get("count") or 1) + added}
        bumped["lastTimestamp"] = rfc3339(max(stamp, last))
        self.api.store.update(self.res, bumped)

    def expire(self) -> None:
        """The API server drops an event its TTL after its last write."""
        now = self.api.clock.now()
        for event in self.api.store.raw(self.res):
            last = parse_time(event.get("lastTimestamp") or event["metadata"].get("creationTimestamp"))
            if last is not None and (now - last).total_seconds() > EVENT_TTL_SECONDS:
                self.api.store.delete(self.res, event["metadata"].get("namespace"), event["metadata"]["name"])

    def _create(
        self,
        obj: Obj,
        name: str,
        namespace: str,
        type_: str,
        reason: str,
        message: str,
        component: str,
        host: str | None,
        field_path: str | None,
        count: int,
        span: tuple[str, str],
    ) -> None:
        meta = obj["metadata"]
        involved: Obj = {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta["name"],
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "firstTimestamp": span[0],
            "lastTimestamp": span[1],
            "count": count,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        self.api.store.create(self.res, event)


def _retries_due(elapsed: float) -> tuple[int, float]:
    """(attempts made ``elapsed`` seconds into a rate-limited series, the offset of the last one)."""
    attempts, offset, delay = 1, 0.0, RETRY_BASE_SECONDS
    while offset + delay <= elapsed:
        offset += delay
        attempts += 1
        delay = min(delay * 2, RETRY_MAX_SECONDS)
    return attempts, offset
