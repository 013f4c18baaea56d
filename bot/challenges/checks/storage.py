"""Checks on PersistentVolumeClaims."""

from __future__ import annotations

from typing import Literal

from bot.challenges.checks._base import (
    NamedCheck,
    Outcome,
    diagnosis,
    name_of,
    register,
    require,
    shorten,
)
from bot.i18n import Message
from bot.snapshot import Obj, Snapshot
from bot.values import Quantity, parse_quantity


@register("pvc_bound", "PersistentVolumeClaim", "StorageClass", "Event")
class PvcBound(NamedCheck):
    max_storage: Quantity | None = None
    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        pvc = require(snapshot, "PersistentVolumeClaim", self.name)
        wrong = self._diagnose(snapshot, pvc.get("spec", {}))
        phase = pvc.get("status", {}).get("phase", "Pending")
        if phase == "Bound" and wrong is None:
            return Outcome.ok("check.pvc_bound.pass", name=self.name)
        if phase == "Bound":
            return Outcome.fail("check.pvc_bound.outside_bounds", name=self.name, diagnosis=wrong)
        return Outcome.fail(
            "check.pvc_bound.fail",
            name=self.name,
            phase=phase,
            event=_explaining_event(snapshot, self.name),
            diagnosis=wrong,
        )

    def _diagnose(self, snapshot: Snapshot, spec: Obj) -> Message | None:
        """The field of the claim that is wrong, and its bound."""
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
        if self.max_storage is not None and parse_quantity(requested) > parse_quantity(self.max_storage):
            return diagnosis("check.diagnosis.pvc_size", size=requested, max=self.max_storage)
        modes = list(spec.get("accessModes") or [])
        if self.access_modes is not None and not set(modes) <= set(self.access_modes):
            return diagnosis(
                "check.diagnosis.pvc_access_mode", modes=", ".join(modes), allowed=", ".join(self.access_modes)
            )
        classes = snapshot.list("StorageClass")
        class_name = spec.get("storageClassName")
        if class_name and all(name_of(c) != class_name for c in classes):
            return diagnosis(
                "check.diagnosis.pvc_class",
                storage_class=class_name,
                available=", ".join(sorted(name_of(c) for c in classes)) or "-",
            )
        return None


#: Reasons that explain a Pending claim; the controller's recurring "waiting for …" notes do not.
_EXPLAINING = ("ProvisioningFailed", "FailedBinding")


def _explaining_event(snapshot: Snapshot, claim: str) -> str:
    """The Event that says why the claim is Pending, with its repeat count as `kubectl describe` shows it.

    The latest Event is often persistentvolume-controller's "waiting for first consumer" or "waiting for a
    volume to be created" note, re-emitted on every resync; the provisioner's refusal is older. So a
    ProvisioningFailed/FailedBinding Event comes first, then any Warning, then the latest Normal one.
    """
    events = [
        e
        for e in snapshot.list("Event")
        if (e.get("involvedObject") or {}).get("name") == claim
        and (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
    ]
    if not events:
        return "-"

    def rank(event: Obj) -> tuple[bool, bool, str]:
        when = (
            event.get("lastTimestamp") or (event.get("series") or {}).get("lastObservedTime") or event.get("eventTime")
        )
        return (event.get("reason") in _EXPLAINING, event.get("type") == "Warning", str(when or ""))

    event = max(events, key=rank)
    count = int((event.get("series") or {}).get("count") or event.get("count") or 1)
    text = f"{event.get('reason')}: {shorten(str(event.get('message', '')))}"
    return f"{text} (×{count})" if count > 1 else text
