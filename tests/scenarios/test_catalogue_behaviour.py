"""Every namespaced scenario of the shipped catalogue, against the emulated cluster.

The broken state is built as a run builds it (`apply_scenario`: a previous revision, then the broken
manifests, with the bot's own server-side apply); the behaviour simulator
derives pod, deployment, PVC and endpoint status from them; the scenario's checks must fail with
the reasons below. Then the solution is applied as a student would (`apply_like_a_student`, the
preflight's: kubectl apply; an object whose immutable fields changed is deleted and created again) and
every check must pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.challenges import preflight
from bot.challenges.catalog import Catalog, Scenario, load_catalog
from bot.challenges.checks import Status
from bot.challenges.deploy import apply_scenario
from bot.cluster import Cluster
from bot.i18n import render
from tests.emulators.kube import KubeCluster

CATALOG: Catalog = load_catalog(Path(__file__).parents[2] / "scenarios", solutions=True)
NAMESPACE = "kubecamp-blue"

# (challenge, scenario) → texts that must appear among the failure reasons of the broken state.
EXPECTED_FAILURES: dict[tuple[int, str], list[str]] = {
    (2, "image-pull"): ["Deployment frontend: 0/3 available", "ImagePullBackOff (image nginx:1.27-alpinee)"],
    (2, "unschedulable"): ["Pending", "Insufficient cpu", "requests more cpu"],
    (2, "rolling-update"): ["Deployment api-server: 0/5 available", "lets 5 of 5 Pods go down at once"],
    (2, "node-affinity"): ["no node satisfies the Pods' required placement", "didn't match Pod's node affinity"],
    (1, "networking"): ["Service user-service: no endpoints", "Service product-service: no endpoints"],
    (1, "storage"): ['"fast-ssd-nonexistent" not found', "NodePath only supports ReadWriteOnce"],
    (1, "order-service"): ["Deployment order-service: 0/5 available", "livenessProbe does not wait long enough"],
    (5, "traffic-spike"): ["cannot grow past MAXPODS 2"],
    (5, "monitoring"): ["selects no ServiceMonitor"],
    (5, "logging"): ["still points to the wrong place", "Deployment fluent-bit: 0/1 available"],
    (5, "autoscaling-conflict"): ["both HPA recommendation-engine-hpa and VPA"],
}

# A variant's scenarios taken from another challenge (scenarios_of) are that challenge's, tested there once.
INHERITED = {
    (challenge.id, scenario.id)
    for challenge in CATALOG
    for scenario in challenge.scenarios
    if scenario.manifests and challenge.folder.resolve() not in scenario.manifests[0].path.resolve().parents
}
NAMESPACED = [
    pytest.param(challenge.id, scenario.id, id=f"{challenge.id}-{scenario.id}")
    for challenge in CATALOG
    for scenario in challenge.scenarios
    if scenario.spec.scope == "namespace" and (challenge.id, scenario.id) not in INHERITED
]


def test_a_variant_takes_its_scenarios_unchanged() -> None:
    variant, original = CATALOG.get(21), CATALOG.get(2)
    # and drill 91 breaks challenge 2's image pull unannounced (tests/challenges/test_catalog_drill.py)
    assert {(21, s.id) for s in original.scenarios} | {(91, "image-pull")} == INHERITED
    for scenario in original.scenarios:
        taken = variant.scenario(scenario.id)
        assert taken.checks == scenario.checks
        for mine, theirs in ((taken.manifests, scenario.manifests), (taken.previous, scenario.previous)):
            assert [(m.path.resolve(), m.body) for m in mine] == [(m.path.resolve(), m.body) for m in theirs]


def test_every_namespaced_scenario_has_expected_failures() -> None:
    assert {(c, s) for c, s in (p.values for p in NAMESPACED)} == set(EXPECTED_FAILURES)


async def reasons(cluster: Cluster, scenario: Scenario) -> list[tuple[Status, str]]:
    snapshot = await cluster.snapshot(NAMESPACE, scenario.kinds)
    return [
        (outcome.status, render(outcome.message, "en"))
        for check in scenario.checks
        for outcome in [check.evaluate(snapshot)]
    ]


async def apply_like_a_student(cluster: Cluster, scenario: Scenario) -> None:
    """The preflight's way of applying a solution, in the team namespace these tests use."""
    await preflight.apply_like_a_student(cluster, NAMESPACE, scenario)


@pytest.mark.parametrize(("challenge_id", "scenario_id"), NAMESPACED)
async def test_broken_state_fails_and_solution_passes(
    cluster: Cluster, kube_cluster: KubeCluster, challenge_id: int, scenario_id: str
) -> None:
    scenario = CATALOG.get(challenge_id).scenario(scenario_id)
    kube_cluster.freeze_time()  # the broken state is read at the moment of the apply
    await apply_scenario(cluster, NAMESPACE, scenario)

    broken = await reasons(cluster, scenario)
    assert any(status is Status.FAIL for status, _ in broken), broken
    assert all(status is not Status.UNKNOWN for status, _ in broken), broken
    text = "\n".join(message for _, message in broken)
    for expected in EXPECTED_FAILURES[(challenge_id, scenario_id)]:
        assert expected in text, f"{expected!r} not in:\n{text}"

    await apply_like_a_student(cluster, scenario)
    fixed = await reasons(cluster, scenario)
    assert all(status is Status.PASS for status, _ in fixed), fixed


async def test_a_fluent_bit_fix_counts_only_once_it_reaches_the_running_pod(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    """Fluent Bit reads its configuration at start: the fixed ConfigMap alone leaves the running Pod
    failing its health check, and the scenario unsolved, until the Deployment is restarted."""
    scenario = CATALOG.get(5).scenario("logging")
    await apply_scenario(cluster, NAMESPACE, scenario)
    fixed_config = next(m for m in scenario.solution if m.ref.kind == "ConfigMap" and m.ref.name == "fluent-bit-config")
    await cluster.apply(NAMESPACE, fixed_config.body)
    outcomes = await reasons(cluster, scenario)
    assert outcomes[0][0] is Status.PASS, outcomes
    assert outcomes[1][0] is Status.FAIL and "Deployment fluent-bit: 0/1 available" in outcomes[1][1], outcomes
