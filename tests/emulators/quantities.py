"""Kubernetes resource quantities (``resource.Quantity``): ``500m``, ``1.5Gi``, ``2e3``, ``128974848``.

Parsed exactly (``Decimal``), as the API server does, so ``0.5`` CPU equals ``500m`` and ``1Gi`` equals
``1073741824``.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
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
_PATTERN = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exponent>[eE][+-]?\d+)|(?P<decimal>[numkMGTPE]?))$"
)


class QuantityError(ValueError):
    """Not a Kubernetes quantity; the API server would answer 400/422 for it."""


def parse_quantity(value: object) -> Decimal:
    """The quantity as an exact number of base units (cores, bytes); anything a manifest may hold there."""
    if isinstance(value, str):
        return _parse_string(value)
    if isinstance(value, bool):
        raise QuantityError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    return _parse(str(value), shown=value)


@functools.lru_cache(maxsize=4096)
def _parse_string(text: str) -> Decimal:
    """(Cached: the scheduler and the kubelets parse the same few requests and limits at every step.)"""
    return _parse(text, shown=text)


def _parse(text: str, *, shown: object) -> Decimal:
    match = _PATTERN.match(text.strip())
    if not match:
        raise QuantityError(
            f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {shown!r}"
        )
    try:
        number = Decimal(match["number"])
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees a number
        raise QuantityError(str(shown)) from exc
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["exponent"]:
        return number * (Decimal(10) ** int(match["exponent"][1:]))
    return number * _DECIMAL[match["decimal"] or ""]


def format_cpu(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return f"{int(value * 1000)}m"
