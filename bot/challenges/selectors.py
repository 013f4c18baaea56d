"""Label selectors and resource quantities, as Kubernetes defines them.

Checks read plain JSON objects, so they need the two bits of Kubernetes semantics that are not plain
data: which labels a selector selects, and what "500m" or "4Gi" amount to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
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


_SUFFIXES: dict[str, Decimal] = {
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def parse_quantity(value: object) -> Decimal:
    """A Kubernetes quantity ("500m", "4Gi", "1e3", 2) as a Decimal in base units."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (like 500m, 256Mi, 2)")
    number, exponent, suffix = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc
    if exponent:
        return amount * (Decimal(10) ** int(exponent[1:]))
    return amount * _SUFFIXES[suffix or ""]


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
