"""Checks on the cluster itself, for `scope: cluster` scenarios on a team's own cluster: nodes that take Pods,
what their Pods request of them, and the control plane's health, as `kubectl describe node`, `kubectl -n
kube-system get pods` and `kubectl get --raw '/readyz?verbose'` show them.

They read views beyond the team's namespace (`bot.challenges.cluster_view`): every namespace's Pods, the
kube-system Pods and the API server's `/readyz`. An API server that does not answer leaves them "could not
check", never a pass.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from bot.challenges.checks._base import CheckSpec, LabelSelecting, Outcome, labels_of, name_of, register
from bot.challenges.checks.pods import pod_problems
from bot.challenges.selectors import parse_selector, selector_matches
from bot.pods import live, pod_ready
from bot.snapshot import Obj, Snapshot
from bot.values import parse_quantity

#: Pseudo-kinds of the views a cluster-scope check reads (see bot.challenges.cluster_view).
ALL_PODS = "Pod@all-namespaces"
SYSTEM_PODS = "Pod@kube-system"
READYZ = "/readyz"


class NodeCheck(LabelSelecting):
    """A check about the nodes a label selector picks (the label a break put on its node)."""

    def nodes(self, snapshot: Snapshot) -> list[Obj]:
        wanted = parse_selector(self.selector)
        return sorted((n for n in snapshot.list("Node") if selector_matches(wanted, labels_of(n))), key=name_of)


def _taint_text(taint: Obj) -> str:
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


@register("nodes_schedulable", "Node")
class NodesSchedulable(NodeCheck):
    """The selected nodes take new Pods: not cordoned, and no NoSchedule/NoExecute taint."""

    def run(self, snapshot: Snapshot) -> Outcome:
        nodes = self.nodes(snapshot)
        if not nodes:
            return Outcome.fail("check.nodes.none", selector=self.selector)
        problems: list[str] = []
        for node in nodes:
            spec = node.get("spec") or {}
            if spec.get("unschedulable"):
                problems.append(f"{name_of(node)}: SchedulingDisabled")
            for taint in spec.get("taints") or []:
                if taint.get("effect") in ("NoSchedule", "NoExecute") and taint.get("key") != (
                    "node.kubernetes.io/unschedulable"
                ):
                    problems.append(f"{name_of(node)}: Taints {_taint_text(taint)}")
        names = ", ".join(name_of(n) for n in nodes)
        if problems:
            return Outcome.fail("check.nodes_schedulable.fail", problems="; ".join(problems))
        return Outcome.ok("check.nodes_schedulable.pass", nodes=names)


@register("node_requests_within", "Node", ALL_PODS)
class NodeRequestsWithin(NodeCheck):
    """What the Pods bound to each selected node request stays within `max_percent` of its allocatable CPU
    and memory (the seed's 리소스 사용률 < 80%), as `kubectl describe node` sums it under Allocated resources."""

    max_percent: int = Field(default=80, ge=1, le=100)

    def run(self, snapshot: Snapshot) -> Outcome:
        nodes = self.nodes(snapshot)
        if not nodes:
            return Outcome.fail("check.nodes.none", selector=self.selector)
        pods = live(snapshot.list(ALL_PODS))
        over: list[str] = []
        shown: list[str] = []
        for node in nodes:
            allocatable = (node.get("status") or {}).get("allocatable") or {}
            on_node = [p for p in pods if (p.get("spec") or {}).get("nodeName") == name_of(node)]
            percents = {
                resource: _percent(
                    sum((_requested(p, resource) for p in on_node), Decimal(0)), allocatable.get(resource)
                )
                for resource in ("cpu", "memory")
            }
            text = f"{name_of(node)}: cpu {percents['cpu']}%, memory {percents['memory']}%"
            shown.append(text)
            if any(value > self.max_percent for value in percents.values()):
                over.append(text)
        if over:
            return Outcome.fail("check.node_requests_within.fail", nodes="; ".join(over), max=self.max_percent)
        return Outcome.ok("check.node_requests_within.pass", nodes="; ".join(shown), max=self.max_percent)


def _requested(pod: Obj, resource: str) -> Decimal:
    total = Decimal(0)
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        if resource in requests:
            total += parse_quantity(requests[resource])
    return total


def _percent(requested: Decimal, allocatable: object) -> int:
    capacity = parse_quantity(allocatable) if allocatable is not None else Decimal(0)
    if capacity <= 0:
        return 100 if requested > 0 else 0
    return int(requested * 100 / capacity)


@register("control_plane_healthy", SYSTEM_PODS, READYZ)
class ControlPlaneHealthy(CheckSpec):
    """The component's kube-system Pods (static Pods' mirrors, label `component`) are Ready and the API
    server's `/readyz?verbose` passes every check."""

    component: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = [p for p in live(snapshot.list(SYSTEM_PODS)) if labels_of(p).get("component") == self.component]
        if not pods:
            return Outcome.fail("check.control_plane_healthy.no_pods", component=self.component)
        unready = [p for p in pods if not pod_ready(p)]
        if unready:
            return Outcome.fail(
                "check.control_plane_healthy.pods",
                component=self.component,
                problems=pod_problems(unready) or "-",
            )
        readyz = snapshot.list(READYZ)[0]
        failing = [line[3:] for line in str(readyz.get("text", "")).splitlines() if line.startswith("[-]")]
        if readyz.get("status") != 200 or failing:
            return Outcome.fail("check.control_plane_healthy.readyz", failing=", ".join(failing) or "-")
        return Outcome.ok("check.control_plane_healthy.pass", component=self.component, pods=len(pods))
