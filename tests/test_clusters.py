"""ClusterRegistry: which cluster a team works on, read from Secrets on the shared (emulated) cluster."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes.aio import client as k8s

from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.errors import ClusterUnavailable
from bot.i18n import render
from tests.emulators.fixtures import (
    BOT_NAMESPACE,
    bot_cluster,
    own_cluster_kubeconfig,
    own_cluster_token,
    register_own_cluster,
)
from tests.emulators.kube import KubeCluster


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def shared(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    client = bot_cluster(kube_cluster)
    yield client
    await client.close()


@pytest.fixture
async def registry(shared: Cluster) -> AsyncIterator[ClusterRegistry]:
    clusters = ClusterRegistry(shared=shared, namespace=BOT_NAMESPACE, refresh_seconds=0)
    yield clusters
    await clusters.close()


def kubeconfig_of(kube: KubeCluster, tmp_path: Path, team: str) -> str:
    return own_cluster_kubeconfig(kube, tmp_path / f"{team}.kubeconfig", team=team).read_text()


async def test_a_team_without_a_secret_is_on_the_shared_cluster(registry: ClusterRegistry, shared: Cluster) -> None:
    cluster = await registry.for_team("blue")
    assert cluster is shared and cluster.owner is None


async def test_a_registered_team_works_on_its_own_cluster_with_one_client(
    registry: ClusterRegistry,
    shared: Cluster,
    kube_cluster: KubeCluster,
    team_clusters: dict[str, KubeCluster],
    tmp_path: Path,
) -> None:
    register_own_cluster(kube_cluster, "blue", kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
    blue = await registry.for_team("blue")
    assert blue.owner == "blue" and blue.server == team_clusters["blue"].url
    assert await registry.for_team("blue") is blue  # made on first use, then the same client
    assert await registry.for_team("green") is shared
    await blue.ensure_namespace("kubecamp-blue", team="blue")
    assert team_clusters["blue"].get("namespaces", None, "kubecamp-blue") is not None
    assert kube_cluster.get("namespaces", None, "kubecamp-blue") is None


async def test_a_kubeconfig_context_named_in_the_secret_is_the_one_used(
    registry: ClusterRegistry, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    # One kubeconfig with both clusters' contexts, its current context green's: the Secret's `context` picks blue.
    blue = json.loads(kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
    green = json.loads(kubeconfig_of(team_clusters["green"], tmp_path, "green"))
    both = {
        **green,
        "clusters": green["clusters"] + blue["clusters"],
        "contexts": green["contexts"] + blue["contexts"],
        "users": green["users"] + blue["users"],
    }
    register_own_cluster(kube_cluster, "blue", json.dumps(both), context="kind-blue")
    assert (await registry.for_team("blue")).server == team_clusters["blue"].url


async def test_a_changed_secret_takes_effect_and_a_removed_one_puts_the_team_back(
    shared: Cluster, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    ticks = Ticks()
    registry = ClusterRegistry(shared=shared, namespace=BOT_NAMESPACE, refresh_seconds=10, clock=ticks)
    try:
        register_own_cluster(kube_cluster, "blue", kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
        first = await registry.for_team("blue")
        secret = kube_cluster.get("secrets", BOT_NAMESPACE, "blue-cluster")
        assert secret is not None
        secret["data"]["kubeconfig"] = base64.b64encode(
            kubeconfig_of(team_clusters["green"], tmp_path, "b").encode()
        ).decode()
        async with kube_cluster.api_client() as api:
            await k8s.CoreV1Api(api).replace_namespaced_secret("blue-cluster", BOT_NAMESPACE, secret)
        assert await registry.for_team("blue") is first  # read again only once refresh_seconds have passed
        ticks.now = 10
        moved = await registry.for_team("blue")
        assert moved is not first and moved.server == team_clusters["green"].url
        await first.ping()  # the replaced client still works for a request under way; closed with the registry
        async with kube_cluster.api_client() as api:
            await k8s.CoreV1Api(api).delete_namespaced_secret("blue-cluster", BOT_NAMESPACE)
        ticks.now = 20
        assert await registry.for_team("blue") is shared
    finally:
        await registry.close()


async def test_an_unusable_secret_is_its_teams_problem_only(
    registry: ClusterRegistry, shared: Cluster, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    config = json.loads(kubeconfig_of(kube_cluster, tmp_path, "blue"))
    config["users"][0]["user"] = {
        "exec": {"command": "gke-gcloud-auth-plugin", "apiVersion": "client.authentication.k8s.io/v1"}
    }
    register_own_cluster(kube_cluster, "blue", json.dumps(config))
    with pytest.raises(ClusterUnavailable) as caught:
        await registry.for_team("blue")  # never the shared cluster in its place
    assert render(caught.value.reason, "en") == (
        "the kubeconfig of team blue's cluster cannot be used: user kind-blue of "
        f"Secret {BOT_NAMESPACE}/blue-cluster authenticates with exec: the bot runs no command to log in; "
        "use a token or a client certificate"
    )
    assert await registry.for_team("green") is shared


async def test_a_secret_without_a_kubeconfig_and_two_secrets_for_one_team_are_refused(
    registry: ClusterRegistry, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    register_own_cluster(kube_cluster, "blue", "")  # an empty value: no kubeconfig in it
    with pytest.raises(ClusterUnavailable) as caught:
        await registry.for_team("blue")
    assert f"Secret {BOT_NAMESPACE}/blue-cluster has no key kubeconfig holding a kubeconfig" in render(
        caught.value.message, "en"
    )
    text = kubeconfig_of(kube_cluster, tmp_path, "green")
    register_own_cluster(kube_cluster, "green", text, name="green-a")
    register_own_cluster(kube_cluster, "green", text, name="green-b")
    with pytest.raises(ClusterUnavailable) as caught:
        await registry.for_team("green")
    assert "several Secrets register the cluster of team green: green-a, green-b" in render(caught.value.message, "en")


async def test_secrets_unreadable_later_keep_what_was_read(
    registry: ClusterRegistry,
    kube_cluster: KubeCluster,
    team_clusters: dict[str, KubeCluster],
    tmp_path: Path,
) -> None:
    with pytest.raises(ClusterUnavailable):  # never read yet: a team's cluster cannot be known
        kube_cluster.fail(503, verb="list", resource="secrets", times=1)
        await registry.for_team("blue")
    register_own_cluster(kube_cluster, "blue", kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
    blue = await registry.for_team("blue")
    kube_cluster.fail(503, verb="list", resource="secrets")
    assert await registry.for_team("blue") is blue


async def test_placements_show_the_server_and_whether_it_answers_never_the_token(
    registry: ClusterRegistry, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    register_own_cluster(kube_cluster, "blue", kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
    register_own_cluster(kube_cluster, "green", kubeconfig_of(team_clusters["green"], tmp_path, "green"))
    await team_clusters["green"].stop()
    blue, green, red = await registry.placements(["blue", "green", "red"])
    assert (blue.server, blue.own, blue.reachable) == (team_clusters["blue"].url, True, True)
    assert (green.server, green.own, green.reachable) == (team_clusters["green"].url, True, False)
    assert green.problem is not None and render(green.problem, "en") == "the Kubernetes API server cannot be reached"
    assert (red.server, red.own, red.reachable) == (kube_cluster.url, False, True)
    assert not any(own_cluster_token(team) in repr(p) for p in (blue, green, red) for team in ("blue", "green"))


async def test_placements_say_why_when_the_secrets_cannot_be_read(
    registry: ClusterRegistry, kube_cluster: KubeCluster
) -> None:
    kube_cluster.fail(403, verb="list", resource="secrets")
    (red,) = await registry.placements(["red"])
    assert (red.server, red.own, red.reachable) == (kube_cluster.url, False, False)
    assert red.problem is not None
    assert render(red.problem, "en") == (
        f"the bot's RBAC does not allow this request (`GET /api/v1/namespaces/{BOT_NAMESPACE}/secrets`: HTTP 403)"
    )


async def test_first_uses_at_once_make_one_client(
    registry: ClusterRegistry, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    register_own_cluster(kube_cluster, "blue", kubeconfig_of(team_clusters["blue"], tmp_path, "blue"))
    first, second, third = await asyncio.gather(*(registry.for_team("blue") for _ in range(3)))
    assert first is second is third
