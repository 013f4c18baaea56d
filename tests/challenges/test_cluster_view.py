"""The views beyond the team's namespace that a cluster-scope check reads (`bot.challenges.cluster_view`):
every namespace's Pods are listed a page at a time and capped like a snapshot's kinds, so a cluster with
more Pods than the bot reads is "could not check: too many objects", never a list held whole in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.challenges import cluster_view
from bot.challenges.checks.nodes import ALL_PODS
from bot.cluster import LIST_PAGE, MAX_LIST_ITEMS, Cluster
from bot.errors import ClusterForbidden
from bot.i18n import render
from bot.kinds import BY_NAME
from tests.challenges.test_breaking import own_cluster
from tests.emulators.kube import KubeCluster
from tests.test_cluster import pending_pod

NAMESPACES = ("default", "kube-public")


@pytest.fixture
async def blue(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[Cluster]:
    cluster = own_cluster(kube_cluster_without_crds)
    try:
        yield cluster
    finally:
        await cluster.close()


def fill(kube: KubeCluster, count: int) -> set[str]:
    """`count` Pods no node takes, spread over two namespaces; their names."""
    with kube.catching_up():
        for n in range(count):
            kube.create("pods", pending_pod(f"filler-{n:04}", 0), NAMESPACES[n % 2])
    return {f"filler-{n:04}" for n in range(count)}


def pod_pages(kube: KubeCluster, since: int) -> list[tuple[str | None, bool, str | None]]:
    return [
        (r.params.get("limit"), bool(r.params.get("continue")), r.params.get("fieldSelector"))
        for r in kube.requests[since:]
        if r.url.path == "/api/v1/pods"
    ]


async def test_every_namespaces_pods_are_read_a_page_at_a_time(
    blue: Cluster, kube_cluster_without_crds: KubeCluster
) -> None:
    kube = kube_cluster_without_crds
    names = fill(kube, LIST_PAGE + 3)
    before = len(kube.requests)
    taken = await cluster_view.snapshot(blue, "blue", "kubecamp-blue", [ALL_PODS])
    assert names <= {p["metadata"]["name"] for p in taken.list(ALL_PODS)}
    assert ALL_PODS not in taken.errors
    assert pod_pages(kube, before) == [(str(LIST_PAGE), False, None), (str(LIST_PAGE), True, None)]


async def test_more_pods_than_the_bot_reads_is_could_not_check(
    blue: Cluster, kube_cluster_without_crds: KubeCluster
) -> None:
    kube = kube_cluster_without_crds
    fill(kube, MAX_LIST_ITEMS + 1)
    taken = await cluster_view.snapshot(blue, "blue", "kubecamp-blue", [ALL_PODS])
    assert ALL_PODS not in taken.items
    assert render(taken.errors[ALL_PODS], "en") == (
        "too many objects: more Pod objects (or bigger ones) than the bot reads (at most 1000)"
    )


async def test_a_selected_listing_pages_with_its_selector(
    blue: Cluster, kube_cluster_without_crds: KubeCluster
) -> None:
    kube = kube_cluster_without_crds
    fill(kube, LIST_PAGE + 1)
    for name in ("bound-a", "bound-b"):
        pod = pending_pod(name, 0)
        pod["spec"] = {"nodeName": "kind-worker", "containers": [{"name": "app", "image": "nginx:1.27"}]}
        kube.create("pods", pod, "default")
    before = len(kube.requests)
    # what the exhausted-node break reads of a node: the Pods bound to it (none of the fillers is)
    bound = await blue.cluster_list("blue", BY_NAME["Pod"], field_selector="spec.nodeName=kind-worker")
    assert {p["metadata"]["name"] for p in bound} == {"bound-a", "bound-b"}
    assert pod_pages(kube, before) == [(str(LIST_PAGE), False, "spec.nodeName=kind-worker")]


async def test_listing_every_namespace_is_refused_on_a_cluster_not_the_teams(
    kube_cluster_without_crds: KubeCluster,
) -> None:
    shared = own_cluster(kube_cluster_without_crds, team=None)
    before = len(kube_cluster_without_crds.requests)
    try:
        with pytest.raises(ClusterForbidden):
            await shared.cluster_list("blue", BY_NAME["Pod"])
    finally:
        await shared.close()
    assert pod_pages(kube_cluster_without_crds, before) == []
