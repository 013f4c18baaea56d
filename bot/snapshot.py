"""A snapshot of one namespace: one list per kind, and why a kind could not be listed; an object's conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Message

Obj = dict[str, Any]


@dataclass
class Snapshot:
    """One list per kind of a namespace (and of the cluster-scoped kinds the checks need).

    `errors` holds, per kind, why it could not be listed (forbidden, CRD not installed, timeout, …).
    """

    namespace: str
    items: dict[str, list[Obj]] = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)

    def list(self, kind: str) -> list[Obj]:
        if kind in self.errors:
            raise SnapshotGap(kind, self.errors[kind])
        if kind not in self.items:
            raise SnapshotGap(kind, Message("snapshot.not_listed", {"kind": kind}))
        return self.items[kind]

    def get(self, kind: str, name: str) -> Obj | None:
        for obj in self.list(kind):
            if obj.get("metadata", {}).get("name") == name:
                return obj
        return None


class SnapshotGap(Exception):
    def __init__(self, kind: str, reason: Message) -> None:
        super().__init__(kind)
        self.kind = kind
        self.reason = reason


def find_condition(obj: Obj, kind: str) -> Obj | None:
    """The object's status condition of this type (Ready, PodScheduled, Available, …), or None."""
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None
