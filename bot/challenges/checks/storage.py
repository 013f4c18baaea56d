"""Checks on PersistentVolumeClaims."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from bot.challenges.checks._base import NamedCheck, Outcome, name_of, quantity_arg, register, require, shorten
from bot.challenges.selectors import parse_quantity
from bot.snapshot import Snapshot


@register("pvc_bound", "PersistentVolumeClaim", "StorageClass", "Event")
class PvcBound(NamedCheck):
    max_storage: str | None = None
    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] | None = None

    _quantities = field_validator("max_storage")(quantity_arg)

    def run(self, snapshot: Snapshot) -> Outcome:
        pvc = require(snapshot, "PersistentVolumeClaim", self.name)
        spec = pvc.get("spec", {})
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
        if self.max_storage is not None and parse_quantity(requested) > parse_quantity(self.max_storage):
            return Outcome.fail("check.pvc_bound.too_large", name=self.name, size=requested, max=self.max_storage)
        modes = list(spec.get("accessModes") or [])
        if self.access_modes is not None and not set(modes) <= set(self.access_modes):
            return Outcome.fail(
                "check.pvc_bound.access_mode",
                name=self.name,
                modes=", ".join(modes),
                allowed=", ".join(self.access_modes),
            )
        phase = pvc.get("status", {}).get("phase", "Pending")
        if phase == "Bound":
            return Outcome.ok("check.pvc_bound.pass", name=self.name)
        classes = snapshot.list("StorageClass")
        class_name = spec.get("storageClassName")
        if class_name and all(name_of(c) != class_name for c in classes):
            return Outcome.fail(
                "check.pvc_bound.no_class",
                name=self.name,
                storage_class=class_name,
                available=", ".join(sorted(name_of(c) for c in classes)) or "-",
            )
        events = [
            e
            for e in snapshot.list("Event")
            if (e.get("involvedObject") or {}).get("name") == self.name
            and (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
        ]
        events.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        last = shorten(str(events[-1].get("message", ""))) if events else "-"
        return Outcome.fail("check.pvc_bound.fail", name=self.name, phase=phase, event=last)
