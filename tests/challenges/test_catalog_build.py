"""A build in the catalogue: its rubric, namespaces, phases and reference, and each mistake as one clear error."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.catalog import load_catalog
from bot.challenges.rubric import build_namespace
from tests.challenges.test_catalog import DEPLOYMENT, challenge_doc, expect_error, write_tree


def build_doc(**overrides: Any) -> dict[str, Any]:
    doc = challenge_doc(kind="build", reference="reference", namespaces=["streaming", "monitoring"])
    del doc["scenarios"]
    doc["phases"] = [
        {"title": {"ko": "설계", "en": "Design"}, "duration": "15m"},
        {"title": {"ko": "구현", "en": "Build"}, "duration": "75m"},
    ]
    doc["rubric"] = [
        {
            "id": "workloads",
            "title": {"ko": "워크로드", "en": "Workloads"},
            "criteria": [
                {
                    "id": "web",
                    "title": {"ko": "웹 서비스", "en": "Web service"},
                    "points": 10,
                    "namespace": "streaming",
                    "checks": [{"deployment_available": {"name": "web"}}],
                    "hints": [{"after": "20m", "ko": "힌트", "en": "Hint"}],
                },
                {"id": "report", "title": {"ko": "보고서", "en": "Report"}, "points": 5, "graded": True},
                {
                    "id": "swarm-scaled",
                    "title": {"ko": "web-service 복제본 3개", "en": "web-service at 3 replicas"},
                    "points": 3,
                    "bonus": True,
                    "evidence": {"parser": "docker-service-ls", "service": "web-service", "replicas": "3/3"},
                },
            ],
        }
    ]
    doc.update(overrides)
    return doc


def write_build(root: Path, doc: dict[str, Any] | None = None) -> Path:
    base = root / "build"
    (base / "reference" / "streaming").mkdir(parents=True, exist_ok=True)
    (base / "reference" / "streaming" / "web.yaml").write_text(yaml.safe_dump(DEPLOYMENT), encoding="utf-8")
    (base / "challenge.yaml").write_text(yaml.safe_dump(doc or build_doc(), allow_unicode=True), encoding="utf-8")
    return base


def test_a_build_loads_its_rubric_namespaces_and_phases(tmp_path: Path) -> None:
    write_build(tmp_path)
    challenge = load_catalog(tmp_path).get(7)
    assert challenge.is_build and challenge.scenarios == ()
    assert [c.id for c in challenge.rubric] == ["web", "report", "swarm-scaled"]
    assert [c.spec.proof for c in challenge.rubric] == ["checks", "graded", "evidence"]
    assert [c.id for c in challenge.checked] == ["web"]
    assert challenge.checked_item("web").namespace == "streaming"
    assert challenge.rubric[2].spec.bonus and not challenge.rubric[0].spec.bonus
    assert challenge.namespaces == ("streaming", "monitoring")
    assert [(p.starts, p.duration) for p in challenge.phases] == [
        (timedelta(0), timedelta(minutes=15)),
        (timedelta(minutes=15), timedelta(minutes=75)),
    ]
    # Like a solution, the reference is read only by the instructor's tooling.
    assert challenge.reference is None
    reference = load_catalog(tmp_path, solutions=True).get(7).reference
    assert reference is not None and [m.ref.name for m in reference["streaming"]] == ["web"]


def test_a_break_fix_challenge_is_unchanged(tmp_path: Path) -> None:
    write_tree(tmp_path)
    challenge = load_catalog(tmp_path).get(7)
    assert challenge.spec.kind == "break-fix" and not challenge.is_build
    assert challenge.checked == challenge.scenarios and challenge.rubric == ()


def criteria(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["rubric"][0]["criteria"]


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda d: d.update(scenarios=challenge_doc()["scenarios"]), "scenarios", "a build deploys no scenarios"),
        (lambda d: d.update(tiers=[{"within": "50m", "percent": 100}]), "tiers", "scored by its rubric"),
        (lambda d: d.pop("rubric"), "rubric", "required key is missing"),
        (lambda d: d.update(kind="lab-ish"), "kind", "'break-fix', 'build', 'lab' or 'drill'"),
        (
            lambda d: criteria(d)[1].update(evidence={"parser": "kubectl-get-pods", "running": 1}),
            "rubric[0](id=workloads).criteria[1](id=report)",
            "exactly one way",
        ),
        (lambda d: criteria(d)[1].pop("graded"), "rubric[0](id=workloads).criteria[1](id=report)", "given: none"),
        (
            lambda d: criteria(d)[1].update(graded=False),
            "rubric[0](id=workloads).criteria[1](id=report).graded",
            "should be True",
        ),
        (
            lambda d: criteria(d)[2].update(evidence={"parser": "docker-ps", "service": "web"}),
            "rubric[0](id=workloads).criteria[2](id=swarm-scaled).evidence",
            "docker-ps: no such evidence parser",
        ),
        (
            lambda d: criteria(d)[2].update(evidence={"parser": "docker-service-ls", "service": "web", "replica": "3"}),
            "rubric[0](id=workloads).criteria[2](id=swarm-scaled).evidence",
            "docker-service-ls: replica: unknown parameter",
        ),
        (
            lambda d: criteria(d)[2].update(evidence={"parser": "docker-service-ls", "service": "web"}),
            "rubric[0](id=workloads).criteria[2](id=swarm-scaled).evidence",
            "asks for nothing",
        ),
        (
            lambda d: criteria(d)[2].update(evidence={"parser": "docker-node-ls", "ready": "3"}),
            "rubric[0](id=workloads).criteria[2](id=swarm-scaled).evidence",
            "docker-node-ls: ready: Input should be a valid integer",
        ),
        (
            lambda d: criteria(d)[2].update(evidence={"service": "web-service", "replicas": "3/3"}),
            "rubric[0](id=workloads).criteria[2](id=swarm-scaled).evidence.parser",
            "required",
        ),
        (
            lambda d: criteria(d)[0].update(points=0),
            "rubric[0](id=workloads).criteria[0](id=web).points",
            "greater than or equal to 1",
        ),
        (lambda d: criteria(d)[0].update(namespace="logging"), "", "namespace 'logging' is not one of"),
        (
            lambda d: criteria(d)[1].update(namespace="streaming"),
            "rubric[0](id=workloads).criteria[1](id=report)",
            "only a criterion proven by checks reads a namespace",
        ),
        (lambda d: criteria(d).append(dict(criteria(d)[1])), "", "duplicate criterion ids: report"),
        (lambda d: criteria(d).pop(0), "", "at least one criterion proven by checks"),
        (lambda d: [c.update(bonus=True) for c in criteria(d)], "", "at least one required criterion"),
        (
            lambda d: d["phases"].append({"title": {"ko": "더", "en": "More"}, "duration": "5m"}),
            "",
            "past the time limit",
        ),
        (lambda d: d.update(namespaces=["Streaming"]), "namespaces[0]", "should match pattern"),
        (lambda d: d.update(reference="build-ref"), "", "must be named 'reference'"),
        (
            lambda d: criteria(d)[0].update(checks=[{"deployment_available": {"nam": "web"}}]),
            "rubric[0](id=workloads).criteria[0](id=web).checks[0]",
            "unknown argument",
        ),
        (lambda d: d.update(repository={"paths": ["README.md"]}), "", "needs a field with format github_url"),
        (
            lambda d: d.update(repository={"paths": ["../etc/passwd"]}, submission=GITHUB_FORM),
            "repository.paths",
            "is not a path inside the repository",
        ),
        (lambda d: d.update(repository={"path": ["README.md"]}), "repository.path", "unknown key"),
    ],
)
def test_each_mistake_names_its_field(tmp_path: Path, change: Any, field: str, problem: str) -> None:
    doc = build_doc()
    change(doc)
    write_build(tmp_path, doc)
    expect_error(tmp_path, field, problem)


GITHUB_FORM = {"fields": [{"id": "repo", "label": {"ko": "GitHub", "en": "GitHub"}, "format": "github_url"}]}


def test_a_build_may_prescribe_its_repository_layout(tmp_path: Path) -> None:
    write_build(
        tmp_path, build_doc(repository={"root": "ops", "paths": ["README.md", "docs/"]}, submission=GITHUB_FORM)
    )
    spec = load_catalog(tmp_path).get(7).spec
    assert spec.repository is not None and spec.repository.paths == ("README.md", "docs/")
    assert spec.repository_field == "repo"


BONUS = {
    "id": "bonus",
    "title": {"ko": "도전 과제", "en": "Challenge tasks"},
    "criteria": [
        {"id": "advanced", "title": {"ko": "고급", "en": "Advanced"}, "points": 20, "bonus": True, "graded": True}
    ],
}


def test_a_break_fix_challenge_may_have_graded_bonus_items(tmp_path: Path) -> None:
    write_tree(tmp_path, challenge_doc(rubric=[BONUS]))
    challenge = load_catalog(tmp_path).get(7)
    assert [c.id for c in challenge.rubric] == ["advanced"] and challenge.checked == challenge.scenarios
    assert challenge.total_points == sum(s.spec.points for s in challenge.scenarios)


@pytest.mark.parametrize(
    "change",
    [
        {"bonus": False},
        {"graded": None, "checks": [{"deployment_available": {"name": "web"}}]},
        {"graded": None, "evidence": {"parser": "docker-node-ls", "ready": 3}},
    ],
)
def test_a_break_fix_challenges_rubric_holds_only_graded_bonus_items(tmp_path: Path, change: dict[str, Any]) -> None:
    item = {k: v for k, v in {**BONUS["criteria"][0], **change}.items() if v is not None}  # type: ignore[dict-item]
    write_tree(tmp_path, challenge_doc(rubric=[{**BONUS, "criteria": [item]}]))
    expect_error(tmp_path, "", "a break-fix challenge's rubric holds bonus items an instructor grades")


@pytest.mark.parametrize("key", ["namespaces", "phases", "reference", "repository"])
def test_a_break_fix_challenge_takes_no_build_keys(tmp_path: Path, key: str) -> None:
    value = {"paths": ["README.md"]} if key == "repository" else build_doc()[key]
    extra = {"submission": GITHUB_FORM} if key == "repository" else {}
    write_tree(tmp_path, challenge_doc(**{key: value}, **extra))
    expect_error(tmp_path, key, "only a challenge of kind build has it")


def test_a_break_fix_challenge_still_needs_its_scenarios(tmp_path: Path) -> None:
    doc = challenge_doc()
    del doc["scenarios"]
    write_tree(tmp_path, doc)
    expect_error(tmp_path, "scenarios", "required key is missing")


def test_the_reference_holds_only_the_build_namespaces(tmp_path: Path) -> None:
    base = write_build(tmp_path)
    (base / "reference" / "logging").mkdir()
    expect_error(tmp_path, "reference", "not named after one of the challenge's namespaces")


def test_a_missing_reference_says_why_it_may_be_missing(tmp_path: Path) -> None:
    doc = build_doc(reference="elsewhere/reference")
    write_build(tmp_path, doc)
    expect_error(tmp_path, "reference", "a deployed catalogue carries no solutions")
    assert load_catalog(tmp_path).get(7).reference is None


def test_a_build_namespace_is_the_team_namespace_and_its_name() -> None:
    assert build_namespace("kubecamp-blue", "streaming") == "kubecamp-blue-streaming"
    with pytest.raises(ValueError, match="longer than 63"):
        build_namespace("k" * 55, "monitoring")
