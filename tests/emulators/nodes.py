"""The node lifecycle controller's taints and the taint eviction controller (kubernetes/kubernetes v1.33).

- ``pkg/controller/nodelifecycle/node_lifecycle_controller.go`` ``doNoScheduleTaintingPass``: a node with
  ``spec.unschedulable`` (``kubectl cordon``) carries ``node.kubernetes.io/unschedulable:NoSchedule``, and
  loses it once uncordoned.
- ``pkg/controller/tainteviction/taint_eviction.go``: a Pod bound to a node with a ``NoExecute`` taint it
  does not tolerate is deleted at once, with the Normal event ``TaintManagerEviction`` "Marking for deletion
  Pod <namespace>/<name>" from ``taint-eviction-controller``. A toleration with ``tolerationSeconds`` is
  taken as tolerating for good (the 300 s every Pod gets for not-ready/unreachable are not counted down).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .resources import Obj
from .scheduler import tolerates

if TYPE_CHECKING:
    from .simulator import Simulator

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


class NodeTaints:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        for node in self.sim.objects("nodes"):
            spec = node.setdefault("spec", {})
            taints: list[Obj] = list(spec.get("taints") or [])
            has = any(t.get("key") == UNSCHEDULABLE_TAINT for t in taints)
            if spec.get("unschedulable") and not has:
                taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
            elif not spec.get("unschedulable") and has:
                taints = [t for t in taints if t.get("key") != UNSCHEDULABLE_TAINT]
            else:
                continue
            if taints:
                spec["taints"] = taints
            else:
                spec.pop("taints", None)
            self.sim.save("nodes", node)


class TaintEviction:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        sim = self.sim
        no_execute = {
            n["metadata"]["name"]: [
                t for t in (n.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"
            ]
            for n in sim.objects("nodes")
        }
        for pod in sim.objects("pods"):
            taints = no_execute.get(str(pod["spec"].get("nodeName")))
            if not taints or pod["metadata"].get("deletionTimestamp"):
                continue
            tolerations = pod["spec"].get("tolerations") or []
            if all(tolerates(tolerations, taint) for taint in taints):
                continue
            meta = pod["metadata"]
            sim.events.record(
                pod,
                "Normal",
                "TaintManagerEviction",
                f"Marking for deletion Pod {meta['namespace']}/{meta['name']}",
                component="taint-eviction-controller",
            )
            sim.delete("pods", meta["namespace"], meta["name"])
