"""bot.values: each value's one rule, as a function and as a pydantic type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from bot.values import (
    Duration,
    NamespacePrefix,
    Quantity,
    dns1123_label,
    github_url,
    hhmm,
    namespace_prefix,
    parse_duration,
    parse_quantity,
    team_name,
)


@pytest.mark.parametrize("text", ["00:00", "09:05", "19:59", "23:59"])
def test_times_of_day(text: str) -> None:
    assert hhmm(text) == text


@pytest.mark.parametrize("text", ["24:00", "29:59", "25:00", "9:05", "09:60", "0٩:05", "09:05\n", " 09:05", ""])
def test_what_is_no_time_of_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        hhmm(text)


@pytest.mark.parametrize("text", ["a", "kubecamp-blue", "0-9", "x" * 63])
def test_dns1123_labels(text: str) -> None:
    assert dns1123_label(text) == text


@pytest.mark.parametrize("text", ["", "-a", "a-", "Blue", "a_b", "a.b", "x" * 64, "blue\n", "ｂlue"])
def test_what_is_no_dns1123_label_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123 label"):
        dns1123_label(text)


@pytest.mark.parametrize(("typed", "name"), [("blue", "blue"), (" Blue-2 ", "blue-2"), ("x" * 40, "x" * 40)])
def test_team_names_are_compared_without_case_and_spaces(typed: str, name: str) -> None:
    assert team_name(typed) == name


@pytest.mark.parametrize("typed", ["", "blue whales", "-blue", "blue-", "x" * 41, "팀", "blue_1"])
def test_a_team_name_that_is_no_namespace_piece_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="part of the namespace name"):
        team_name(typed)


@pytest.mark.parametrize("text", ["kubecamp-", "k", "team-" + "x" * 16])
def test_namespace_prefixes(text: str) -> None:
    assert namespace_prefix(text) == text


@pytest.mark.parametrize("text", ["", "-k", "Kubecamp-", "x" * 22])
def test_a_bad_namespace_prefix_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="lower-case"):
        namespace_prefix(text)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://github.com/blue/w3d5-streaming-ops-platform", "https://github.com/blue/w3d5-streaming-ops-platform"),
        ("https://github.com/blue/repo.git", "https://github.com/blue/repo"),
        ("https://github.com/blue/repo/ ", "https://github.com/blue/repo"),
    ],
)
def test_github_urls_are_normalised(url: str, normal: str) -> None:
    assert github_url(url) == normal


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/a/b",
        "https://gitlab.com/a/b",
        "https://github.com/a",
        "github.com/a/b",
        "https://github.com/a/b/tree/main",
        "https://github.com/a/..",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="GitHub repository URL"):
        github_url(url)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", "0.5"),
        ("2", "2"),
        (2, "2"),
        ("4Gi", str(4 * 2**30)),
        ("10Ti", str(10 * 2**40)),
        ("1e3", "1000"),
        ("1.5k", "1500"),
        (" 256Mi ", str(256 * 2**20)),
    ],
)
def test_quantities(text: object, value: str) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["lots", "4GB", "", "1.2.3", "NaN", "Infinity", "1 Gi", "ki", "1K", "1_000", "١", "1e", "+"]
)
def test_bad_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize(("text", "minutes"), [("90m", 90), ("1h30m", 90), ("20m", 20), ("2h", 120), ("90s", 1.5)])
def test_durations(text: str, minutes: float) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "90", "m", "1d", "30m1h", "٩0m"])
def test_a_duration_says_its_unit(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("annotated", "good", "kept", "bad"),
    [
        (NamespacePrefix, "kubecamp-", "kubecamp-", "-x"),
        (Quantity, "256Mi", "256Mi", "256MB"),
        (Duration, "1h", timedelta(hours=1), "1"),
    ],
)
def test_the_types_apply_the_same_rules(annotated: object, good: object, kept: object, bad: object) -> None:
    adapter: TypeAdapter[object] = TypeAdapter(annotated)
    validate: Callable[[object], object] = adapter.validate_python
    assert validate(good) == kept
    with pytest.raises(ValidationError):
        validate(bad)
