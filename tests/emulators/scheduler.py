"""kube-scheduler's filters and its ``FailedScheduling`` wording (``0/3 nodes are available: ...``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .quantities import QuantityError, parse_quantity
from .resources import Obj
from .selectors import matches_selector_object, node_selector_matches

# Scores use these for containers without requests, like the real NodeResourcesFit scorer.
NONZERO_CPU = Decimal("0.1")
NONZERO_MEMORY = Decimal(200 * 2**20)

UNRESOLVABLE = "UnschedulableAndUnresolvable"
UNSCHEDULABLE = "Unschedulable"


def _q(value: Any) -> Decimal:
    try:
        return parse_quantity(value)
    except QuantityError:
        return Decimal(0)


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """Effective requests: the sum over containers, or the largest init container if that is larger."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests = dict(resources.get("requests") or {})
        for name, value in (resources.get("limits") or {}).items():
            requests.setdefault(name, value)
        for name, value in requests.items():
            total[name] = total.get(name, Decimal(0)) + _q(value)
    for container in spec.get("initContainers") or []:
        resources = container.get("resources") or {}
        requests = dict(resources.get("requests") or {})
        for name, value in (resources.get("limits") or {}).items():
            requests.setdefault(name, value)
        for name, value in requests.items():
            total[name] = max(total.get(name, Decimal(0)), _q(value))
    return total


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for toleration in tolerations or []:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        operator = toleration.get("operator", "Equal")
        key = toleration.get("key")
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


@dataclass
class Decision:
    node: str | None = None
    message: str = ""
    reason: str = "Unschedulable"
    # (claim name, node) pairs the VolumeBinding plugin selects for WaitForFirstConsumer claims.
    select_claims: list[str] = field(default_factory=list)


@dataclass
class VolumeFacts:
    """What VolumeBinding knows about one claim the pod uses."""

    claim: str
    exists: bool
    deleting: bool = False
    bound: bool = False
    wait_for_consumer: bool = False
    pv_node_selector: Obj | None = None


