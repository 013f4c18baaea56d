"""kubectl's tables, for a cluster the bot cannot reach (a team's own kubeadm cluster): `kubectl get nodes`
and `kubectl get pods`.

The formats are kubectl's table printer over the API server's Table columns (pkg/printers/internalversion
in kubernetes/kubernetes), the same from Kubernetes 1.16 to 1.34:

* `kubectl get nodes`: NAME, STATUS (`Ready`, `NotReady`, `Ready,SchedulingDisabled`), ROLES
  (`control-plane`, `<none>`; `control-plane,master` before 1.24), AGE, VERSION; `-o wide` adds
  INTERNAL-IP, EXTERNAL-IP, OS-IMAGE, KERNEL-VERSION, CONTAINER-RUNTIME;
* `kubectl get pods`: NAME, READY (`1/1`), STATUS (`Running`, `CrashLoopBackOff`, `Completed`, …),
  RESTARTS (`2 (3m ago)`), AGE; `-A` puts NAMESPACE first; `-o wide` adds IP, NODE, NOMINATED NODE,
  READINESS GATES.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, StringConstraints

from bot.evidence.parser import Condition, Parser, at_least, listing
from bot.i18n import Message

#: An object's name as Kubernetes allows it (a DNS subdomain).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_READY = re.compile(r"([0-9]{1,3})/([0-9]{1,3})")
#: The roles kubeadm labels a control-plane node with: `control-plane` since 1.20, `master` before 1.24.
_CONTROL_PLANE_ROLES = frozenset({"control-plane", "master"})


@dataclass(frozen=True)
class Node:
    name: str
    conditions: frozenset[str]  # STATUS split at commas: Ready or NotReady, SchedulingDisabled
    roles: frozenset[str]
    version: str

    @property
    def ready(self) -> bool:
        return "Ready" in self.conditions

    @property
    def control_plane(self) -> bool:
        return bool(self.roles & _CONTROL_PLANE_ROLES)


class NodesCondition(Condition):
    ready: PositiveInt | None = Field(default=None, description="at least this many nodes are Ready")
    control_planes: PositiveInt | None = Field(default=None, description="at least this many control-plane nodes")


class KubectlGetNodes(Parser[Node, NodesCondition]):
    name = "kubectl-get-nodes"
    command = "kubectl get nodes"
    columns = frozenset(
        {
            "NAME", "STATUS", "ROLES", "AGE", "VERSION",
            "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
        }
    )  # fmt: skip
    condition = NodesCondition

    def needs(self, condition: NodesCondition) -> frozenset[str]:
        return frozenset({"NAME", "STATUS", *(["ROLES"] if condition.control_planes is not None else [])})

    def row(self, cells: Mapping[str, str]) -> Node | None:
        if not _NAME.fullmatch(cells["NAME"]) or not cells["STATUS"]:
            return None
        return Node(
            name=cells["NAME"],
            conditions=frozenset(cells["STATUS"].split(",")),
            roles=frozenset(cells.get("ROLES", "").split(",")),
            version=cells.get("VERSION", ""),
        )

    def judge(self, rows: Sequence[Node], condition: NodesCondition) -> tuple[Message, list[Message]]:
        ready = sum(node.ready for node in rows)
        control_planes = sum(node.control_plane for node in rows)
        found = Message(
            "evidence.kubectl_get_nodes.found", {"nodes": len(rows), "ready": ready, "control_planes": control_planes}
        )
        unmet = at_least("evidence.what.ready_nodes", ready, condition.ready)
        unmet += at_least("evidence.what.control_planes", control_planes, condition.control_planes)
        return found, unmet


@dataclass(frozen=True)
class Pod:
    namespace: str  # "" unless the table has a NAMESPACE column
    name: str
    ready_containers: int
    containers: int
    status: str

    @property
    def ready(self) -> bool:
        return self.status == "Running" and 0 < self.containers == self.ready_containers


PodPrefix = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9.]{0,252}$")]


class PodsCondition(Condition):
    selectors = frozenset({"prefix"})

    prefix: PodPrefix | None = Field(default=None, description="only Pods whose name starts with this")
    running: PositiveInt | None = Field(default=None, description="at least this many Pods are Running and ready")
    all_ready: Literal[True] | None = Field(default=None, description="every Pod is Running and ready")


class KubectlGetPods(Parser[Pod, PodsCondition]):
    name = "kubectl-get-pods"
    command = "kubectl get pods"
    columns = frozenset(
        {
            "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE",
            "IP", "NODE", "NOMINATED NODE", "READINESS GATES",
        }
    )  # fmt: skip
    condition = PodsCondition

    def needs(self, condition: PodsCondition) -> frozenset[str]:
        return frozenset({"NAME", "READY", "STATUS"})

    def row(self, cells: Mapping[str, str]) -> Pod | None:
        ready = _READY.fullmatch(cells["READY"])
        if not _NAME.fullmatch(cells["NAME"]) or ready is None or not cells["STATUS"]:
            return None
        return Pod(
            namespace=cells.get("NAMESPACE", ""),
            name=cells["NAME"],
            ready_containers=int(ready[1]),
            containers=int(ready[2]),
            status=cells["STATUS"],
        )

    def judge(self, rows: Sequence[Pod], condition: PodsCondition) -> tuple[Message, list[Message]]:
        prefix = condition.prefix or ""
        pods = [pod for pod in rows if pod.name.startswith(prefix)]
        ready = [pod for pod in pods if pod.ready]
        found = Message("evidence.kubectl_get_pods.found", {"pods": len(pods), "ready": len(ready)})
        if not pods:
            return found, [Message("evidence.kubectl_get_pods.none", {"prefix": prefix})]
        unmet = at_least("evidence.what.ready_pods", len(ready), condition.running)
        not_ready = [
            f"{pod.name} {pod.status} {pod.ready_containers}/{pod.containers}" for pod in pods if not pod.ready
        ]
        if condition.all_ready and not_ready:
            unmet.append(Message("evidence.kubectl_get_pods.not_ready", {"pods": listing(not_ready)}))
        return found, unmet
