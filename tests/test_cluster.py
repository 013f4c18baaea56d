"""The Kubernetes API errors the bot counts, by reason, against the emulated API server's faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.cluster import Cluster
from bot.errors import ApplyFailed, ClusterUnavailable, NamespaceNotManaged
from bot.metrics import KUBE_ERROR_REASONS, Metrics
from tests.emulators.kube import KubeCluster


@pytest_asyncio.fixture
async def counted(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[tuple[Cluster, Metrics, KubeCluster]]:
    metrics = Metrics()
    client = Cluster.for_host(kube_cluster_without_crds.url, token="kubecamp-test-token", timeout=0.5, metrics=metrics)
    try:
        yield client, metrics, kube_cluster_without_crds
    finally:
        await client.close()


def errors(metrics: Metrics) -> dict[str, float]:
    counts = {
        reason: metrics.registry.get_sample_value("kubecamp_kubernetes_api_errors_total", {"reason": reason})
        for reason in KUBE_ERROR_REASONS
    }
    return {reason: count for reason, count in counts.items() if count}


async def test_expected_404s_are_not_errors(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, metrics, _ = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")  # looked up (404), then created
    snapshot = await cluster.snapshot("kubecamp-blue", ["Pod", "ServiceMonitor"])
    assert snapshot.errors["ServiceMonitor"].key == "cluster.crd_missing"
    assert errors(metrics) == {"not_found": 1}  # the list of a kind whose CRD is not installed


async def test_each_failure_is_counted_by_its_reason(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, metrics, kube = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
    kube.fail(403, verb="list", resource="pods", times=1)
    snapshot = await cluster.snapshot("kubecamp-blue", ["Pod"])
    assert snapshot.errors["Pod"].key == "cluster.forbidden"
    kube.fail(422, verb="patch", resource="deployments", times=1)
    with pytest.raises(ApplyFailed):
        await cluster.apply("kubecamp-blue", deployment)
    kube.fail(500, verb="list", resource="services", times=1)
    assert (await cluster.snapshot("kubecamp-blue", ["Service"])).errors["Service"].key == "cluster.unavailable"
    kube.hang(verb="list", resource="configmaps", times=1)
    assert (await cluster.snapshot("kubecamp-blue", ["ConfigMap"])).errors["ConfigMap"].key == "cluster.timeout"
    kube.clear_faults()
    await kube.stop()
    with pytest.raises(ClusterUnavailable):
        await cluster.ping()
    assert errors(metrics) == {"forbidden": 1, "invalid": 1, "server_error": 1, "timeout": 1, "unreachable": 1}


async def test_only_a_namespace_the_bot_made_is_deleted(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, _, kube = counted
    await cluster.ensure_namespace("kubecamp-preflight-1", team="preflight")
    kube.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    with pytest.raises(NamespaceNotManaged):
        await cluster.delete_namespace("payments")
    assert kube.get("namespaces", None, "payments") is not None
    assert await cluster.delete_namespace("kubecamp-preflight-1") is True
    assert kube.get("namespaces", None, "kubecamp-preflight-1") is None
    assert await cluster.delete_namespace("kubecamp-preflight-1") is False  # already gone
    with pytest.raises(NamespaceNotManaged):  # and no longer trusted as the bot's for writes
        await cluster.apply(
            "kubecamp-preflight-1", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        )
