"""apply_scenario: the good revision is observed before the broken one goes in, within a bound."""

from __future__ import annotations

import time
from typing import Any

from bot.challenges.deploy import apply_scenario, wait_observed
from bot.cluster import Cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG, NAMESPACE


def image_of(workload: dict[str, Any]) -> str:
    image: str = workload["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


async def test_the_good_revision_becomes_revision_1_and_the_broken_one_revision_2(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    scenario = CATALOG.get(2).scenario("image-pull")
    applied = await apply_scenario(cluster, NAMESPACE, scenario)
    assert [str(ref) for ref in applied] == [str(m.ref) for m in scenario.manifests]
    revisions = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: image_of(rs)
        for rs in kube_cluster.objects("replicasets", NAMESPACE)
    }
    assert revisions == {"1": "nginx:1.27-alpine", "2": "nginx:1.27-alpinee"}


async def test_an_unreadable_deployment_list_bounds_the_wait_and_the_broken_state_still_goes_in(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    scenario = CATALOG.get(2).scenario("rolling-update")
    kube_cluster.fail(500, verb="list", resource="deployments")
    began = time.monotonic()
    await apply_scenario(cluster, NAMESPACE, scenario, rollout_wait=0.5)
    assert 0.5 <= time.monotonic() - began < 5
    deployment = kube_cluster.get("deployments", NAMESPACE, "api-server")
    assert deployment is not None
    assert image_of(deployment) == "nginx:1.27"


async def test_wait_observed_answers_at_once_once_the_controller_has_seen_the_spec(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    scenario = CATALOG.get(2).scenario("rolling-update")
    await cluster.ensure_namespace(NAMESPACE, team="blue")
    for manifest in scenario.previous:
        await cluster.apply(NAMESPACE, manifest.body)
    assert await wait_observed(cluster, NAMESPACE, {"api-server"}, within=0.1)
    assert not await wait_observed(cluster, NAMESPACE, {"no-such-deployment"}, within=0.1)
