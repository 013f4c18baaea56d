"""Object storage with the server-managed metadata a real API server maintains.

Objects live in kmock's ``ObjectsArray`` (so ``emulator.objects[...]`` and its history keep working);
this layer adds uids, creation timestamps, a cluster-wide ``resourceVersion`` counter, generations,
and a change log that watches stream from.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import kmock

from .resources import ResourceDef

Obj = dict[str, Any]

SERVER_MANAGED_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


GENERATION_KINDS = frozenset(
    {
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "Ingress",
    }
)


class Clock:
    """Wall time plus an offset that tests move forward (``advance``) to pass deadlines and back-offs."""

    def __init__(self) -> None:
        self.offset = datetime.timedelta()

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(tz=datetime.UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += datetime.timedelta(seconds=seconds)

    def stamp(self) -> str:
        return rfc3339(self.now())


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def short_hash(*parts: str, length: int = 10) -> str:
    """Deterministic names in the alphabet Kubernetes uses for generated suffixes (no vowels)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest(), "big")
    out = ""
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        out += alphabet[index]
    return out


@dataclass(frozen=True)
class Change:
    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: ResourceDef
    object: Obj


class Store:
    def __init__(self, objects: kmock.ObjectsArray, clock: Clock) -> None:
        self._objects = objects
        self.clock = clock
        self.resource_version = 0
        self.changes: list[Change] = []
        self._uid_seed = 0

    @staticmethod
    def _key(res: ResourceDef, namespace: str | None, name: str) -> tuple[kmock.resource, str | None, str]:
        return (kmock.resource(res.group, res.version, res.plural), namespace if res.namespaced else None, name)

    def _bump(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def _new_uid(self, res: ResourceDef, namespace: str | None, name: str) -> str:
        self._uid_seed += 1
        seed = f"{res.path}/{namespace}/{name}/{self._uid_seed}"
        return str(uuid.UUID(bytes=hashlib.md5(seed.encode()).digest(), version=4))

    # --- reading ----------------------------------------------------------------------------

    def get(self, res: ResourceDef, namespace: str | None, name: str) -> Obj | None:
        key = self._key(res, namespace, name)
        if key not in self._objects:
            return None
        obj = self._objects[key]
        if obj.deleted:
            return None
        return copy.deepcopy(obj.raw)

    def iter(self, res: ResourceDef, namespace: str | None = None) -> Iterator[Obj]:
        wanted = kmock.resource(res.group, res.version, res.plural)
        for (resource, ns, _name), obj in list(self._objects.items()):
            if resource != wanted or obj.deleted:
                continue
            if namespace is not None and res.namespaced and ns != namespace:
                continue
            yield copy.deepcopy(obj.raw)

    def list(self, res: ResourceDef, namespace: str | None = None) -> list[Obj]:
        return sorted(
            self.iter(res, namespace), key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"])
        )

    # --- writing ----------------------------------------------------------------------------

    def create(self, res: ResourceDef, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace") if res.namespaced else None
        if not res.namespaced:
            meta.pop("namespace", None)
        name = meta["name"]
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta["uid"] = self._new_uid(res, namespace, name)
        meta["creationTimestamp"] = self.clock.stamp()
        if res.crd or res.kind in GENERATION_KINDS:
            meta["generation"] = 1
        meta["resourceVersion"] = self._bump()
        key = self._key(res, namespace, name)
        if key in self._objects:
            self._objects[key].create(obj)
        else:
            self._objects[key] = obj
        self.changes.append(Change(self.resource_version, "ADDED", res, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def update(self, res: ResourceDef, obj: Obj) -> Obj:
        """Store a new version if anything but ``resourceVersion`` changed; bump generation on spec changes."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") if res.namespaced else None
        key = self._key(res, namespace, meta["name"])
        current = self._objects[key].raw
        new = copy.deepcopy(obj)
        new["apiVersion"] = res.api_version
        new["kind"] = res.kind
        for field in ("uid", "creationTimestamp"):
            new["metadata"][field] = current["metadata"][field]
        if "generation" in current["metadata"]:
            new["metadata"]["generation"] = current["metadata"]["generation"]
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if new == current:
            return copy.deepcopy(current)
        if "generation" in current["metadata"] and _generation_changed(current, new):
            new["metadata"]["generation"] = current["metadata"]["generation"] + 1
        new["metadata"]["resourceVersion"] = self._bump()
        self._objects[key].history.append(new)
        self.changes.append(Change(self.resource_version, "MODIFIED", res, copy.deepcopy(new)))
        return copy.deepcopy(new)

    def delete(self, res: ResourceDef, namespace: str | None, name: str) -> Obj | None:
        key = self._key(res, namespace, name)
        if key not in self._objects or self._objects[key].deleted:
            return None
        last = copy.deepcopy(self._objects[key].raw)
        last["metadata"]["resourceVersion"] = self._bump()
        self._objects[key].delete()
        self.changes.append(Change(self.resource_version, "DELETED", res, copy.deepcopy(last)))
        return last


def _generation_changed(old: Obj, new: Obj) -> bool:
    def body(obj: Obj) -> Obj:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    return body(old) != body(new)
