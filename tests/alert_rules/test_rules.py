"""The Prometheus alerting rules in alert_rules/.

promtool validates the rule files and runs their unit tests (alert_rules/tests/*.yaml); the other tests check
what promtool does not: names, labels and annotations (in English and Korean, the Korean as an instructor
writes it), runbook anchors in alert_rules/README.md and README.ko.md, the team namespace matcher, and that every
alert has a test where it fires and one where it stays silent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.i18n import korean

ROOT = Path(__file__).parents[2]
RULES_DIR = ROOT / "alert_rules"
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yaml"))
README = RULES_DIR / "README.md"
README_KO = RULES_DIR / "README.ko.md"

RUNBOOK_BASE = "https://github.com/kubecamp/kubecamp-bot/blob/main/alert_rules/README.md#"
RUNBOOK_BASE_KO = "https://github.com/kubecamp/kubecamp-bot/blob/main/alert_rules/README.ko.md#"
NAMESPACE_MATCHER = 'namespace=~"kubecamp-.*"'
TEAM_NAMESPACE = re.compile(r"^kubecamp-[a-z0-9-]+$")
SEVERITIES = {"warning", "critical"}
# The plain annotations are English, for Alertmanager's own receivers; `<name>_ko` is what the bot shows a
# Korean guild (bot/incidents/render.py).
ANNOTATIONS = {"summary", "description", "runbook_url", "summary_ko", "description_ko", "runbook_url_ko"}
#: A Go template action of an annotation: {{ $labels.pod }}, {{ $value }}.
TEMPLATE_ACTION = re.compile(r"\{\{\s*\$(?:labels\.)?(\w+)\s*\}\}")
# Metrics of cluster-scoped objects: no namespace to select.
CLUSTER_SCOPED_METRICS = {"kube_node_status_condition"}
# Aggregations allowed to drop `namespace`: the node side of KubecampNodeNotReady (a node has no namespace; the
# outer aggregation takes it from the Pods that run on the node).
NAMESPACELESS_AGGREGATIONS = {("KubecampNodeNotReady", ("node",))}

PROMTOOL_MISSING = (
    "promtool is not installed. Install Debian's prometheus package, which ships /usr/bin/promtool: "
    "`apt-get update && apt-get install -y --no-install-recommends prometheus` (CI installs it)."
)


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _alerts() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in _load_yaml(path)["groups"] for rule in group["rules"]]


ALERTS = _alerts()
ALERTS_BY_NAME = {rule["alert"]: rule for rule in ALERTS}


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(PROMTOOL_MISSING)
    return path


def _run_promtool(*args: str) -> None:
    result = subprocess.run([_promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f"promtool {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")


def _relative(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in paths]


def _selectors(expr: str) -> Iterator[tuple[str, str | None]]:
    """(metric, matchers) for every kube-state-metrics metric in `expr`; matchers is the text between the braces
    (quote-aware: a regex such as {5} inside a matcher's value does not end it), None if there are none."""
    for match in re.finditer(r"\bkube_[a-z_]+\b", expr):
        rest = expr[match.end() :]
        stripped = rest.lstrip()
        if not stripped.startswith("{"):
            yield match.group(), None
            continue
        start = match.end() + (len(rest) - len(stripped)) + 1
        in_quotes = False
        for index in range(start, len(expr)):
            char = expr[index]
            if char == '"' and expr[index - 1] != "\\":
                in_quotes = not in_quotes
            elif char == "}" and not in_quotes:
                yield match.group(), expr[start:index]
                break
        else:
            raise AssertionError(f"unclosed selector after {match.group()} in {expr!r}")


def _aggregation_labels(expr: str) -> list[tuple[str, ...]]:
    return [tuple(label.strip() for label in by.split(",")) for by in re.findall(r"\bby\s*\(([^)]*)\)", expr)]


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _readme_anchors(readme: Path = README) -> set[str]:
    text = readme.read_text(encoding="utf-8")
    return {_github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, flags=re.MULTILINE)}