def _node_failures(
    pod: Obj,
    node: Obj,
    requests: dict[str, Decimal],
    used: dict[str, Decimal],
    pods_on_node: list[Obj],
    all_pods: list[Obj],
    nodes: list[Obj],
    volumes: list[VolumeFacts],
) -> tuple[list[str], str]:
    spec = pod.get("spec") or {}
    meta = node["metadata"]
    node_spec = node.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    # NodeUnschedulable
    if node_spec.get("unschedulable") and not tolerates(
        tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    ):
        return ["node(s) were unschedulable"], UNRESOLVABLE
    # TaintToleration
    for taint in node_spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"], UNRESOLVABLE
    # NodeAffinity (nodeSelector + required node affinity)
    labels = meta.get("labels") or {}
    selector_ok = all(labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items())
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not selector_ok or not node_selector_matches(required, node):
        return ["node(s) didn't match Pod's node affinity/selector"], UNRESOLVABLE
    # NodePorts
    wanted_ports = {
        (p.get("hostPort"), p.get("protocol", "TCP"))
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("hostPort")
    }
    if wanted_ports:
        taken = {
            (p.get("hostPort"), p.get("protocol", "TCP"))
            for other in pods_on_node
            for c in other["spec"].get("containers") or []
            for p in c.get("ports") or []
            if p.get("hostPort")
        }
        if wanted_ports & taken:
            return ["node(s) didn't have free ports for the requested pod ports"], UNSCHEDULABLE
    # NodeResourcesFit
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    reasons: list[str] = []
    if len(pods_on_node) + 1 > int(_q(allocatable.get("pods", "110"))):
        reasons.append("Too many pods")
    for name, amount in sorted(requests.items()):
        if amount <= 0:
            continue
        free = _q(allocatable.get(name, "0")) - used.get(name, Decimal(0))
        if amount > free:
            reasons.append(f"Insufficient {name}")
    if reasons:
        return reasons, UNSCHEDULABLE
    # VolumeBinding: bound PVs pin the pod to their nodes
    for volume in volumes:
        if (
            volume.bound
            and volume.pv_node_selector is not None
            and not node_selector_matches(volume.pv_node_selector, node)
        ):
            return ["node(s) had volume node affinity conflict"], UNRESOLVABLE
    # InterPodAffinity (required terms)
    affinity = spec.get("affinity") or {}
    for term in (affinity.get("podAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        if not _topology_has_match(pod, term, node, all_pods, nodes):
            return ["node(s) didn't match pod affinity rules"], UNRESOLVABLE
    for term in (affinity.get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        if _topology_has_match(pod, term, node, all_pods, nodes):
            return ["node(s) didn't match pod anti-affinity rules"], UNSCHEDULABLE
    return [], ""


def _topology_has_match(pod: Obj, term: Obj, node: Obj, all_pods: list[Obj], nodes: list[Obj]) -> bool:
    key = term.get("topologyKey", "kubernetes.io/hostname")
    value = (node["metadata"].get("labels") or {}).get(key)
    if value is None:
        return False
    domain = {n["metadata"]["name"] for n in nodes if (n["metadata"].get("labels") or {}).get(key) == value}
    namespaces = set(term.get("namespaces") or [pod["metadata"].get("namespace")])
    for other in all_pods:
        if other["metadata"].get("uid") == pod["metadata"].get("uid"):
            continue
        if other["spec"].get("nodeName") not in domain or other["metadata"].get("namespace") not in namespaces:
            continue
        if matches_selector_object(term.get("labelSelector") or {}, other["metadata"].get("labels")):
            return True
    return False


def _histogram(reasons: Counter[str]) -> str:
    return ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))


def schedule(pod: Obj, nodes: list[Obj], bound_pods: list[Obj], volumes: list[VolumeFacts]) -> Decision:
    total = len(nodes)
    # PreFilter: VolumeBinding looks at the claims before any node.
    for volume in volumes:
        prefilter = None
        if not volume.exists:
            prefilter = f'persistentvolumeclaim "{volume.claim}" not found'
        elif volume.deleting:
            prefilter = f'persistentvolumeclaim "{volume.claim}" is being deleted'
        elif not volume.bound and not volume.wait_for_consumer:
            prefilter = "pod has unbound immediate PersistentVolumeClaims"
        if prefilter:
            return Decision(
                message=f"0/{total} nodes are available: {prefilter}. preemption: 0/{total} nodes are "
                f"available: {total} Preemption is not helpful for scheduling."
            )
    requests = pod_requests(pod)
    reasons: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    feasible: list[tuple[tuple[Decimal, int, str], str]] = []
    for node in nodes:
        name = node["metadata"]["name"]
        on_node = [p for p in bound_pods if p["spec"].get("nodeName") == name]
        used: dict[str, Decimal] = {}
        for other in on_node:
            for key, amount in pod_requests(other).items():
                used[key] = used.get(key, Decimal(0)) + amount
        failures, kind = _node_failures(pod, node, requests, used, on_node, bound_pods, nodes, volumes)
        if failures:
            reasons.update(failures)
            preemption[
                "Preemption is not helpful for scheduling"
                if kind == UNRESOLVABLE
                else "No preemption victims found for incoming pod"
            ] += 1
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        cpu_total = _q(allocatable.get("cpu", "1")) or Decimal(1)
        mem_total = _q(allocatable.get("memory", "1")) or Decimal(1)
        cpu = sum((pod_requests(p).get("cpu") or NONZERO_CPU for p in on_node), Decimal(0))
        mem = sum((pod_requests(p).get("memory") or NONZERO_MEMORY for p in on_node), Decimal(0))
        score = (cpu / cpu_total + mem / mem_total, len(on_node), name)
        feasible.append((score, name))
    if feasible:
        feasible.sort()
        return Decision(node=feasible[0][1], select_claims=[v.claim for v in volumes if not v.bound])
    message = (
        f"0/{total} nodes are available: {_histogram(reasons)}. preemption: 0/{total} nodes are available: "
        f"{_histogram(preemption)}."
    )
    return Decision(message=message)
