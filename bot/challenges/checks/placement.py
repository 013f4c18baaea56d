"""Checks on where Pods run: node selectors and required node affinity, and Pods on Ready nodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.challenges.checks._base import (
    NamedCheck,
    Outcome,
    SelectorCheck,
    diagnosis,
    find_condition,
    labels_of,
    name_of,
    register,
    require,
)
from bot.challenges.checks.pods import failing_pods
from bot.challenges.selectors import format_selector, map_selector_matches, selector_matches
from bot.pods import live
from bot.snapshot import Obj, Snapshot


def _node_matches_term(node: Obj, term: Mapping[str, Any]) -> bool:
    labels = labels_of(node)
    for expression in term.get("matchExpressions") or []:
        if not _node_expression(expression, labels):
            return False
    fields = {"metadata.name": name_of(node)}
    return all(_node_expression(expression, fields) for expression in term.get("matchFields") or [])


def _node_expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    operator = expression.get("operator")
    if operator in ("Gt", "Lt"):
        key = expression.get("key", "")
        values = expression.get("values") or ["0"]
        if key not in labels or not labels[key].lstrip("-").isdigit():
            return False
        value, limit = int(labels[key]), int(values[0])
        return value > limit if operator == "Gt" else value < limit
    return selector_matches({"matchExpressions": [expression]}, labels)


def _unplaceable(name: str, requirement: str, nodes: str) -> Outcome:
    return Outcome.fail(
        "check.node_affinity_satisfiable.fail",
        name=name,
        nodes=nodes,
        diagnosis=diagnosis("check.diagnosis.placement", requirement=requirement),
    )


@register("node_affinity_satisfiable", "Deployment", "Node")
class NodeAffinitySatisfiable(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        template = require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        nodes = snapshot.list("Node")
        node_names = ", ".join(sorted(name_of(n) for n in nodes)) or "-"
        node_selector = template.get("nodeSelector") or {}
        if node_selector and not any(map_selector_matches(node_selector, labels_of(n)) for n in nodes):
            return _unplaceable(self.name, format_selector(node_selector), node_names)
        required = ((template.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        terms = required.get("nodeSelectorTerms") or []
        if terms and not any(_node_matches_term(n, t) for n in nodes for t in terms):
            requirement = " OR ".join(
                format_selector({"matchExpressions": (t.get("matchExpressions") or []) + (t.get("matchFields") or [])})
                for t in terms
            )
            return _unplaceable(self.name, requirement, node_names)
        return Outcome.ok("check.node_affinity_satisfiable.pass", name=self.name)


def _node_ready(node: Obj) -> bool:
    condition = find_condition(node, "Ready") or {}
    return condition.get("status") == "True" and not node.get("spec", {}).get("unschedulable", False)


@register("pods_placed", "Pod", "Node")
class PodsPlaced(SelectorCheck):
    """Every Pod runs on a Ready node (challenge 2: "모든 Pod가 적절한 노드에 배치")."""

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = live(self.pods(snapshot))
        if not pods:
            return Outcome.fail("check.no_pods", selector=self.selector)
        nodes = {name_of(n): n for n in snapshot.list("Node")}
        unplaced = [p for p in pods if not p.get("spec", {}).get("nodeName")]
        if unplaced:
            return failing_pods("check.pods_placed.unplaced", unplaced, selector=self.selector, count=len(unplaced))
        for pod in pods:
            node_name = str(pod["spec"]["nodeName"])
            node = nodes.get(node_name)
            if node is None or not _node_ready(node):
                return Outcome.fail("check.pods_placed.node_not_ready", selector=self.selector, node=node_name)
        return Outcome.ok("check.pods_placed.pass", selector=self.selector, count=len(pods))
