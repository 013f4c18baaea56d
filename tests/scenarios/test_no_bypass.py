"""A "fix" that sidesteps the problem does not pass.

For every namespaced scenario, the obvious bypasses are tried on the emulated cluster: deleting the
workload or renaming it, scaling it to 0 or 1, dropping its probes, running another application's image,
pointing the Service at a stand-in Pod, deleting the autoscaler, the ServiceMonitor or the ConfigMap that
the fault is about. Most start from the solution (everything else right), so the failure comes from the
pin itself, and each must leave the scenario unsolved with a reason that names what was sidestepped.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.challenges.catalog import Scenario
from bot.challenges.checks import Status
from bot.cluster import Cluster
from bot.i18n import render
from bot.kinds import ObjectRef
from tests.scenarios.test_catalogue_behaviour import CATALOG, NAMESPACE, NAMESPACED, apply_like_a_student

Body = dict[str, Any]


@dataclass(frozen=True)
class Bypass:
    name: str
    #: Applies to a scenario when it names this kind among its manifests (and, for pins, pins that field).
    applies: Callable[[Scenario], bool]
    attempt: Callable[[Cluster, Scenario], Awaitable[None]]
    #: A text that must appear among the failure reasons.
    says: str


def pins(scenario: Scenario) -> list[Any]:
    return [c for c in scenario.checks if c.check_name == "workload_pinned"]


def deployments(bodies: tuple[Any, ...]) -> list[Body]:
    return [copy.deepcopy(m.body) for m in bodies if m.body.get("kind") == "Deployment"]


def has_deployment(scenario: Scenario) -> bool:
    return bool(deployments(scenario.manifests))


async def delete_deployments(cluster: Cluster, scenario: Scenario) -> None:
    for manifest in scenario.manifests:
        await cluster.apply(NAMESPACE, manifest.body)
    for body in deployments(scenario.manifests):
        await cluster.delete(NAMESPACE, ObjectRef("apps/v1", "Deployment", body["metadata"]["name"]))


async def rename_deployments(cluster: Cluster, scenario: Scenario) -> None:
    await apply_like_a_student(cluster, scenario)
    for body in deployments(scenario.solution):
        await cluster.delete(NAMESPACE, ObjectRef("apps/v1", "Deployment", body["metadata"]["name"]))
        body["metadata"]["name"] += "-v2"
        await cluster.apply(NAMESPACE, body)


def scale_to(replicas: int) -> Callable[[Cluster, Scenario], Awaitable[None]]:
    async def attempt(cluster: Cluster, scenario: Scenario) -> None:
        for manifest in scenario.manifests:
            await cluster.apply(NAMESPACE, manifest.body)
        for body in deployments(scenario.manifests):
            body["spec"]["replicas"] = replicas
            await cluster.apply(NAMESPACE, body)

    return attempt


async def drop_probes(cluster: Cluster, scenario: Scenario) -> None:
    await apply_like_a_student(cluster, scenario)
    for body in deployments(scenario.solution):
        for container in body["spec"]["template"]["spec"]["containers"]:
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                container.pop(probe, None)
        await cluster.apply(NAMESPACE, body)


async def swap_image(cluster: Cluster, scenario: Scenario) -> None:
    await apply_like_a_student(cluster, scenario)
    for body in deployments(scenario.solution):
        for container in body["spec"]["template"]["spec"]["containers"]:
            container["image"] = "redis:7.4-alpine"
        await cluster.apply(NAMESPACE, body)


async def stand_in_pod(cluster: Cluster, scenario: Scenario) -> None:
    """A bare nginx Pod that answers, and the Services pointed at it instead of the workload."""
    await apply_like_a_student(cluster, scenario)
    stand_in = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stand-in", "labels": {"app": "stand-in"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine", "ports": [{"containerPort": 80}]}]},
    }
    await cluster.apply(NAMESPACE, stand_in)
    for manifest in scenario.solution:
        if manifest.body.get("kind") == "Service":
            service = copy.deepcopy(manifest.body)
            service["spec"]["selector"] = {"app": "stand-in"}
            for port in service["spec"]["ports"]:
                port["targetPort"] = 80
            await cluster.apply(NAMESPACE, service)


def delete_kind(kind: str, api_version: str) -> Callable[[Cluster, Scenario], Awaitable[None]]:
    async def attempt(cluster: Cluster, scenario: Scenario) -> None:
        await apply_like_a_student(cluster, scenario)
        for manifest in scenario.solution:
            if manifest.body.get("kind") == kind:
                await cluster.delete(NAMESPACE, ObjectRef(api_version, kind, manifest.body["metadata"]["name"]))

    return attempt


def names_kind(kind: str) -> Callable[[Scenario], bool]:
    return lambda scenario: any(m.body.get("kind") == kind for m in scenario.manifests)


def pinned(field: str, above: int = 0) -> Callable[[Scenario], bool]:
    def applies(scenario: Scenario) -> bool:
        values = [getattr(pin, field) for pin in pins(scenario)]
        return any(v and (not isinstance(v, int) or v > above) for v in values)

    return applies


def serves_through_a_pinned_service(scenario: Scenario) -> bool:
    return any(c.check_name == "service_endpoints_ready" and c.args().get("workload") for c in scenario.checks)


BYPASSES = [
    Bypass("delete the Deployment", has_deployment, delete_deployments, "does not exist"),
    Bypass("rename the Deployment", has_deployment, rename_deployments, "does not exist"),
    Bypass("scale to 0", has_deployment, scale_to(0), "scaled down to 0"),
    Bypass("scale to 1", pinned("replicas", above=1), scale_to(1), "scaled down to 1"),
    Bypass("drop the probes", pinned("probes"), drop_probes, "probe: probes are to be fixed, not removed"),
    Bypass("another image", pinned("images"), swap_image, "runs another application's image (redis:7.4-alpine)"),
    Bypass("a stand-in Pod", serves_through_a_pinned_service, stand_in_pod, "its endpoints are not Pods of"),
    Bypass(
        "delete the HPA",
        names_kind("HorizontalPodAutoscaler"),
        delete_kind("HorizontalPodAutoscaler", "autoscaling/v2"),
        "HorizontalPodAutoscaler",
    ),
    Bypass(
        "delete the ServiceMonitor",
        names_kind("ServiceMonitor"),
        delete_kind("ServiceMonitor", "monitoring.coreos.com/v1"),
        "ServiceMonitor streaming-metrics does not exist",
    ),
    Bypass("delete the ConfigMap", names_kind("ConfigMap"), delete_kind("ConfigMap", "v1"), "does not exist"),
]

CASES = [
    pytest.param(challenge_id, scenario_id, bypass, id=f"{challenge_id}-{scenario_id}-{bypass.name.replace(' ', '-')}")
    for param in NAMESPACED
    for challenge_id, scenario_id in [param.values]
    for bypass in BYPASSES
    if bypass.applies(CATALOG.get(int(str(challenge_id))).scenario(str(scenario_id)))
]


@pytest.mark.parametrize(("challenge_id", "scenario_id", "bypass"), CASES)
async def test_a_bypass_does_not_pass(cluster: Cluster, challenge_id: int, scenario_id: str, bypass: Bypass) -> None:
    scenario = CATALOG.get(challenge_id).scenario(scenario_id)
    await bypass.attempt(cluster, scenario)
    snapshot = await cluster.snapshot(NAMESPACE, scenario.kinds)
    outcomes = [check.evaluate(snapshot) for check in scenario.checks]
    failures = [render(o.message, "en") for o in outcomes if o.status is Status.FAIL]
    assert failures, [render(o.message, "en") for o in outcomes]
    assert any(bypass.says in failure for failure in failures), failures


def test_every_scenario_with_a_workload_is_tried() -> None:
    tried = {(c, s) for c, s, _ in (p.values for p in CASES)}
    with_workloads = {
        (c, s) for c, s in (p.values for p in NAMESPACED) if has_deployment(CATALOG.get(int(str(c))).scenario(str(s)))
    }
    assert with_workloads <= tried
