"""A build through the one run engine: nothing broken is deployed, its namespaces are made, its rubric's
checks are verified in them, hints follow the 20-minute mark, and the deadline's verification is the rubric."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.challenges import render as render_
from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.checks import Status
from bot.challenges.cluster_fit import ChallengeUnavailable
from bot.challenges.reports import Trigger
from bot.challenges.runs import RunService
from bot.challenges.timeline import Due, timeline
from bot.i18n import render
from bot.store import Store
from bot.team_namespace import MANAGED_BY, TEAM_LABEL
from tests.challenges.test_catalog import DEPLOYMENT
from tests.challenges.test_catalog_build import build_doc
from tests.challenges.test_runs import NAMESPACE, Clock, World
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
}


def build_catalog(root: Path) -> Catalog:
    doc = build_doc()
    doc["rubric"][0]["criteria"].append(
        {
            "id": "web-service",
            "title": {"ko": "웹 Service", "en": "Web Service"},
            "points": 4,
            "checks": [{"service_endpoints_ready": {"name": "web"}}],
        }
    )
    base = root / "build"
    (base / "reference" / "streaming").mkdir(parents=True)
    (base / "reference" / "streaming" / "web.yaml").write_text(yaml.safe_dump(DEPLOYMENT), encoding="utf-8")
    (base / "reference" / "service.yaml").write_text(yaml.safe_dump(SERVICE), encoding="utf-8")
    (base / "challenge.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_catalog(root, solutions=True)


@pytest.fixture
async def world(kube_cluster: KubeCluster, store: Store, tmp_path: Path) -> AsyncIterator[World]:
    cluster = bot_cluster(kube_cluster)
    clock = Clock()
    await store.teams.create("blue", NAMESPACE)
    service = RunService(catalog=build_catalog(tmp_path), store=store, cluster=cluster, clock=clock)
    try:
        yield World(service, store, cluster, kube_cluster, clock)
    finally:
        await cluster.close()


async def test_a_build_start_makes_its_namespaces_and_deploys_nothing(world: World) -> None:
    report = await world.service.start("blue", 7)
    assert report.applied == ()
    for name in (NAMESPACE, f"{NAMESPACE}-streaming", f"{NAMESPACE}-monitoring"):
        namespace = world.kube.get("namespaces", None, name)
        assert namespace is not None, name
        assert namespace["metadata"]["labels"].items() >= {MANAGED_BY: "kubecamp-bot", TEAM_LABEL: "blue"}.items()
    assert world.kube.objects("deployments", f"{NAMESPACE}-streaming") == []
    states = await world.store.runs.scenario_states(report.run.id)
    # The run follows the criteria proven by checks; the graded and evidence ones are not verified.
    assert [s.scenario_id for s in states] == ["web", "web-service"]
    assert report.run.deadline - report.run.started_at == timedelta(minutes=90)


async def test_the_rubric_fails_on_empty_namespaces_and_passes_as_the_reference_is_applied(world: World) -> None:
    challenge = world.service._catalog.get(7)
    assert challenge.reference is not None
    await world.service.start("blue", 7)
    world.clock.at(5)
    empty = await world.service.verify("blue")
    assert {r.scenario_id: r.status for r in empty.results} == {"web": Status.FAIL, "web-service": Status.FAIL}
    assert "Deployment web" in render(empty.results[0].checks[0].message, "en")

    # The Deployment goes into the build's streaming namespace: only the criterion that reads it passes.
    for manifest in challenge.reference["streaming"]:
        await world.cluster.apply(f"{NAMESPACE}-streaming", manifest.body)
    world.kube.advance(60)
    world.clock.at(15)
    half = await world.service.verify("blue")
    assert {r.scenario_id: r.status for r in half.results} == {"web": Status.PASS, "web-service": Status.FAIL}
    assert half.ended is None  # a build is not over when its checks pass: it runs to its deadline

    # The Service in the team's namespace selects no Pod there (they are in the streaming namespace).
    for manifest in challenge.reference[None]:
        await world.cluster.apply(NAMESPACE, manifest.body)
    world.clock.at(20)
    still = await world.service.verify("blue")
    assert {r.scenario_id: r.status for r in still.results}["web-service"] is Status.FAIL


async def test_the_deadline_verification_scores_the_criteria_that_pass_then(world: World) -> None:
    challenge = world.service._catalog.get(7)
    assert challenge.reference is not None
    run = (await world.service.start("blue", 7)).run
    for manifest in challenge.reference["streaming"]:
        await world.cluster.apply(f"{NAMESPACE}-streaming", manifest.body)
    world.kube.advance(60)
    world.clock.at(90)
    team = await world.service.team("blue")
    report = await world.service.verify_run(run, team=team, trigger=Trigger.FINAL)
    assert report.ended is not None
    # web (10 points) passes, web-service (4) does not; the graded report waits for an instructor.
    assert (report.ended.status, report.ended.points, report.ended.tier_percent) == ("finished", 10, 100)
    ended = render_.run_ended(report.ended, challenge, "en")["embeds"][0]["description"]
    assert ended == (
        "time 90:00 · 10 points from the items verified on the cluster (the required items make 19); "
        "the items an instructor grades are added to them"
    )


async def test_a_build_has_its_phases_and_its_criteria_hints_in_its_timeline(world: World) -> None:
    run = (await world.service.start("blue", 7)).run
    challenge = world.service._catalog.get(7)
    # The second phase begins at 15 minutes (the first with the run); hint and mark at 20; the deadline at 90.
    assert [(e.at - run.started_at, e.due, e.scenario_id, e.level) for e in timeline(challenge, run)] == [
        (timedelta(minutes=15), Due.PHASE, "", 1),
        (timedelta(minutes=20), Due.AUTO_VERIFY, "", -1),
        (timedelta(minutes=20), Due.HINT, "web", 0),
        (timedelta(minutes=90), Due.FINAL, "", -1),
    ]
    world.clock.at(19)
    assert await world.service.hints_due(run) == []
    world.clock.at(20)
    assert [(h.scenario_id, h.level) for h in await world.service.hints_due(run)] == [("web", 0)]


async def test_a_team_namespace_too_long_for_the_build_namespaces_refuses_the_start(world: World) -> None:
    await world.store.teams.create("long", "k" * 55)
    with pytest.raises(ChallengeUnavailable) as refused:
        await world.service.start("long", 7)
    assert "longer than 63 characters" in render(refused.value.message, "en")
    assert world.kube.get("namespaces", None, "k" * 55) is None


async def test_a_namespace_of_another_team_is_never_a_builds(world: World) -> None:
    """Team blue's streaming namespace would be team blue-streaming's own: neither may start, nothing is made."""
    await world.store.teams.create("blue-streaming", f"{NAMESPACE}-streaming")
    for team, other in (("blue", "blue-streaming"), ("blue-streaming", "blue")):
        with pytest.raises(ChallengeUnavailable) as refused:
            await world.service.start(team, 7)
        assert render(refused.value.message, "en") == (
            f"namespace {NAMESPACE}-streaming belongs to team {other}, so this team cannot use it: "
            "rename one of the teams (their namespaces)"
        )
    made = {n["metadata"]["name"] for n in world.kube.objects("namespaces")}
    assert not made & {NAMESPACE, f"{NAMESPACE}-streaming", f"{NAMESPACE}-monitoring"}
