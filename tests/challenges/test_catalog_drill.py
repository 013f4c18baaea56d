"""Incident drills in the catalogue (`kind: drill`): the scenarios of another challenge it breaks, the alerts
that announce them, its acknowledgement tiers; every mistake one error naming the file and the field."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.catalog import load_catalog
from bot.errors import ScenarioInvalid
from tests.challenges.test_catalog import challenge_doc, write_tree

REPO = Path(__file__).parents[2]
ALERT_RULES = REPO / "alert_rules"


def drill_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": 91,
        "kind": "drill",
        "scenarios_of": "../practice",
        "title": {"ko": "장애 대응 훈련", "en": "Incident drill"},
        "story": {"ko": "이야기", "en": "Story"},
        "time_limit": "20m",
        "hints_after": "10m",
        "tiers": [{"within": "5m", "percent": 100}, {"within": "20m", "percent": 60}],
        "drill": {
            "scenarios": ["web"],
            "alerts": ["KubecampImagePullFailing"],
            "acknowledge": [{"within": "1m", "points": 10}, {"within": "3m", "points": 5}],
        },
    }
    doc.update(overrides)
    return doc


def write_drill(root: Path, doc: dict[str, Any]) -> Path:
    base_doc = challenge_doc()
    other = dict(base_doc["scenarios"][0], id="db", manifests="db/manifests", solution="db/solution")
    base_doc["scenarios"].append(other)
    write_tree(root, base_doc)
    for part in ("manifests", "solution"):
        folder = root / "practice" / "db" / part
        folder.mkdir(parents=True)
        db = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "db"},
            "data": {"a": "b"},
        }
        (folder / "db.yaml").write_text(yaml.safe_dump(db), encoding="utf-8")
    (root / "drill").mkdir()
    path = root / "drill" / "challenge.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_a_drill_breaks_only_the_scenarios_it_names(tmp_path: Path) -> None:
    write_drill(tmp_path, drill_doc())
    catalog = load_catalog(tmp_path, solutions=True)
    drill = catalog.get(91)
    assert drill.is_drill and not drill.is_build
    assert [s.id for s in drill.scenarios] == ["web"]  # not the practice's db
    assert drill.scenarios[0].manifests[0].path.parent.resolve() == tmp_path / "practice" / "web" / "manifests"
    assert drill.total_points == 25
    spec = drill.spec.drill
    assert spec is not None and spec.alerts == ["KubecampImagePullFailing"]
    assert [spec.acknowledge_points(timedelta(seconds=s)) for s in (0, 60, 61, 180, 181)] == [10, 10, 5, 5, 0]
    assert spec.acknowledge_points(None) == 0 and spec.acknowledge_max == 10
    assert not catalog.get(7).is_drill


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"drill": None}, "drill", "required key is missing"),
        ({"drill": {"scenarios": ["web"], "alerts": []}}, "drill.alerts", "at least 1 item"),
        ({"drill": {"scenarios": [], "alerts": ["A"]}}, "drill.scenarios", "at least 1 item"),
        ({"drill": {"scenarios": ["cache"], "alerts": ["A"]}}, "drill.scenarios[0]", "no scenario 'cache'"),
        ({"drill": {"scenarios": ["web"], "alerts": ["Bad Name"]}}, "drill", "not an alerting rule's name"),
        ({"drill": {"scenarios": ["web"], "alerts": ["A", "A"]}}, "drill", "alerts lists A twice"),
        ({"drill": {"scenarios": ["web"], "alerts": ["A"], "page": True}}, "drill.page", "unknown key"),
        (
            {
                "drill": {
                    "scenarios": ["web"],
                    "alerts": ["A"],
                    "acknowledge": [{"within": "3m", "points": 5}, {"within": "1m", "points": 9}],
                }
            },
            "drill",
            "increasing order",
        ),
        (
            {"drill": {"scenarios": ["web"], "alerts": ["A"], "acknowledge": [{"within": "1m", "points": -1}]}},
            "drill.acknowledge[0].points",
            "greater than or equal to 0",
        ),
        ({"kind": "break-fix"}, "drill", "only a challenge of kind drill has it"),
        ({"rubric": []}, "rubric", ""),
        ({"tiers": [{"within": "30m", "percent": 100}]}, "", "past the time limit"),
    ],
)
def test_a_mistake_in_a_drill_names_its_field(tmp_path: Path, change: dict[str, Any], field: str, problem: str) -> None:
    doc = drill_doc(**change)
    if change.get("drill", "") is None:
        del doc["drill"]
    path = write_drill(tmp_path, doc)
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path)
    assert caught.value.path == str(path)
    assert caught.value.field.startswith(field) and problem in caught.value.problem, caught.value


def test_a_drill_needs_scenarios(tmp_path: Path) -> None:
    doc = drill_doc()
    del doc["scenarios_of"]
    path = write_drill(tmp_path, doc)
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path)
    assert (caught.value.path, caught.value.field) == (str(path), "drill.scenarios[0]")


def _rule_names() -> set[str]:
    names = set()
    for path in ALERT_RULES.glob("*.yaml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


def test_every_shipped_drill_waits_for_alerts_the_rules_raise() -> None:
    """A drill whose alert no rule raises would never reach its team."""
    catalog = load_catalog(REPO / "scenarios", solutions=True)
    drills = [c for c in catalog if c.is_drill]
    assert [c.id for c in drills] == [91]
    for drill in drills:
        assert drill.spec.drill is not None
        assert set(drill.spec.drill.alerts) <= _rule_names(), drill.id
    (image_pull,) = catalog.get(91).scenarios
    assert image_pull.checks == catalog.get(2).scenario("image-pull").checks
