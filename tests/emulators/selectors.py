"""Label selectors, field selectors and node-selector terms, with the API server's semantics."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]


class SelectorError(ValueError):
    """A selector the API server rejects with 400 Bad Request."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "=="):
            return present and value == self.values[0]
        if self.operator == "!=":
            return not present or value != self.values[0]
        if self.operator == "in":
            return present and value in self.values
        if self.operator == "notin":
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        raise SelectorError(f"unknown operator {self.operator!r}")  # pragma: no cover


_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h`` → requirements (ANDed)."""
    if not text:
        return []
    requirements: list[Requirement] = []
    for part in _split_top_level(text):
        if match := _EQ_RE.match(part):
            key, operator, value = match.groups()
            requirements.append(Requirement(key, "=" if operator == "==" else operator, (value,)))
            continue
        match = _SET_RE.match(part)
        if not match:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        negated, key, operator, values = match.groups()
        if operator:
            if negated:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
            items = tuple(value.strip() for value in values.split(",") if value.strip())
            requirements.append(Requirement(key, operator, items))
        else:
            requirements.append(Requirement(key, "!" if negated else "exists"))
    return requirements


def matches_label_selector(text: str | None, labels: Labels | None) -> bool:
    return all(req.matches(labels or {}) for req in parse_label_selector(text))


def matches_selector_object(selector: Mapping[str, Any] | None, labels: Labels | None) -> bool:
    """A ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``). Empty selects everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        operator = str(expression.get("operator", ""))
        values = tuple(str(v) for v in expression.get("values") or [])
        mapped = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(operator)
        if mapped is None:
            return False
        if not Requirement(str(expression.get("key")), mapped, values).matches(labels):
            return False
    return True


def selector_to_string(selector: Mapping[str, Any] | None) -> str:
    """``matchLabels``/``matchExpressions`` as the string form that ``status.selector`` carries."""
    parts = [f"{k}={v}" for k, v in sorted((selector or {}).get("matchLabels", {}).items())]
    for expression in (selector or {}).get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": f"{key}"}.get(
                str(operator), f"!{key}"
            )
        )
    return ",".join(parts)


# --- node affinity ---------------------------------------------------------------------------


def _node_requirement_matches(expression: Mapping[str, Any], value: str | None) -> bool:
    operator = expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        try:
            number, bound = int(value or ""), int(values[0])
        except (ValueError, IndexError):
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def node_selector_term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """One ``nodeSelectorTerm``: all its expressions and fields must match (an empty term matches none)."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node.get("metadata", {}).get("labels") or {}
    for expression in expressions:
        if not _node_requirement_matches(expression, labels.get(expression.get("key"))):
            return False
    for expression in fields:
        if expression.get("key") != "metadata.name":
            return False
        if not _node_requirement_matches(expression, node.get("metadata", {}).get("name")):
            return False
    return True


def node_selector_matches(node_selector: Mapping[str, Any] | None, node: Mapping[str, Any]) -> bool:
    """``requiredDuringSchedulingIgnoredDuringExecution``: the terms are ORed."""
    if node_selector is None:
        return True
    return any(node_selector_term_matches(term, node) for term in node_selector.get("nodeSelectorTerms") or [])


# --- field selectors -------------------------------------------------------------------------


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def parse_field_selector(text: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """``metadata.name=x,involvedObject.name=y,status.phase!=Running`` → a predicate."""
    if not text:
        return lambda _obj: True
    checks: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, operator, value = match.groups()
        checks.append((field, operator != "!=", value))

    def predicate(obj: Mapping[str, Any]) -> bool:
        for field, equal, value in checks:
            actual = _lookup(obj, field)
            actual_text = "" if actual is None else str(actual)
            if (actual_text == value) != equal:
                return False
        return True

    return predicate
