"""Label selectors and scaled values (maxUnavailable's "25%"), as Kubernetes defines them.

Checks read plain JSON objects, so they need the bits of Kubernetes semantics that are not plain
data: which labels a selector selects, and how many pods a percentage is. Quantities ("500m", "4Gi")
are `bot.values.parse_quantity`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_SET_EXPR = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def parse_selector(text: str) -> dict[str, Any]:
    """A `kubectl -l` selector string → a LabelSelector object ({matchLabels, matchExpressions})."""
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    # Split on commas outside parentheses.
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    for raw in parts:
        part = raw.strip()
        if not part:
            raise ValueError(f"empty requirement in selector {text!r}")
        if set_match := _SET_EXPR.match(part):
            key, op, values = set_match.groups()
            items = [v.strip() for v in values.split(",") if v.strip()]
            expressions.append({"key": key, "operator": "In" if op == "in" else "NotIn", "values": items})
        elif "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            expressions.append({"key": key, "operator": "NotIn", "values": [value]})
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=").split("=", 1))
            match_labels[key] = value
        elif part.startswith("!"):
            expressions.append({"key": part[1:].strip(), "operator": "DoesNotExist"})
        else:
            expressions.append({"key": part, "operator": "Exists"})
        if any(not k for k in match_labels) or any(not e["key"] for e in expressions):
            raise ValueError(f"a requirement without a key in selector {text!r}")
    return {"matchLabels": match_labels, "matchExpressions": expressions}


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # an operator we do not know selects nothing, like an invalid selector


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """A LabelSelector ({matchLabels, matchExpressions}) against labels. An empty selector selects all."""
    labels = labels or {}
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def map_selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    """A Service-style selector (a plain map). An empty or missing one selects nothing (no endpoints)."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def format_selector(selector: Mapping[str, Any] | None) -> str:
    if not selector:
        return "<none>"
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{k}={v}" for k, v in selector.items())
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for e in selector.get("matchExpressions") or []:
        values = ",".join(e.get("values") or [])
        op = e.get("operator")
        if values:
            parts.append(f"{e.get('key')} {str(op).lower()} ({values})")
        else:
            parts.append(f"{'!' if op == 'DoesNotExist' else ''}{e.get('key')}")
    return ",".join(parts) or "<all>"


def scaled_value(value: object, replicas: int, *, round_up: bool) -> int:
    """An IntOrString like maxUnavailable ("25%" or 1) as a number of pods for `replicas`."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        percent = Decimal(text[:-1])
        exact = percent * replicas / 100
        whole = int(exact)
        return whole + 1 if round_up and exact != whole else whole
    return int(text)
