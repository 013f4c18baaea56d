"""A team namespace as the bot makes it, on the emulated API server with the chart's admission policy: its labels,
quota, limits and the RoleBinding of the team role; and what happens when the bot's own guard is not enough."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from kubernetes.aio import client as k8s

from bot import cluster as cluster_module
from bot.cluster import Cluster
from bot.errors import ClusterForbidden
from bot.kinds import ObjectRef
from bot.team_namespace import CONTAINER_DEFAULTS, QUOTA, SETUP_NAME, NamespaceSetup
from tests.emulators.admission import chart_settings
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster

pytest_plugins = ["tests.emulators.fixtures"]

NAMESPACE = "kubecamp-blue"
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"a": "b"}}


@pytest_asyncio.fixture
async def bot(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    client = bot_cluster(kube_cluster)
    yield client
    await client.close()


async def test_a_team_namespace_is_labelled_bounded_and_bound(bot: Cluster, kube_cluster: KubeCluster) -> None:
    await bot.ensure_namespace(NAMESPACE, team="blue")
    labels = kube_cluster.get("namespaces", None, NAMESPACE)["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/managed-by": "kubecamp-bot",
        "kubecamp.io/team": "blue",
        "kubernetes.io/metadata.name": NAMESPACE,
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    (binding,) = kube_cluster.objects("rolebindings", NAMESPACE)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": chart_settings()["KUBECAMP_KUBE_TEAM_ROLE"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubecamp-bot", "namespace": "kubecamp"}]
    (quota,) = kube_cluster.objects("resourcequotas", NAMESPACE)
    assert quota["metadata"]["name"] == SETUP_NAME and quota["spec"]["hard"] == QUOTA
    (limits,) = kube_cluster.objects("limitranges", NAMESPACE)
    assert limits["spec"]["limits"] == [{"type": "Container", **CONTAINER_DEFAULTS}]


async def test_no_compute_or_storage_quota_changes_how_a_scenario_breaks() -> None:
    """A compute quota refuses Pods without requests; a storage quota the storage scenario's 10Ti claim; a
    maximum the unschedulable scenario's oversized Pods: each would break differently from its checks."""
    assert not [resource for resource in QUOTA if "cpu" in resource or "memory" in resource or "storage" in resource]
    assert set(CONTAINER_DEFAULTS) == {"default", "defaultRequest"}


async def test_a_namespace_made_before_gets_set_up_at_its_next_start(bot: Cluster, kube_cluster: KubeCluster) -> None:
    kube_cluster.create("namespaces", NamespaceSetup().namespace(NAMESPACE, team="blue"))
    await bot.ensure_namespace(NAMESPACE, team="blue")
    assert len(kube_cluster.objects("rolebindings", NAMESPACE)) == 1
    # Another process (a restart) finds everything there: the 409s are not errors, nothing is doubled.
    again = bot_cluster(kube_cluster)
    try:
        await again.ensure_namespace(NAMESPACE, team="blue")
    finally:
        await again.close()
    assert [
        len(kube_cluster.objects(kind, NAMESPACE)) for kind in ("rolebindings", "resourcequotas", "limitranges")
    ] == [
        1,
        1,
        1,
    ]


async def test_a_namespace_deleted_and_made_again_is_set_up_again(bot: Cluster, kube_cluster: KubeCluster) -> None:
    await bot.ensure_namespace(NAMESPACE, team="blue")
    async with kube_cluster.api_client() as api:  # an instructor deletes it
        await k8s.CoreV1Api(api).delete_namespace(NAMESPACE)
    assert kube_cluster.get("namespaces", None, NAMESPACE) is None
    await bot.ensure_namespace(NAMESPACE, team="blue")
    assert [
        len(kube_cluster.objects(kind, NAMESPACE)) for kind in ("rolebindings", "resourcequotas", "limitranges")
    ] == [
        1,
        1,
        1,
    ]


async def test_a_binding_not_yet_in_effect_is_waited_for(bot: Cluster, kube_cluster: KubeCluster) -> None:
    """The API server's caches lag a new namespace and a new RoleBinding: a 404 or 403 right after is retried."""
    namespace_missing = kube_cluster.fail(404, verb="create", resource="rolebindings", times=2)
    not_bound_yet = kube_cluster.fail(403, verb="list", resource="configmaps", times=3)
    await bot.ensure_namespace(NAMESPACE, team="blue")
    assert (namespace_missing.hits, not_bound_yet.hits) == (2, 3)
    assert len(kube_cluster.objects("rolebindings", NAMESPACE)) == 1


async def test_a_binding_that_never_takes_effect_is_refused(
    bot: Cluster, kube_cluster: KubeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "PROPAGATION_SECONDS", 0.5)
    kube_cluster.fail(403, verb="list", resource="configmaps")
    with pytest.raises(ClusterForbidden):
        await bot.ensure_namespace(NAMESPACE, team="blue")


async def test_a_namespace_taken_from_the_bot_is_refused_by_the_cluster(
    bot: Cluster, kube_cluster: KubeCluster
) -> None:
    """The bot's guard trusts what it saw; once an instructor takes the namespace back (removes the label),
    the cluster refuses the bot's next write even though the bot still believes it may."""
    await bot.ensure_namespace(NAMESPACE, team="blue")
    await bot.apply(NAMESPACE, CONFIGMAP)
    namespace = kube_cluster.get("namespaces", None, NAMESPACE)
    del namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    async with kube_cluster.api_client() as api:  # the instructor, as the cluster's admin
        await k8s.CoreV1Api(api).replace_namespace(NAMESPACE, namespace)
    with pytest.raises(ClusterForbidden) as refused:
        await bot.apply(NAMESPACE, {**CONFIGMAP, "data": {"a": "changed"}})
    assert (
        "ValidatingAdmissionPolicy 'kubecamp-kubecamp-bot' with binding 'kubecamp-kubecamp-bot' denied request: "
        "kubecamp-bot writes only in namespaces labelled app.kubernetes.io/managed-by=kubecamp-bot"
    ) in str(refused.value)
    with pytest.raises(ClusterForbidden):
        await bot.delete(NAMESPACE, ObjectRef(api_version="v1", kind="ConfigMap", name="app-config"))
    assert [
        c["data"] for c in kube_cluster.objects("configmaps", NAMESPACE) if c["metadata"]["name"] == "app-config"
    ] == [{"a": "b"}]
