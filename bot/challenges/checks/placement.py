"""Checks on where a Deployment's Pods may run: node selectors and required node affinity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.challenges.checks._base import NamedCheck, Outcome, labels_of, name_of, register, require
from bot.challenges.selectors import format_selector, map_selector_matches, selector_matches
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


@register("node_affinity_satisfiable", "Deployment", "Node")
class NodeAffinitySatisfiable(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        template = require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        nodes = snapshot.list("Node")
        node_names = ", ".join(sorted(name_of(n) for n in nodes)) or "-"
        node_selector = template.get("nodeSelector") or {}
        if node_selector and not any(map_selector_matches(node_selector, labels_of(n)) for n in nodes):
            return Outcome.fail(
                "check.node_affinity_satisfiable.fail",
                name=self.name,
                requirement=format_selector(node_selector),
                nodes=node_names,
            )
        required = ((template.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        terms = required.get("nodeSelectorTerms") or []
        if terms and not any(_node_matches_term(n, t) for n in nodes for t in terms):
            requirement = " OR ".join(
                format_selector({"matchExpressions": (t.get("matchExpressions") or []) + (t.get("matchFields") or [])})
                for t in terms
            )
            return Outcome.fail(
                "check.node_affinity_satisfiable.fail", name=self.name, requirement=requirement, nodes=node_names
            )
        return Outcome.ok("check.node_affinity_satisfiable.pass", name=self.name)