def _unit_tests() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every alert_rule_test case of every promtool test file."""
    for path in TEST_FILES:
        for group in _load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test") or []:
                yield path, case


def _for_minutes(duration: str) -> float:
    match = re.fullmatch(r"(\d+)([sm])", duration)
    assert match, f"unexpected duration {duration!r}"
    value = int(match.group(1))
    return value / 60 if match.group(2) == "s" else value


# promtool


def test_promtool_check_rules() -> None:
    assert RULE_FILES, "no rule file in alert_rules/"
    _run_promtool("check", "rules", *_relative(RULE_FILES))


def test_promtool_unit_tests() -> None:
    assert TEST_FILES, "no promtool test file in alert_rules/tests/"
    _run_promtool("test", "rules", *_relative(TEST_FILES))


# files and groups


def test_one_group_per_file_with_unique_names() -> None:
    names = []
    for path in RULE_FILES:
        groups = _load_yaml(path)["groups"]
        assert len(groups) == 1, f"{path.name}: one group per file, one concern per group"
        assert groups[0]["name"].startswith("kubecamp-"), f"{path.name}: group {groups[0]['name']!r}"
        assert all("alert" in rule for rule in groups[0]["rules"]), f"{path.name}: alerting rules only"
        names.append(groups[0]["name"])
    assert len(names) == len(set(names)), f"group names repeat: {names}"


def test_every_rule_file_has_a_test_file() -> None:
    tested = {
        (path.parent / rule_file).resolve() for path in TEST_FILES for rule_file in _load_yaml(path)["rule_files"]
    }
    untested = [path.name for path in RULE_FILES if path.resolve() not in tested]
    assert not untested, f"rule files no promtool test file loads: {untested}"


# alerts


def test_alert_names_are_unique_and_prefixed() -> None:
    names = [rule["alert"] for rule in ALERTS]
    assert len(names) == len(set(names)), f"alert names repeat: {sorted(names)}"
    for name in names:
        assert re.fullmatch(r"Kubecamp[A-Z][A-Za-z]+", name), (
            f"{name}: the Kubecamp prefix keeps it apart from the mixin"
        )


@pytest.mark.parametrize("alert", sorted(ALERTS_BY_NAME))
def test_alert_labels_and_annotations(alert: str) -> None:
    rule = ALERTS_BY_NAME[alert]
    assert rule["labels"].get("severity") in SEVERITIES
    assert set(rule["annotations"]) == ANNOTATIONS
    for suffix in ("", "_ko"):
        summary = rule["annotations"]["summary" + suffix]
        assert "{{ $labels.namespace }}" in summary and "\n" not in summary, f"{alert}: summary{suffix} {summary!r}"
        assert "kubectl" in rule["annotations"]["description" + suffix], f"{alert}: description{suffix} says where"
    assert rule["annotations"]["runbook_url"] == RUNBOOK_BASE + alert.lower()
    assert rule["annotations"]["runbook_url_ko"] == RUNBOOK_BASE_KO + alert.lower()
    assert 1 <= _for_minutes(rule["for"]) <= 5, f"{alert}: for {rule['for']}: students must see it in class"


@pytest.mark.parametrize("alert", sorted(ALERTS_BY_NAME))
def test_korean_annotations_read_as_an_instructor_writes(alert: str) -> None:
    """No bracketed particle, no particle after a label value, no English sentence outside `code`, the course's
    terms (tests/i18n/korean.py)."""
    for name in ("summary_ko", "description_ko"):
        text = ALERTS_BY_NAME[alert]["annotations"][name]
        template = TEMPLATE_ACTION.sub(lambda m: "{" + m.group(1) + "}", text)
        found = korean.problems(TEMPLATE_ACTION.sub("○", text), template=template)
        assert not found, (alert, name, found)


def _commands(text: str) -> list[str]:
    """The kubectl commands quoted in `text`, whitespace normalised (a folded line may split one)."""
    return [" ".join(code.split()) for code in re.findall(r"`(kubectl[^`]*)`", text)]


def _runbooks(readme: Path) -> dict[str, list[str]]:
    """The kubectl commands of each runbook section of `readme`."""
    parts = re.split(r"^### (Kubecamp\w+)$", readme.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {parts[i]: _commands(parts[i + 1].split("\n## ")[0]) for i in range(1, len(parts), 2)}


@pytest.mark.parametrize("alert", sorted(ALERTS_BY_NAME))
def test_korean_description_names_the_same_commands(alert: str) -> None:
    annotations = ALERTS_BY_NAME[alert]["annotations"]
    assert _commands(annotations["description_ko"]) == _commands(annotations["description"])


def test_korean_runbooks_name_the_same_commands() -> None:
    english = _runbooks(README)
    assert set(english) == set(ALERTS_BY_NAME) and all(english.values()), english
    assert _runbooks(README_KO) == english


def test_runbook_anchors_exist_in_readme() -> None:
    anchors = _readme_anchors()
    readme = README.read_text(encoding="utf-8")
    for alert, rule in ALERTS_BY_NAME.items():
        anchor = rule["annotations"]["runbook_url"].removeprefix(RUNBOOK_BASE)
        assert anchor in anchors, f"{alert}: no heading in alert_rules/README.md gives the anchor #{anchor}"
        assert f"| [{alert}](#{anchor}) |" in readme, f"{alert}: no row in the README's table of alerts"
    documented = set(re.findall(r"^### (Kubecamp\w+)$", readme, flags=re.MULTILINE))
    assert documented == set(ALERTS_BY_NAME), f"runbooks without an alert: {documented - set(ALERTS_BY_NAME)}"


def test_korean_runbooks_match_the_english_ones() -> None:
    """README.ko.md has the same runbook sections (same anchors) and the same table of alerts."""
    anchors = _readme_anchors(README_KO)
    readme = README_KO.read_text(encoding="utf-8")
    for alert, rule in ALERTS_BY_NAME.items():
        anchor = rule["annotations"]["runbook_url_ko"].removeprefix(RUNBOOK_BASE_KO)
        assert anchor in anchors, f"{alert}: no heading in alert_rules/README.ko.md gives the anchor #{anchor}"
        assert f"| [{alert}](#{anchor}) |" in readme, f"{alert}: no row in README.ko.md's table of alerts"
    documented = re.findall(r"^### (Kubecamp\w+)$", readme, flags=re.MULTILINE)
    english = re.findall(r"^### (Kubecamp\w+)$", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert documented == english, "README.ko.md has the runbooks of README.md, in the same order"
    assert not korean.problems(readme), korean.problems(readme)


@pytest.mark.parametrize("alert", sorted(ALERTS_BY_NAME))
def test_expression_selects_team_namespaces(alert: str) -> None:
    """Every selector carries the one namespace matcher (the chart templates that string, README "Namespace
    prefix"), except on metrics of cluster-scoped objects."""
    expr = ALERTS_BY_NAME[alert]["expr"]
    selectors = list(_selectors(expr))
    assert selectors
    for metric, matchers in selectors:
        if metric in CLUSTER_SCOPED_METRICS:
            assert matchers is None or "namespace" not in matchers, f"{alert}: {metric} has no namespace"
            continue
        assert matchers is not None and NAMESPACE_MATCHER in matchers, f"{alert}: {metric} lacks {NAMESPACE_MATCHER}"
    assert set(re.findall(r'namespace\s*=~?\s*"[^"]*"', expr)) == {NAMESPACE_MATCHER}


@pytest.mark.parametrize("alert", sorted(ALERTS_BY_NAME))
def test_expression_keeps_namespace(alert: str) -> None:
    """The bot routes an alert by its namespace label: no aggregation may drop it."""
    expr = ALERTS_BY_NAME[alert]["expr"]
    assert not re.search(r"\bwithout\s*\(", expr), f"{alert}: aggregate `by` explicit labels"
    aggregations = _aggregation_labels(expr)
    assert aggregations, f"{alert}: aggregate by explicit labels (drops instance, uid, duplicate scrapes)"
    for labels in aggregations:
        assert "namespace" in labels or (alert, labels) in NAMESPACELESS_AGGREGATIONS, f"{alert}: by {labels}"


# promtool unit tests


def test_every_alert_has_a_firing_and_a_silent_test_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path, case in _unit_tests():
        name = case["alertname"]
        assert name in ALERTS_BY_NAME, f"{path.name}: test case for an unknown alert {name!r}"
        (firing if case.get("exp_alerts") else silent).add(name)
    assert not set(ALERTS_BY_NAME) - firing, f"alerts no test sees fire: {sorted(set(ALERTS_BY_NAME) - firing)}"
    assert not set(ALERTS_BY_NAME) - silent, f"alerts no test sees silent: {sorted(set(ALERTS_BY_NAME) - silent)}"


def test_firing_test_cases_expect_namespace_severity_and_annotations() -> None:
    for path, case in _unit_tests():
        rule = ALERTS_BY_NAME[case["alertname"]]
        for expected in case.get("exp_alerts") or []:
            labels = expected["exp_labels"]
            where = f"{path.name} {case['alertname']} at {case['eval_time']}"
            assert TEAM_NAMESPACE.match(labels.get("namespace", "")), f"{where}: namespace {labels.get('namespace')}"
            assert labels.get("severity") == rule["labels"]["severity"], where
            annotations = expected.get("exp_annotations") or {}
            assert set(annotations) == ANNOTATIONS, f"{where}: expect every annotation, the summary at least"
            assert annotations["runbook_url"] == rule["annotations"]["runbook_url"], where
            assert annotations["runbook_url_ko"] == rule["annotations"]["runbook_url_ko"], where


# the scenario catalogue


def test_every_scenario_is_named_in_the_readme() -> None:
    """A new scenario needs a decision: which alert shows it, or why none does (README "Failures with no
    alert")."""
    readme = README.read_text(encoding="utf-8")
    ids = [
        scenario["id"]
        for path in sorted((ROOT / "scenarios").glob("*/challenge.yaml"))
        for scenario in _load_yaml(path).get("scenarios", [])  # a build has none
    ]
    assert ids
    missing = [i for i in ids if not re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", readme)]
    assert not missing, f"scenarios alert_rules/README.md does not mention: {missing}"
