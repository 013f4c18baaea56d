"""RunService against a real SQLite store and the emulated cluster, with a clock the test moves."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client as k8s

from bot.challenges import render as render_
from bot.challenges.catalog import Challenge
from bot.challenges.checks import Status
from bot.challenges.cluster_fit import ChallengeUnavailable
from bot.challenges.deploy import NamespaceNotCleared
from bot.challenges.reports import Trigger
from bot.challenges.runs import RunService
from bot.challenges.timeline import Due, HintDue, timeline
from bot.cluster import Cluster
from bot.errors import ClusterUnavailable, NamespaceNotManaged, NoActiveRun, RunConflict, UnknownScenario, UnknownTeam
from bot.i18n import Message, render
from bot.store import HintSource, Store
from bot.team_namespace import MANAGED_BY, TEAM_LABEL
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NAMESPACE = "kubecamp-blue"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> None:
        self.now = T0 + timedelta(minutes=minutes)


@dataclass
class World:
    service: RunService
    store: Store
    cluster: Cluster
    kube: KubeCluster
    clock: Clock


async def make_world(kube: KubeCluster, store: Store) -> AsyncIterator[World]:
    cluster = bot_cluster(kube)
    clock = Clock()
    await store.teams.create("blue", NAMESPACE)
    try:
        yield World(RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock), store, cluster, kube, clock)
    finally:
        await cluster.close()


@pytest.fixture
async def world(kube_cluster: KubeCluster, store: Store) -> AsyncIterator[World]:
    async for w in make_world(kube_cluster, store):
        yield w


@pytest.fixture
async def world_without_crds(kube_cluster_without_crds: KubeCluster, store: Store) -> AsyncIterator[World]:
    async for w in make_world(kube_cluster_without_crds, store):
        yield w


async def fix(world: World, challenge: Challenge, *scenario_ids: str) -> None:
    """Apply solutions the way a student does (delete the broken objects where the server refuses)."""
    from tests.scenarios.test_catalogue_behaviour import apply_like_a_student

    for scenario_id in scenario_ids:
        await apply_like_a_student(world.cluster, challenge.scenario(scenario_id))


async def test_start_deploys_the_broken_state_into_a_labelled_namespace(world: World) -> None:
    report = await world.service.start("blue", 2)
    namespace = world.kube.get("namespaces", None, NAMESPACE)
    assert namespace is not None
    assert namespace["metadata"]["labels"].items() >= {MANAGED_BY: "kubecamp-bot", TEAM_LABEL: "blue"}.items()
    assert {str(r) for r in report.applied} >= {"Deployment/frontend", "Deployment/api-server", "Deployment/database"}
    assert world.kube.get("deployments", NAMESPACE, "frontend") is not None
    run = await world.store.runs.get(report.run.id)
    assert run is not None and run.status == "active"
    assert run.deadline - run.started_at == timedelta(minutes=90)
    assert len(run.applied) == len(report.applied)


async def test_second_start_is_refused_and_changes_nothing(world: World) -> None:
    await world.service.start("blue", 2)
    requests_before = len(world.kube.requests)
    with pytest.raises(RunConflict, match="already has an active run of challenge 2") as refused:
        await world.service.start("blue", 2)
    assert refused.value.reason == Message("conflict.active_run", {"team": "blue", "challenge": 2})
    writes = [r for r in world.kube.requests[requests_before:] if r.method != "GET"]
    assert writes == []
    team = await world.store.teams.get("blue")
    assert team is not None
    assert len(await world.store.runs.of_team(team.id)) == 1


async def test_unknown_team_and_challenge_are_refused(world: World) -> None:
    with pytest.raises(UnknownTeam):
        await world.service.start("green", 2)
    with pytest.raises(Exception, match="no challenge 9"):
        await world.service.start("blue", 9)
    assert world.kube.get("namespaces", None, NAMESPACE) is None


@pytest.mark.parametrize(("minutes", "tier", "points"), [(49, 100, 100), (50, 100, 100), (69, 80, 80), (89, 60, 60)])
async def test_finishing_times_fall_into_the_course_tiers(world: World, minutes: int, tier: int, points: int) -> None:
    challenge = CATALOG.get(2)
    await world.service.start("blue", 2)
    await fix(world, challenge, *(s.id for s in challenge.scenarios))
    world.clock.at(minutes)
    report = await world.service.verify("blue")
    assert report.all_passed
    assert report.ended is not None
    assert (report.ended.status, report.ended.tier_percent, report.ended.points) == ("finished", tier, points)
    assert report.ended.elapsed_seconds == minutes * 60
    with pytest.raises(NoActiveRun):
        await world.service.verify("blue")


async def test_first_solve_time_and_attempts_are_kept(world: World) -> None:
    challenge = CATALOG.get(2)
    await world.service.start("blue", 2)
    world.clock.at(10)
    first = await world.service.verify("blue")
    assert not first.all_passed and first.newly_solved == ()
    await fix(world, challenge, "image-pull")
    world.clock.at(25)
    second = await world.service.verify("blue")
    assert second.newly_solved == ("image-pull",)
    # The team breaks it again: the first solve time stays, the attempts count on.
    broken = challenge.scenario("image-pull").manifests
    for manifest in broken:
        await world.cluster.apply(NAMESPACE, manifest.body)
    world.clock.at(40)
    third = await world.service.verify("blue")
    state = {s.scenario_id: s for s in third.states}["image-pull"]
    assert state.first_solved_at == T0 + timedelta(minutes=25)
    assert state.attempts == 3
    assert {r.scenario_id: r.status for r in third.results}["image-pull"] is Status.FAIL


async def test_deadline_verification_expires_the_run_with_partial_points(world: World) -> None:
    challenge = CATALOG.get(2)
    await world.service.start("blue", 2)
    await fix(world, challenge, "image-pull", "unschedulable")
    world.clock.at(30)
    assert (await world.service.verify("blue")).diagnosed == frozenset()
    world.clock.at(90)
    run = await world.service.active_run(await world.service.team("blue"))
    report = await world.service.verify_run(run, team=await world.service.team("blue"), trigger=Trigger.FINAL)
    assert report.ended is not None
    assert report.diagnosed == {s.id for s in challenge.scenarios}  # the run is over: every cause is told
    # Two of four scenarios (25 points each) solved within the limit, at the last tier (60 %).
    assert (report.ended.status, report.ended.tier_percent, report.ended.points) == ("expired", 60, 30)


async def test_hints_come_due_once_per_level(world: World) -> None:
    challenge = CATALOG.get(2)
    run = (await world.service.start("blue", 2)).run
    world.clock.at(19)
    assert await world.service.hints_due(run) == []
    world.clock.at(20)
    due = await world.service.hints_due(run)
    assert {(h.scenario_id, h.level) for h in due} == {(s.id, 0) for s in challenge.scenarios}
    assert all([await world.service.record_hint(run, h) for h in due])
    assert not await world.service.record_hint(run, due[0])  # never twice
    assert await world.service.hints_due(run) == []
    await fix(world, challenge, "image-pull")
    await world.service.verify("blue")
    world.clock.at(30)
    assert {h.scenario_id for h in await world.service.hints_due(run)} == {
        "unschedulable",
        "rolling-update",
        "node-affinity",
    }


async def test_one_scenario_verified_records_only_its_result(world: World) -> None:
    challenge = CATALOG.get(2)
    run = (await world.service.start("blue", 2)).run
    await fix(world, challenge, "image-pull")
    world.clock.at(10)
    report = await world.service.verify("blue", scenario_id="image-pull")
    assert [r.scenario_id for r in report.results] == ["image-pull"] and report.scenario_id == "image-pull"
    assert report.newly_solved == ("image-pull",) and report.ended is None
    states = {s.scenario_id: (s.status, s.attempts) for s in report.states}
    assert states == {
        "image-pull": ("solved", 1),
        "unschedulable": ("pending", 0),
        "rolling-update": ("pending", 0),
        "node-affinity": ("pending", 0),
    }

    # Broken again: it fails now and stays solved, with the time it was first solved.
    for manifest in challenge.scenario("image-pull").manifests:
        await world.cluster.apply(NAMESPACE, manifest.body)
    world.clock.at(15)
    again = await world.service.verify("blue", scenario_id="image-pull")
    assert again.results[0].status is Status.FAIL
    state = {s.scenario_id: s for s in again.states}["image-pull"]
    assert (state.status, state.attempts, state.first_solved_at) == ("solved", 2, T0 + timedelta(minutes=10))

    # The run ends when the last scenario is solved; verifying all at once would have seen image-pull broken.
    await fix(world, challenge, "unschedulable", "rolling-update", "node-affinity")
    world.clock.at(30)
    for scenario_id in ("unschedulable", "rolling-update"):
        assert (await world.service.verify("blue", scenario_id=scenario_id)).ended is None
    last = await world.service.verify("blue", scenario_id="node-affinity")
    assert last.ended is not None
    assert (last.ended.status, last.ended.points, last.ended.elapsed_seconds) == ("finished", 100, 30 * 60)
    stored = await world.store.runs.get(run.id)
    assert stored is not None and stored.status == "finished"


async def test_a_scenario_the_run_does_not_check_is_refused_and_nothing_recorded(world: World) -> None:
    run = (await world.service.start("blue", 1)).run  # control-plane is skipped on a shared cluster
    with pytest.raises(UnknownScenario) as unknown:
        await world.service.verify("blue", scenario_id="nope")
    assert str(unknown.value) == "no scenario 'nope'; the run checks networking, storage, order-service"
    with pytest.raises(ChallengeUnavailable) as skipped:
        await world.service.verify("blue", scenario_id="control-plane")
    assert render(skipped.value.message, "en") == (
        "scenario control-plane was skipped when this run started, so there is nothing to verify"
    )
    assert all(s.attempts == 0 for s in await world.store.runs.scenario_states(run.id))


async def test_status_counts_hints_used_apart_from_the_automatic_ones(world: World) -> None:
    challenge = CATALOG.get(2)
    run = (await world.service.start("blue", 2)).run
    world.clock.at(30)
    due = {(h.scenario_id, h.level): h for h in await world.service.hints_due(run)}
    await world.service.record_hint(run, due[("image-pull", 0)])
    await world.service.record_hint(run, due[("image-pull", 1)], source=HintSource.requested, by="Blue Student 1")
    await world.service.record_hint(run, due[("unschedulable", 0)], source=HintSource.revealed, by="Kim")
    status = await world.service.status("blue")
    assert status.hints_used == {"image-pull": 1, "unschedulable": 1}
    assert status.hints_automatic == {"image-pull": 1}
    assert await world.service.diagnosed(run) == frozenset()
    last = challenge.scenario("image-pull").spec.hints[2]
    assert await world.service.diagnosed(run, posting=[HintDue("image-pull", 2, last)]) == {"image-pull"}


async def test_an_unmanaged_namespace_is_never_touched(world: World) -> None:
    world.kube.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    with pytest.raises(NamespaceNotManaged):
        await world.service.start("blue", 2)
    assert world.kube.objects("deployments", NAMESPACE) == []
    team = await world.store.teams.get("blue")
    assert team is not None and await world.store.runs.of_team(team.id) == []


async def test_stop_refuses_a_namespace_that_lost_its_label(world: World) -> None:
    await world.service.start("blue", 2)
    # Someone strips the label with kubectl (a JSON merge patch removing the key).
    async with world.kube.api_client() as api:
        await k8s.CoreV1Api(api).patch_namespace(
            NAMESPACE, {"metadata": {"labels": {MANAGED_BY: None}}}, _content_type="application/merge-patch+json"
        )
    with pytest.raises(NamespaceNotManaged):
        await world.service.stop("blue")
    assert world.kube.get("deployments", NAMESPACE, "frontend") is not None


async def test_stop_deletes_what_the_run_applied(world: World) -> None:
    await world.service.start("blue", 2)
    stopped = await world.service.stop("blue")
    assert stopped.run.status == "stopped" and not stopped.namespace_gone
    assert stopped.deleted == len(stopped.run.applied)
    assert world.kube.objects("deployments", NAMESPACE) == []
    assert world.kube.get("namespaces", None, NAMESPACE) is not None  # the namespace itself stays


async def test_a_run_whose_namespace_was_deleted_can_be_stopped_and_started_again(world: World) -> None:
    await world.service.start("blue", 2)
    async with world.kube.api_client() as api:
        await k8s.CoreV1Api(api).delete_namespace(NAMESPACE)  # kubectl delete namespace kubecamp-blue
    assert world.kube.get("namespaces", None, NAMESPACE) is None
    stopped = await world.service.stop("blue")
    assert stopped.run.status == "stopped"
    assert stopped.namespace_gone and stopped.deleted == 0
    with pytest.raises(NoActiveRun):
        await world.service.stop("blue")
    again = await world.service.start("blue", 2)  # the team is not locked out until the deadline
    assert again.run.status == "active"
    assert world.kube.get("namespaces", None, NAMESPACE) is not None
    assert world.kube.get("deployments", NAMESPACE, "frontend") is not None


def prepared(name: str, kind: str = "ConfigMap", **metadata: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, **metadata}}
    if kind == "Pod":
        body["spec"] = {"containers": [{"name": "notes", "image": "busybox:1.36"}]}
    return body


async def test_start_clears_what_the_team_prepared_in_its_namespace_beforehand(world: World) -> None:
    await world.cluster.ensure_namespace(NAMESPACE, team="blue")
    # The team gets ahead of the clock: its own frontend with a field the scenario never sets (server-side
    # apply would leave it in place), a ConfigMap and a bare Pod of its own.
    frontend = copy.deepcopy(CATALOG.get(2).scenario("image-pull").manifests[0].body)
    frontend["metadata"]["namespace"] = NAMESPACE
    frontend["spec"]["template"]["metadata"]["annotations"] = {"prepared": "before the start"}
    world.kube.create("deployments", frontend, namespace=NAMESPACE)
    world.kube.create("configmaps", prepared("answers"), namespace=NAMESPACE)
    world.kube.create("pods", prepared("helper", "Pod"), namespace=NAMESPACE)
    # What the bot itself set up for the team stays.
    world.kube.create(
        "serviceaccounts", prepared("team-kubectl", "ServiceAccount", labels={MANAGED_BY: "kubecamp-bot"}), NAMESPACE
    )

    await world.service.start("blue", 2)
    deployment = world.kube.get("deployments", NAMESPACE, "frontend")
    assert deployment is not None
    assert "annotations" not in deployment["spec"]["template"]["metadata"]
    assert world.kube.get("configmaps", NAMESPACE, "answers") is None
    assert world.kube.get("pods", NAMESPACE, "helper") is None
    assert world.kube.get("serviceaccounts", NAMESPACE, "team-kubectl") is not None


async def test_with_another_challenge_running_only_the_new_challenges_objects_are_cleared(world: World) -> None:
    await world.service.start("blue", 5)
    running = {d["metadata"]["name"] for d in world.kube.objects("deployments", NAMESPACE)}
    world.kube.create("configmaps", prepared("notes-for-challenge-5"), namespace=NAMESPACE)
    await world.service.start("blue", 2)
    names = {d["metadata"]["name"] for d in world.kube.objects("deployments", NAMESPACE)}
    assert running < names  # challenge 5's objects are still there, challenge 2's went in beside them
    assert world.kube.get("configmaps", NAMESPACE, "notes-for-challenge-5") is not None


async def test_a_namespace_that_cannot_be_cleared_refuses_the_start_and_records_no_run(world: World) -> None:
    await world.cluster.ensure_namespace(NAMESPACE, team="blue")
    # A finalizer nobody removes: the ConfigMap stays Terminating for ever.
    world.kube.create("configmaps", prepared("stuck", finalizers=["example.com/hold"]), namespace=NAMESPACE)
    service = RunService(catalog=CATALOG, store=world.store, cluster=world.cluster, clock=world.clock, clear_wait=0.5)
    with pytest.raises(NamespaceNotCleared) as caught:
        await service.start("blue", 2)
    assert render(caught.value.message, "en") == (
        f"namespace {NAMESPACE} is being cleared before the start, and some objects are not gone yet: "
        "ConfigMap/stuck. Start again in a moment"
    )
    team = await world.store.teams.get("blue")
    assert team is not None and await world.store.runs.of_team(team.id) == []
    assert world.kube.objects("deployments", NAMESPACE) == []


async def test_api_errors_give_could_not_check_never_a_pass(world: World) -> None:
    challenge = CATALOG.get(2)
    await world.service.start("blue", 2)
    await fix(world, challenge, *(s.id for s in challenge.scenarios))
    world.kube.fail(403, verb="list", resource="pods")
    report = await world.service.verify("blue")
    assert report.ended is None and not report.all_passed
    unknown = [c for r in report.results for c in r.checks if c.status is Status.UNKNOWN]
    assert unknown
    assert "could not check: the bot's RBAC does not allow reading Pod (403)" in render(unknown[0].message, "en")
    assert all(s.status == "pending" for s in report.states)


async def test_api_timeouts_give_could_not_check(world: World, kube_cluster: KubeCluster) -> None:
    await world.service.start("blue", 2)
    # Only the verification has the short timeout: a start's applies may well take 0.3 s on a busy machine.
    impatient = Cluster.for_host(kube_cluster.url, timeout=0.3)
    service = RunService(catalog=CATALOG, store=world.store, cluster=impatient, clock=world.clock)
    try:
        world.kube.hang(verb="list", resource="deployments")
        report = await service.verify("blue")
        texts = [render(c.message, "en") for r in report.results for c in r.checks if c.status is Status.UNKNOWN]
        assert "could not check: the Kubernetes API did not answer within 0.3s" in texts
    finally:
        world.kube.clear_faults()
        await impatient.close()


async def test_a_failed_start_leaves_nothing_half_applied(world: World) -> None:
    world.kube.fail(500, verb="patch", resource="deployments", name="api-server")
    with pytest.raises(ClusterUnavailable):
        await world.service.start("blue", 2)
    team = await world.store.teams.get("blue")
    assert team is not None
    (run,) = await world.store.runs.of_team(team.id)
    assert run.status == "stopped"
    assert {a["name"] for a in run.applied} >= {"frontend"}  # the record of what had gone in
    assert world.kube.objects("deployments", NAMESPACE) == []  # and it was taken out again


async def test_missing_crds_refuse_the_start_before_anything_is_applied(world_without_crds: World) -> None:
    with pytest.raises(ChallengeUnavailable) as caught:
        await world_without_crds.service.start("blue", 5)
    text = render(caught.value.message, "en")
    assert "Prometheus (monitoring.coreos.com/v1)" in text and "VerticalPodAutoscaler" in text
    assert world_without_crds.kube.get("namespaces", None, NAMESPACE) is None


async def test_cluster_scope_scenarios_are_skipped_and_never_applied(world: World) -> None:
    report = await world.service.start("blue", 1)
    assert list(report.skipped) == ["control-plane"]
    assert "cannot be built in a team's namespace" in render(report.skipped["control-plane"], "en")
    states = {s.scenario_id: s.status for s in await world.store.runs.scenario_states(report.run.id)}
    assert states == {
        "control-plane": "skipped",
        "networking": "pending",
        "storage": "pending",
        "order-service": "pending",
    }
    assert not any(ref.kind == "Pod" for ref in report.applied)
    assert world.kube.get("pods", NAMESPACE, "kube-apiserver") is None
    # The skipped scenario's 25 of 90 time-box minutes leave the deadline: 90 × 65/90.
    assert report.run.deadline == T0 + timedelta(minutes=65)


@pytest.mark.parametrize(("minutes", "tier"), [(37, 100), (38, 80), (51, 80), (52, 60), (65, 60)])
async def test_a_perfect_run_without_its_skipped_scenario_scores_in_full(world: World, minutes: int, tier: int) -> None:
    challenge = CATALOG.get(1)
    await world.service.start("blue", 1)
    await fix(world, challenge, "networking", "storage", "order-service")
    world.clock.at(minutes)
    report = await world.service.verify("blue")
    assert report.ended is not None
    # 75 points are all there is to score: the tiers (50/70/90 min) shrink to 37/51/65 min.
    assert (report.ended.tier_percent, report.ended.points) == (tier, 75 * tier // 100)
    detail = render_.run_ended(report.ended, challenge, "en")["embeds"][0]["description"]
    assert f"{75 * tier // 100}/75 points" in detail


async def test_timeline_of_challenge_2(world: World) -> None:
    run = (await world.service.start("blue", 2)).run
    entries = timeline(CATALOG.get(2), run)
    assert entries[0].due is Due.AUTO_VERIFY and entries[0].at == T0 + timedelta(minutes=20)
    assert entries[-1].due is Due.FINAL and entries[-1].at == T0 + timedelta(minutes=90)
    hints = [(e.at - T0, e.scenario_id, e.level) for e in entries if e.due is Due.HINT]
    assert (timedelta(minutes=20), "image-pull", 0) in hints
    assert (timedelta(minutes=40), "image-pull", 2) in hints
    assert len(hints) == sum(len(s.spec.hints) for s in CATALOG.get(2).scenarios)


async def test_after_start_rollout_undo_brings_back_the_good_revision(world: World, tmp_path: Path) -> None:
    await world.service.start("blue", 2)
    kubectl = Kubectl(world.kube.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")
    await kubectl("rollout", "undo", "deployment/frontend", "-n", NAMESPACE)
    report = await world.service.verify("blue")
    assert {r.scenario_id: r.status for r in report.results}["image-pull"] is Status.PASS
