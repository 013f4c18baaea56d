"""Object storage with the server-managed metadata a real API server maintains.

Objects live in kmock's ``ObjectsArray`` (so ``emulator.objects[...]`` and its history keep working);
this layer adds uids, creation timestamps, a cluster-wide ``resourceVersion`` counter, generations,
and a change log that watches stream from.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import kmock

from .resources import Obj, ResourceDef

_T = TypeVar("_T")

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
        self.frozen: datetime.datetime | None = None

    def now(self) -> datetime.datetime:
        return (self.frozen or datetime.datetime.now(tz=datetime.UTC)) + self.offset

    def freeze(self) -> None:
        """From now on only ``advance`` moves the clock (for tests that time back-offs to the second)."""
        self.frozen = self.frozen or datetime.datetime.now(tz=datetime.UTC)

    def advance(self, seconds: float) -> None:
        self.offset += datetime.timedelta(seconds=seconds)

    def stamp(self) -> str:
        return rfc3339(self.now())


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4096)
def parse_time(text: str | None) -> datetime.datetime | None:
    """(Cached: the controllers parse the same few stamps over and over, and ``strptime`` was a few percent of
    the emulator's CPU.)"""
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


@functools.cache
def kmock_resource(group: str, version: str, plural: str) -> kmock.resource:
    """kmock's (immutable) reference to a resource, made once: making one was a few percent of every request."""
    return kmock.resource(group, version, plural)


@dataclass(frozen=True)
class Change:
    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: ResourceDef
    object: Obj


#: The immutable leaves of JSON-like data, which a copy shares.
_ATOMS = frozenset({str, int, float, bool, type(None)})


def clone(value: _T) -> _T:
    """A deep copy of JSON-like data: every dict and list copied (a subclass as a plain one), the rest shared.

    (Several times faster than ``copy.deepcopy``; the leaves are not recursed into, which halves it again:
    copying was a tenth of the suite's CPU.)"""
    return cast(_T, _clone(value))


def _clone(value: Any) -> Any:
    # Untyped, so that the recursion makes no call to `cast`: a third of the copy's time when it did.
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


class Store:
    """The live objects, indexed by resource, mirrored into kmock's ``ObjectsArray`` with their history.

    Reads come from the index; write through this class (the API or the simulator), not through
    ``emulator.objects``, or the index will not see the change. A stored dict is never changed once stored (a
    write stores a new one), so the change log and kmock's history share it, and ``peek``/``raw`` hand it out
    for reading; everything else hands out copies.
    """

    def __init__(self, objects: kmock.ObjectsArray, clock: Clock) -> None:
        self._objects = objects
        self._live: dict[str, dict[tuple[str | None, str], Obj]] = {}
        self.versions: dict[str, int] = {}  # per resource: bumped on every write of that resource
        self.clock = clock
        self.resource_version = 0
        self.changes: list[Change] = []
        self.uids: set[str] = set()  # of every stored object, for the garbage collector
        self._uid_seed = 0

    @staticmethod
    def _key(res: ResourceDef, namespace: str | None, name: str) -> tuple[kmock.resource, str | None, str]:
        return (kmock_resource(res.group, res.version, res.plural), namespace if res.namespaced else None, name)

    def _bucket(self, res: ResourceDef) -> dict[tuple[str | None, str], Obj]:
        return self._live.setdefault(res.path, {})

    def _bump(self, res: ResourceDef) -> str:
        self.resource_version += 1
        self.versions[res.path] = self.resource_version
        return str(self.resource_version)

    def _new_uid(self, res: ResourceDef, namespace: str | None, name: str) -> str:
        self._uid_seed += 1
        seed = f"{res.path}/{namespace}/{name}/{self._uid_seed}"
        return str(uuid.UUID(bytes=hashlib.md5(seed.encode(), usedforsecurity=False).digest(), version=4))

    # --- reading ----------------------------------------------------------------------------

    def get(self, res: ResourceDef, namespace: str | None, name: str) -> Obj | None:
        obj = self.peek(res, namespace, name)
        return None if obj is None else clone(obj)

    def peek(self, res: ResourceDef, namespace: str | None, name: str) -> Obj | None:
        """The stored dict itself, to read or to test for (never mutate it)."""
        return self._bucket(res).get((namespace if res.namespaced else None, name))

    def raw(self, res: ResourceDef) -> list[Obj]:
        """The stored dicts themselves, for read-only scans (never mutate them)."""
        return list(self._bucket(res).values())

    def dependents(self, res: ResourceDef, namespace: str | None, owner_uid: str) -> list[Obj]:
        """Copies of the objects an ownerReference ties to ``owner_uid``, in ``list`` order. Only these are
        copied: a cascading delete asks this of every resource, and copying whole namespaces was most of
        its cost."""
        owned = [
            obj
            for (ns, _name), obj in self._bucket(res).items()
            if (namespace is None or not res.namespaced or ns == namespace)
            and any(o.get("uid") == owner_uid for o in obj["metadata"].get("ownerReferences") or [])
        ]
        return [clone(obj) for obj in sorted(owned, key=_list_order)]

    def scan(self, res: ResourceDef, namespace: str | None = None) -> list[Obj]:
        """The stored dicts themselves, in ``list`` order, for reading (never mutate them)."""
        bucket = self._bucket(res)
        if namespace is None or not res.namespaced:
            found = list(bucket.values())
        else:
            found = [obj for (ns, _name), obj in bucket.items() if ns == namespace]
        return sorted(found, key=_list_order)

    def list(self, res: ResourceDef, namespace: str | None = None) -> list[Obj]:
        return [clone(obj) for obj in self.scan(res, namespace)]

    # --- writing ----------------------------------------------------------------------------

    def create(self, res: ResourceDef, obj: Obj) -> Obj:
        """Store a copy of ``obj`` with the server's metadata; the stored dict is returned, to read or copy."""
        obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace") if res.namespaced else None
        if not res.namespaced:
            meta.pop("namespace", None)
        name = meta["name"]
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta["uid"] = self._new_uid(res, namespace, name)
        self.uids.add(meta["uid"])
        meta["creationTimestamp"] = self.clock.stamp()
        if res.crd or res.kind in GENERATION_KINDS:
            meta["generation"] = 1
        meta["resourceVersion"] = self._bump(res)
        key = self._key(res, namespace, name)
        if key in self._objects:
            self._objects[key].create(obj)
        else:
            self._objects[key] = obj
        self._bucket(res)[(namespace, name)] = obj
        self.changes.append(Change(self.resource_version, "ADDED", res, obj))
        return obj

    def update(self, res: ResourceDef, obj: Obj) -> Obj:
        """Store a new version if anything but ``resourceVersion`` changed; bump generation on spec changes. The
        stored dict is returned, to read or copy (most writers do not look at it)."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") if res.namespaced else None
        current = self._bucket(res)[(namespace, meta["name"])]
        # Compared before it is copied: most updates the controllers and re-applies send change nothing.
        new = {**obj, "apiVersion": res.api_version, "kind": res.kind, "metadata": dict(meta)}
        for field in ("uid", "creationTimestamp"):
            new["metadata"][field] = current["metadata"][field]
        if "generation" in current["metadata"]:
            new["metadata"]["generation"] = current["metadata"]["generation"]
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if new == current:
            return current
        new = clone(new)
        if "generation" in current["metadata"] and _generation_changed(current, new):
            new["metadata"]["generation"] = current["metadata"]["generation"] + 1
        new["metadata"]["resourceVersion"] = self._bump(res)
        self._objects[self._key(res, namespace, meta["name"])].history.append(new)
        self._bucket(res)[(namespace, meta["name"])] = new
        self.changes.append(Change(self.resource_version, "MODIFIED", res, new))
        return new

    def delete(self, res: ResourceDef, namespace: str | None, name: str) -> None:
        namespace = namespace if res.namespaced else None
        current = self._bucket(res).pop((namespace, name), None)
        if current is None:
            return
        self.uids.discard(current["metadata"]["uid"])
        last = {**current, "metadata": {**current["metadata"], "resourceVersion": self._bump(res)}}
        self._objects[self._key(res, namespace, name)].delete()
        self.changes.append(Change(self.resource_version, "DELETED", res, last))


def _list_order(obj: Obj) -> tuple[str, str]:
    return (obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


def _generation_changed(old: Obj, new: Obj) -> bool:
    def body(obj: Obj) -> Obj:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    return body(old) != body(new)
