"""Core v1 Events, as the kubelet and the controllers record them (deduplicated by object and message)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .apiserver import KubeEmulator

Obj = dict[str, Any]


class EventRecorder:
    def __init__(self, api: KubeEmulator) -> None:
        self.api = api
        self.res = api.table.find("events")
        self.ns_res = api.table.find("namespaces")

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
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        if self.api.store.get(self.ns_res, None, namespace) is None:
            return
        digest = hashlib.sha256(f"{meta.get('uid')}|{reason}|{message}|{field_path}".encode()).hexdigest()[:16]
        name = f"{meta['name']}.{digest}"
        if self.api.store.get(self.res, namespace, name) is not None:
            return  # the real recorder would bump `count`; a stable object keeps the simulation convergent
        now = self.api.clock.stamp()
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
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        self.api.store.create(self.res, event)
