import pytest

from bot.challenges.selectors import (
    format_selector,
    map_selector_matches,
    parse_selector,
    scaled_value,
    selector_matches,
)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=frontend", {"app": "frontend"}, True),
        ("app==frontend", {"app": "frontend", "x": "y"}, True),
        ("app=frontend", {"app": "backend"}, False),
        ("app!=frontend", {}, True),
        ("app!=frontend", {"app": "frontend"}, False),
        ("tier in (web, api)", {"tier": "api"}, True),
        ("tier in (web,api),app=x", {"tier": "api", "app": "y"}, False),
        ("tier notin (web)", {"tier": "api"}, True),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": "1"}, False),
    ],
)
def test_parsed_selector_selects_like_kubectl(text: str, labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(parse_selector(text), labels) is expected


@pytest.mark.parametrize("text", ["", "app=x,", "=x"])
def test_malformed_selector_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="selector"):
        parse_selector(text)


def test_service_selector_without_keys_selects_nothing() -> None:
    assert map_selector_matches({}, {"app": "x"}) is False
    assert map_selector_matches({"app": "x"}, {"app": "x", "v": "1"}) is True


def test_label_selector_none_selects_nothing_but_empty_selects_all() -> None:
    assert selector_matches(None, {"a": "b"}) is False
    assert selector_matches({}, {"a": "b"}) is True


def test_percentages_round_like_the_deployment_controller() -> None:
    assert scaled_value("25%", 5, round_up=False) == 1  # maxUnavailable rounds down
    assert scaled_value("25%", 5, round_up=True) == 2  # maxSurge rounds up
    assert scaled_value("100%", 5, round_up=False) == 5
    assert scaled_value(2, 5, round_up=False) == 2


def test_format_selector_reads_like_kubectl() -> None:
    selector = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "t", "operator": "In", "values": ["a", "b"]}]}
    assert format_selector(selector) == "app=x,t in (a,b)"
    assert format_selector({"app": "x"}) == "app=x"
    assert format_selector(None) == "<none>"
