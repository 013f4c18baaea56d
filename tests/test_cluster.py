"""The Kubernetes API errors the bot counts, by reason, against the emulated API server's faults."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.cluster import LIST_PAGE, MAX_LIST_BYTES, MAX_LIST_ITEMS, Cluster
from bot.errors import ApplyFailed, ClusterForbidden, ClusterUnavailable, NamespaceNotManaged
from bot.i18n import LANGS, Message, render
from bot.metrics import KUBE_ERROR_REASONS, Metrics
from tests.emulators.fixtures import bot_cluster, chart_namespace_setup
from tests.emulators.kube import BOT_TOKEN, KubeCluster
from tests.i18n import korean


@pytest_asyncio.fixture
async def counted(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[tuple[Cluster, Metrics, KubeCluster]]:
    """A short timeout, for the hung request to time out soon; not so short that a loaded machine's answer does
    (half a second did, to the namespace's set-up, with every core busy)."""
    metrics = Metrics()
    client = Cluster.for_host(
        kube_cluster_without_crds.url, token=BOT_TOKEN, timeout=1.5, metrics=metrics, setup=chart_namespace_setup()
    )
    try:
        yield client, metrics, kube_cluster_without_crds
    finally:
        await client.close()


@pytest_asyncio.fixture
async def paged(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[tuple[Cluster, KubeCluster]]:
    """The bot's client with its usual timeout: a list of a thousand objects may meet a garbage collection
    pause on a busy machine, which `counted`'s short timeout would take for a timeout."""
    client = bot_cluster(kube_cluster_without_crds)
    try:
        yield client, kube_cluster_without_crds
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
    assert (await cluster.snapshot("kubecamp-blue", ["Service"])).errors["Service"].key == "cluster.server_error"
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


async def test_every_failure_tells_its_reason_in_the_catalogues_words(
    counted: tuple[Cluster, Metrics, KubeCluster],
) -> None:
    """A user reads why, never the client library's text; the API server's own answer to an invalid manifest
    is quoted, as kubectl prints it."""
    cluster, _, kube = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    invalid = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
    with pytest.raises(ApplyFailed) as rejected:
        await cluster.apply("kubecamp-blue", invalid)
    kube.fail(403, verb="delete", resource="deployments", times=1)
    with pytest.raises(ClusterForbidden) as denied:
        await cluster.delete("kubecamp-blue", await cluster.apply("kubecamp-blue", _deployment("api")))
    kube.fail(503, verb="list", resource="services", times=1)
    kube.hang(verb="list", resource="configmaps", times=1)
    snapshot = await cluster.snapshot("kubecamp-blue", ["Service", "ConfigMap"])
    kube.clear_faults()
    await kube.stop()
    with pytest.raises(ClusterUnavailable) as unreachable:
        await cluster.ping()

    reasons: dict[str, Message] = {
        "rejected": rejected.value.reason,
        "denied": denied.value.reason,
        "server_error": snapshot.errors["Service"],
        "timeout": snapshot.errors["ConfigMap"],
        "unavailable": unreachable.value.reason,
    }
    assert {name: reason.key for name, reason in reasons.items()} == {name: f"cluster.{name}" for name in reasons}
    assert reasons["server_error"].params == {"request": "GET /api/v1/namespaces/kubecamp-blue/services", "status": 503}
    assert reasons["rejected"].params["status"] == 422
    assert "spec.selector" in reasons["rejected"].params["answer"]  # the field the API server names
    for reason in reasons.values():
        for lang in LANGS:
            text = render(reason, lang)
            assert "aiohttp" not in text and "Cannot connect" not in text, text
        assert not korean.problems(render(reason, "ko")), render(reason, "ko")


def _deployment(name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": "nginx"}]}},
        },
    }


def pending_pod(name: str, padding: int) -> dict[str, object]:
    """A Pod no node will take (its nodeSelector matches none), carrying `padding` bytes of annotations."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": {"notes": "x" * padding}},
        "spec": {"nodeSelector": {"disk": "none"}, "containers": [{"name": "app", "image": "nginx:1.27"}]},
    }


async def test_a_kind_is_listed_a_page_at_a_time(paged: tuple[Cluster, KubeCluster]) -> None:
    cluster, kube = paged
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    for n in range(LIST_PAGE + 3):
        kube.create(
            "configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n:04}"}}, "kubecamp-blue"
        )
    before = len(kube.requests)
    snapshot = await cluster.snapshot("kubecamp-blue", ["ConfigMap"])
    names = [c["metadata"]["name"] for c in snapshot.list("ConfigMap") if c["metadata"]["name"] != "kube-root-ca.crt"]
    assert names == sorted(f"c{n:04}" for n in range(LIST_PAGE + 3))
    pages = [r for r in kube.requests[before:] if r.url.path.endswith("/configmaps")]
    assert [(r.params.get("limit"), bool(r.params.get("continue"))) for r in pages] == [
        (str(LIST_PAGE), False),
        (str(LIST_PAGE), True),
    ]


async def test_a_namespace_filled_to_exhaust_memory_is_too_many_objects(kube_cluster_without_crds: KubeCluster) -> None:
    kube = kube_cluster_without_crds
    cluster = bot_cluster(kube)
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    # A student's namespace: 1000 Pending Pods, 40 KB of annotations each (40 MB; the API allows 256 KB each).
    with kube.catching_up():
        for n in range(1000):
            kube.create("pods", pending_pod(f"filler-{n:04}", 40_000), "kubecamp-blue")
    before = len(kube.requests)
    tracemalloc.start()
    try:
        snapshot = await cluster.snapshot("kubecamp-blue", ["Pod"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await cluster.close()
    assert snapshot.errors["Pod"].key == "cluster.too_many"
    assert render(snapshot.errors["Pod"], "en") == (
        "too many objects: more Pod objects (or bigger ones) than the bot reads (at most 1000)"
    )
    # The bot stopped reading once past its budget: not every page was fetched.
    pages = [r for r in kube.requests[before:] if r.url.path.endswith("/pods")]
    assert len(pages) < 1000 // LIST_PAGE
    # The peak counts the emulator's own serialising of a page too (it runs in this process).
    assert peak < MAX_LIST_BYTES * 6, f"{peak / 2**20:.0f} MiB"


async def test_more_objects_than_a_snapshot_reads_is_too_many_objects(paged: tuple[Cluster, KubeCluster]) -> None:
    cluster, kube = paged
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    for n in range(MAX_LIST_ITEMS + 1):
        kube.create(
            "configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n:04}"}}, "kubecamp-blue"
        )
    snapshot = await cluster.snapshot("kubecamp-blue", ["ConfigMap"])
    assert snapshot.errors["ConfigMap"].key == "cluster.too_many"
