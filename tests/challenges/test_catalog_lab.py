"""A lab in the catalogue: phases with time boxes and checkpoints, each proven one way, and each mistake as one
clear error naming the file's field."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.catalog import load_catalog
from tests.challenges.test_catalog import DEPLOYMENT, challenge_doc, expect_error
from tests.challenges.test_catalog_build import build_doc, write_build


def lab_doc(**overrides: Any) -> dict[str, Any]:
    doc = challenge_doc(kind="lab", time_limit="5h", namespaces=["daily"], reference="reference")
    del doc["scenarios"]
    doc["phases"] = [
        {
            "id": "swarm",
            "title": {"ko": "Swarm 기초", "en": "Swarm basics"},
            "duration": "2h",
            "checkpoints": [
                {"id": "experienced", "title": {"ko": "장애 체험", "en": "Failure lived"}, "points": 5, "self": True},
                {
                    "id": "swarm-built",
                    "title": {"ko": "Swarm 구축", "en": "Swarm built"},
                    "points": 5,
                    "evidence": {"parser": "docker-node-ls", "leader": True},
                },
            ],
        },
        {
            "id": "k8s",
            "title": {"ko": "Kubernetes", "en": "Kubernetes"},
            "duration": "3h",
            "checkpoints": [
                {
                    "id": "web",
                    "title": {"ko": "웹", "en": "Web"},
                    "points": 10,
                    "namespace": "daily",
                    "checks": [{"deployment_available": {"name": "web"}}],
                },
                {"id": "report", "title": {"ko": "보고서", "en": "Report"}, "points": 5, "graded": True, "bonus": True},
            ],
        },
    ]
    doc.update(overrides)
    return doc


def write_lab(root: Path, doc: dict[str, Any] | None = None) -> Path:
    base = root / "lab"
    (base / "reference" / "daily").mkdir(parents=True, exist_ok=True)
    (base / "reference" / "daily" / "web.yaml").write_text(yaml.safe_dump(DEPLOYMENT), encoding="utf-8")
    (base / "challenge.yaml").write_text(yaml.safe_dump(doc or lab_doc(), allow_unicode=True), encoding="utf-8")
    return base


def checkpoints(doc: dict[str, Any], phase: int = 0) -> list[dict[str, Any]]:
    return doc["phases"][phase]["checkpoints"]


def test_a_lab_loads_its_phases_and_checkpoints(tmp_path: Path) -> None:
    write_lab(tmp_path)
    challenge = load_catalog(tmp_path).get(7)
    assert challenge.is_lab and not challenge.is_build and challenge.scored_by_items
    assert challenge.scenarios == ()
    # A checkpoint is a criterion grouped under its phase.
    assert [(c.group.id, c.id, c.spec.proof) for c in challenge.rubric] == [
        ("swarm", "experienced", "self"),
        ("swarm", "swarm-built", "evidence"),
        ("k8s", "web", "checks"),
        ("k8s", "report", "graded"),
    ]
    assert [g.id for g in challenge.groups] == ["swarm", "k8s"]
    assert [c.id for c in challenge.checked] == ["web"]
    assert challenge.checked_item("web").namespace == "daily"
    assert [(p.starts, p.duration) for p in challenge.phases] == [
        (timedelta(0), timedelta(hours=2)),
        (timedelta(hours=2), timedelta(hours=3)),
    ]
    assert challenge.total_points == 20  # the bonus report adds to it
    reference = load_catalog(tmp_path, solutions=True).get(7).reference
    assert reference is not None and [m.ref.name for m in reference["daily"]] == ["web"]


def test_a_lab_may_have_nothing_on_the_cluster(tmp_path: Path) -> None:
    doc = lab_doc()
    doc["phases"] = doc["phases"][:1]
    del doc["namespaces"], doc["reference"]
    write_lab(tmp_path, doc)
    challenge = load_catalog(tmp_path).get(7)
    assert challenge.checked == () and len(challenge.rubric) == 2


SWARM = "phases[0](id=swarm)"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda d: d.update(scenarios=challenge_doc()["scenarios"]), "scenarios", "it takes no scenarios"),
        (lambda d: d.update(tiers=[{"within": "50m", "percent": 100}]), "tiers", "it takes no tiers"),
        (lambda d: d.update(rubric=build_doc()["rubric"]), "rubric", "it takes no rubric"),
        (lambda d: d.pop("phases"), "phases", "required key is missing"),
        (lambda d: d["phases"][1].pop("id"), "phases[1].id", "required key is missing"),
        (lambda d: d["phases"][0].pop("checkpoints"), "phases[0].checkpoints", "required key is missing"),
        (lambda d: d["phases"][0].update(checkpoints=[]), f"{SWARM}.checkpoints", "at least 1 item"),
        (lambda d: d["phases"][0].update(id="Swarm!"), "phases[0](id=Swarm!).id", "should match pattern"),
        (lambda d: d["phases"][1].update(id="swarm"), "", "duplicate phase ids: swarm"),
        (
            lambda d: checkpoints(d, 1).append(dict(checkpoints(d)[0])),
            "",
            "duplicate checkpoint ids: experienced",
        ),
        (
            lambda d: checkpoints(d)[0].update(graded=True),
            f"{SWARM}.checkpoints[0](id=experienced)",
            "exactly one way: checks, evidence, graded or self (given: graded, self)",
        ),
        (
            lambda d: checkpoints(d)[0].pop("self"),
            f"{SWARM}.checkpoints[0](id=experienced)",
            "given: none",
        ),
        (
            lambda d: checkpoints(d)[0].update({"self": False}),
            f"{SWARM}.checkpoints[0](id=experienced).self",
            "should be True",
        ),
        (
            lambda d: checkpoints(d)[0].update(ticked=True),
            f"{SWARM}.checkpoints[0](id=experienced).ticked",
            "unknown key",
        ),
        (
            lambda d: checkpoints(d)[0].update(hints=[{"after": "20m", "ko": "힌트", "en": "Hint"}]),
            f"{SWARM}.checkpoints[0](id=experienced)",
            "only a criterion proven by checks has hints",
        ),
        (
            lambda d: checkpoints(d)[1].update(evidence={"parser": "docker-node-ls", "leader": "yes"}),
            f"{SWARM}.checkpoints[1](id=swarm-built).evidence",
            "docker-node-ls: leader: Input should be True",
        ),
        (
            lambda d: checkpoints(d, 1)[0].update(checks=[{"deployment_available": {"nam": "web"}}]),
            "phases[1](id=k8s).checkpoints[0](id=web).checks[0]",
            "unknown argument",
        ),
        (lambda d: checkpoints(d, 1)[0].update(namespace="logging"), "", "namespace 'logging' is not one of"),
        (lambda d: [c.update(bonus=True) for p in d["phases"] for c in p["checkpoints"]], "", "one required"),
        (lambda d: d["phases"][1].update(duration="3h30m"), "", "past the time limit"),
        (lambda d: d["phases"][0].update(duration="0s"), f"{SWARM}", "duration must be positive"),
        (
            lambda d: checkpoints(d).extend(
                {"id": f"tick-{i}", "title": {"ko": "체크", "en": "Tick"}, "points": 1, "self": True} for i in range(25)
            ),
            "",
            "phase swarm: 26 checkpoints ticked by the team; their buttons are one Discord message",
        ),
    ],
)
def test_each_mistake_names_its_field(tmp_path: Path, change: Any, field: str, problem: str) -> None:
    doc = lab_doc()
    change(doc)
    write_lab(tmp_path, doc)
    expect_error(tmp_path, field, problem)


def test_only_a_lab_has_checkpoints_ticked_by_the_team(tmp_path: Path) -> None:
    doc = build_doc()
    doc["rubric"][0]["criteria"][1] = {"id": "report", "title": {"ko": "보고서", "en": "R"}, "points": 5, "self": True}
    write_build(tmp_path, doc)
    expect_error(tmp_path, "", "criterion report: only a lab's checkpoint is ticked by the team")


def test_a_build_phase_has_no_checkpoints(tmp_path: Path) -> None:
    doc = build_doc()
    doc["phases"][0]["checkpoints"] = checkpoints(lab_doc())
    write_build(tmp_path, doc)
    expect_error(tmp_path, "phases[0].checkpoints", "only a lab's phase has it")
