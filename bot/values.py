"""The values the bot takes in, each with one rule: names Kubernetes accepts, clock times, team names,
resource quantities, GitHub repository URLs and durations.

Each rule is a function that returns the value (normalised where the rule says so) or raises
`ValueError` saying what is expected, for code that checks one value (services, the store, the CLI);
a value a pydantic model holds has an annotated type with that function as its validator (settings, the
catalogue, check arguments). Patterns are ASCII only: `\\d` would also take other scripts' digits.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from kubernetes.utils import parse_quantity as _kubernetes_quantity
from pydantic import AfterValidator, BeforeValidator

#: A DNS-1123 label (a namespace's name) is at most 63 characters.
DNS1123_LABEL_MAX = 63
#: A team name becomes part of its namespace's name, after the prefix: 40 + 21 leaves the label 2 to spare.
TEAM_NAME_MAX = 40
NAMESPACE_PREFIX_MAX = 21

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
#: A DNS-1123 subdomain (most objects' names: a Pod's, a Deployment's) is at most 253 characters.
DNS1123_SUBDOMAIN_MAX = 253
_TEAM_NAME = re.compile(rf"[a-z0-9]([a-z0-9-]{{0,{TEAM_NAME_MAX - 2}}}[a-z0-9])?")
_NAMESPACE_PREFIX = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{NAMESPACE_PREFIX_MAX - 1}}}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100}?)(?:\.git)?/?")
_QUANTITY = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
_DURATION = re.compile(r"(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?")


def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX and _DNS1123_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= DNS1123_SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def dns1123_label(value: str) -> str:
    """A namespace's name: lower-case letters, digits and '-', starting and ending with a letter or digit."""
    if not is_dns1123_label(value):
        raise ValueError(
            f"not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a "
            f"letter or digit, at most {DNS1123_LABEL_MAX} characters)"
        )
    return value


def namespace_prefix(value: str) -> str:
    """The start of every team namespace's name: it ends the way the team name following it begins."""
    if _NAMESPACE_PREFIX.fullmatch(value) is None:
        raise ValueError(
            f"1 to {NAMESPACE_PREFIX_MAX} lower-case letters, digits and '-', starting with a letter or digit"
        )
    return value


def team_name(value: str) -> str:
    """A team's name as typed: compared without surrounding spaces and case, then a DNS label's piece."""
    name = value.strip().lower()
    if _TEAM_NAME.fullmatch(name) is None:
        raise ValueError(
            f"use 1–{TEAM_NAME_MAX} lower-case letters, digits and dashes, starting and ending with a letter "
            "or digit (it becomes part of the namespace name)"
        )
    return name


def hhmm(value: str) -> str:
    """A time of day, 00:00 to 23:59."""
    if _HHMM.fullmatch(value) is None:
        raise ValueError("not a time of day HH:MM (00:00 to 23:59)")
    return value


def github_url(value: str) -> str:
    """A GitHub repository's URL, normalised: https://github.com/owner/repo (no .git, no trailing slash)."""
    match = _GITHUB.fullmatch(value.strip())
    if match is None or match.group(2) in {".", ".."}:
        raise ValueError("not a GitHub repository URL like https://github.com/owner/repo")
    return f"https://github.com/{match.group(1)}/{match.group(2)}"


def parse_quantity(value: object) -> Decimal:
    """A Kubernetes quantity ("500m", "4Gi", "1e3", 2) as a Decimal in base units."""
    text = str(value).strip()
    amount: Decimal | None = None
    # The client's parser takes whatever Decimal takes (NaN, "1_000", other scripts' digits) and "K":
    # Kubernetes' grammar is checked first, the client does the arithmetic.
    if _QUANTITY.fullmatch(text) is not None:
        with contextlib.suppress(ValueError):
            amount = _kubernetes_quantity(text)  # type: ignore[no-untyped-call]  # the client is untyped
    if amount is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (like 500m, 256Mi, 2)")
    return amount


def quantity(value: str) -> str:
    """A Kubernetes quantity, kept as written."""
    parse_quantity(value)
    return value


def parse_duration(value: object) -> timedelta:
    """'90m', '1h30m', '45s' → timedelta. Bare numbers are refused: the unit must be said."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{value!r} is not a duration like 20m, 1h30m or 45s")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0))


NamespacePrefix = Annotated[str, AfterValidator(namespace_prefix)]
Dns1123Label = Annotated[str, AfterValidator(dns1123_label)]
Quantity = Annotated[str, AfterValidator(quantity)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
