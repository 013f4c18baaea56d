"""The catalogue loader: every kind of mistake is one clear error naming the file and the field."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.catalog import load_catalog
from bot.errors import ScenarioInvalid

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine"}]},
        },
    },
}


def challenge_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": 7,
        "title": {"ko": "연습", "en": "Practice"},
        "story": {"ko": "이야기", "en": "Story"},
        "time_limit": "90m",
        "scenarios": [
            {
                "id": "web",
                "title": {"ko": "웹", "en": "Web"},
                "situation": {"ko": "상황", "en": "Situation"},
                "symptoms": {"ko": "증상", "en": "Symptoms"},
                "time_box": "20m",
                "points": 25,
                "manifests": "web/manifests",
                "solution": "web/solution",
                "checks": [{"deployment_available": {"name": "web"}}],
                "hints": [{"after": "20m", "ko": "힌트", "en": "Hint"}],
            }
        ],
    }
    doc.update(overrides)
    return doc


def write_tree(
    root: Path, doc: dict[str, Any] | None = None, manifests: list[Any] | None = None, folder: str = "practice"
) -> Path:
    base = root / folder
    for part in ("manifests", "solution"):
        (base / "web" / part).mkdir(parents=True, exist_ok=True)
        (base / "web" / part / "web.yaml").write_text(yaml.safe_dump_all(manifests or [DEPLOYMENT]), encoding="utf-8")
    (base / "challenge.yaml").write_text(yaml.safe_dump(doc or challenge_doc(), allow_unicode=True), encoding="utf-8")
    return base / "challenge.yaml"


def test_a_valid_tree_loads_with_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path)
    catalog = load_catalog(tmp_path)
    challenge = catalog.get(7)
    assert challenge.spec.hints_after.total_seconds() == 20 * 60
    assert [t.percent for t in challenge.spec.tiers] == [100, 80, 60]
    assert challenge.scenarios[0].manifests[0].ref.kind == "Deployment"
    assert challenge.kinds == {"Deployment", "ReplicaSet", "Pod"}


def expect_error(tmp_path: Path, field: str, problem: str) -> None:
    """As `kubecamp scenarios validate` from a checkout sees it: solutions included."""
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path, solutions=True)
    assert caught.value.field == field, str(caught.value)
    assert problem in caught.value.problem, str(caught.value)


def test_unknown_key(tmp_path: Path) -> None:
    doc = challenge_doc()
    doc["scenarios"][0]["time_bx"] = "20m"
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "scenarios[0](id=web).time_bx", "unknown key")


def test_missing_key(tmp_path: Path) -> None:
    doc = challenge_doc()
    del doc["story"]
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "story", "required key is missing")


def test_bad_duration(tmp_path: Path) -> None:
    write_tree(tmp_path, challenge_doc(time_limit="90"))
    expect_error(tmp_path, "time_limit", "not a duration")


def test_missing_manifest_folder(tmp_path: Path) -> None:
    doc = challenge_doc()
    doc["scenarios"][0]["manifests"] = "web/broken"
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "scenarios[0](id=web).manifests", "does not exist")


def test_solutions_are_read_only_when_asked_for(tmp_path: Path) -> None:
    """The bot loads its catalogue without solutions, and the deployed catalogue has none; from a checkout,
    `kubecamp scenarios validate` loads them and a missing one is an error that says why it may be missing."""
    path = write_tree(tmp_path)
    (path.parent / "web" / "solution" / "web.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    scenario = load_catalog(tmp_path).get(7).scenarios[0]
    assert scenario.solution is None
    assert scenario.manifests[0].ref.kind == "Deployment"
    expect_error(tmp_path, "", "not valid YAML")

    (path.parent / "web" / "solution" / "web.yaml").unlink()
    (path.parent / "web" / "solution").rmdir()
    assert load_catalog(tmp_path).get(7).scenarios[0].solution is None
    expect_error(tmp_path, "scenarios[0](id=web).solution", "a deployed catalogue carries no solutions")


def test_with_solutions_each_scenario_has_its_fixed_state(tmp_path: Path) -> None:
    write_tree(tmp_path)
    (scenario,) = load_catalog(tmp_path, solutions=True).get(7).scenarios
    assert scenario.solution is not None
    assert [m.ref.name for m in scenario.solution] == ["web"]


@pytest.mark.parametrize(
    ("folders", "problem"),
    [
        ({"solution": "web/fixed"}, "the folder must be named 'solution'"),
        ({"manifests": "web/solution/broken"}, "manifests 'web/solution/broken' is inside a folder named 'solution'"),
        ({"previous": "solution/web"}, "previous 'solution/web' is inside a folder named 'solution'"),
    ],
)
def test_solutions_are_kept_apart_from_what_is_deployed(tmp_path: Path, folders: dict[str, str], problem: str) -> None:
    """The chart leaves out every folder named `solution` and nothing else: a solution folder by another name
    would ship, a broken state inside one would not."""
    doc = challenge_doc()
    doc["scenarios"][0].update(folders)
    write_tree(tmp_path, doc)
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path)
    assert caught.value.field == "scenarios[0](id=web)"
    assert problem in caught.value.problem


def test_manifest_naming_another_namespace(tmp_path: Path) -> None:
    other = {**DEPLOYMENT, "metadata": {"name": "web", "namespace": "backend"}}
    path = write_tree(tmp_path, manifests=[other])
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path)
    assert caught.value.path == str(path.parent / "web" / "manifests" / "web.yaml")
    assert caught.value.field == "document 1.metadata.namespace"
    assert "'backend'" in caught.value.problem


def test_cluster_scoped_kind_in_a_namespace_scenario(tmp_path: Path) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}
    write_tree(tmp_path, manifests=[node])
    expect_error(tmp_path, "document 1.kind", "cluster-scoped")


def test_unknown_kind(tmp_path: Path) -> None:
    write_tree(tmp_path, manifests=[{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}])
    expect_error(tmp_path, "document 1.kind", "not a kind kubecamp-bot can apply")


def test_check_with_bad_arguments(tmp_path: Path) -> None:
    doc = challenge_doc()
    doc["scenarios"][0]["checks"] = [{"deployment_available": {"name": "web", "minimum": 3}}]
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "scenarios[0](id=web).checks[0]", "deployment_available.minimum: unknown argument")


def test_duplicate_scenario_ids(tmp_path: Path) -> None:
    doc = challenge_doc()
    doc["scenarios"].append(dict(doc["scenarios"][0]))
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "", "duplicate scenario ids: web")


def test_duplicate_challenge_ids(tmp_path: Path) -> None:
    write_tree(tmp_path, folder="a")
    write_tree(tmp_path, folder="b")
    expect_error(tmp_path, "id", "challenge id 7 is also used")


def test_hints_out_of_order(tmp_path: Path) -> None:
    doc = challenge_doc()
    doc["scenarios"][0]["hints"] = [{"after": "30m", "ko": "b", "en": "b"}, {"after": "20m", "ko": "a", "en": "a"}]
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "scenarios[0](id=web)", "order")


def test_not_yaml(tmp_path: Path) -> None:
    path = write_tree(tmp_path)
    path.write_text("id: [unclosed", encoding="utf-8")
    expect_error(tmp_path, "", "not valid YAML")


def test_empty_catalogue_folder(tmp_path: Path) -> None:
    expect_error(tmp_path, "", "no */challenge.yaml found")


def with_previous(doc: dict[str, Any]) -> dict[str, Any]:
    doc["scenarios"][0]["previous"] = "web/previous"
    return doc


def write_previous(tmp_path: Path, manifests: list[Any]) -> None:
    folder = tmp_path / "practice" / "web" / "previous"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "web.yaml").write_text(yaml.safe_dump_all(manifests), encoding="utf-8")


def test_a_previous_revision_loads_beside_the_broken_one(tmp_path: Path) -> None:
    write_tree(tmp_path, with_previous(challenge_doc()))
    good = {**DEPLOYMENT, "metadata": {"name": "web", "labels": {"revision": "good"}}}
    write_previous(tmp_path, [good])
    scenario = load_catalog(tmp_path).get(7).scenarios[0]
    assert [m.body["metadata"]["labels"] for m in scenario.previous] == [{"revision": "good"}]


def test_a_scenario_without_previous_has_none(tmp_path: Path) -> None:
    write_tree(tmp_path)
    assert load_catalog(tmp_path).get(7).scenarios[0].previous == ()


def test_missing_previous_folder(tmp_path: Path) -> None:
    write_tree(tmp_path, with_previous(challenge_doc()))
    expect_error(tmp_path, "scenarios[0](id=web).previous", "does not exist")


def test_previous_is_validated_like_the_manifests(tmp_path: Path) -> None:
    write_tree(tmp_path, with_previous(challenge_doc()))
    write_previous(tmp_path, [{**DEPLOYMENT, "metadata": {"name": "web", "namespace": "prod"}}])
    expect_error(tmp_path, "document 1.metadata.namespace", "names namespace 'prod'")


def test_previous_holds_only_revisions_of_the_broken_objects(tmp_path: Path) -> None:
    write_tree(tmp_path, with_previous(challenge_doc()))
    write_previous(tmp_path, [{**DEPLOYMENT, "metadata": {"name": "other"}}])
    expect_error(tmp_path, "metadata.name", "not in the scenario's manifests")
