"""pytest plugin: ``pytest_plugins = ["tests.emulators.fixtures"]``.

Fixtures (all function-scoped, all async):

* ``kube_cluster`` — a started ``KubeCluster`` with the CRDs installed;
* ``kube_cluster_without_crds`` — the same without the monitoring/VPA CRDs;
* ``kube_api`` — an official ``kubernetes.aio`` ``ApiClient`` for ``kube_cluster`` (closed afterwards);
* ``kubeconfig`` — a kubeconfig file pointing at ``kube_cluster``;
* ``cluster`` — the bot's ``Cluster`` client on ``kube_cluster``, ``kubecamp-blue`` a managed namespace;
* ``team_clusters`` — own clusters of the teams ``blue`` (HTTPS) and ``green``: one emulator each, on its own URL.

Several clusters at once are several ``KubeCluster``: each its own API server on its own port, its own nodes,
store and clock, so stopping one leaves the others answering. ``own_cluster_kubeconfig`` writes a team's
kubeconfig for one (context ``kind-<team>``, a token of its own: any token but the bot's is that cluster's admin),
``register_own_cluster`` makes the Secret an instructor makes by hand in the bot's namespace of the shared one.

``bot_cluster(kube)`` is the bot's client as the chart runs it: its ServiceAccount's token (the chart's
admission policy applies) and its settings (the team role it binds in every namespace it creates).
``install_chart(kube)`` makes the release namespace and what the chart's RBAC objects are (ClusterRoles, Roles
and their bindings, the bot's ServiceAccount), as `helm install` would: what the teams' tokens may do is then
decided by the chart's own roles.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from kubernetes.aio import client as k8s

from bot.cluster import Cluster
from bot.config import KubeSettings
from bot.team_namespace import NamespaceSetup

from .admission import RELEASE, RELEASE_NAMESPACE, chart_objects, chart_settings
from .kube import BOT_TOKEN, KubeCluster
from .resources import Obj

#: The bot's own namespace as the chart installs it: where a Secret registers a team's own cluster.
BOT_NAMESPACE = RELEASE_NAMESPACE


def chart_kube_environment() -> dict[str, str]:
    """The KUBECAMP_KUBE_* settings the chart's ConfigMap gives the bot that concern its rights: the team role
    it binds, its ServiceAccount, the Pod Security level, the teams' access, its namespace (where teams' own clusters
    are registered)."""
    wanted = {
        "KUBECAMP_KUBE_TEAM_ROLE",
        "KUBECAMP_KUBE_SERVICE_ACCOUNT",
        "KUBECAMP_KUBE_POD_SECURITY",
        "KUBECAMP_KUBE_BOT_NAMESPACE",
        "KUBECAMP_KUBE_TEAM_ACCESS_ROLE",
        "KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE",
        "KUBECAMP_KUBE_TEAM_TOKEN_HOURS",
    }
    return {k: v for k, v in chart_settings().items() if k in wanted}


def chart_kube_settings(**more: object) -> KubeSettings:
    """KubeSettings with those settings (and `more` fields)."""
    fields = {k.removeprefix("KUBECAMP_KUBE_").lower(): v for k, v in chart_kube_environment().items()}
    return KubeSettings.model_validate({**fields, **more})


def chart_namespace_setup() -> NamespaceSetup:
    """How the bot sets up team namespaces with the chart's settings."""
    return chart_kube_settings().namespace_setup


def bot_cluster(kube: KubeCluster, *, timeout: float = 10.0) -> Cluster:
    """The bot's own client, as the chart runs it; the caller closes it."""
    return Cluster.for_host(kube.url, token=BOT_TOKEN, timeout=timeout, setup=chart_namespace_setup())


def own_cluster_token(team: str) -> str:
    """The bearer token of a team's own cluster's kubeconfig: distinct per team, so a test can look for it."""
    return f"own-cluster-credential-of-{team}"


def own_cluster_kubeconfig(kube: KubeCluster, path: Path, *, team: str) -> Path:
    """A kubeconfig for `kube` as a team's own cluster (context `kind-<team>`, `own_cluster_token(team)`)."""
    return kube.write_kubeconfig(path, token=own_cluster_token(team), context=f"kind-{team}")


def register_own_cluster(
    shared: KubeCluster, team: str, kubeconfig: str, *, name: str | None = None, context: str | None = None
) -> Obj:
    """The Secret an instructor makes by hand on the shared cluster (`kubectl create secret generic
    --from-file=kubeconfig=…`, then `kubectl label … kubecamp.io/team=<team>`)."""
    if shared.get("namespaces", None, BOT_NAMESPACE) is None:
        shared.create("namespaces", {"metadata": {"name": BOT_NAMESPACE}})
    data = {"kubeconfig": base64.b64encode(kubeconfig.encode()).decode()}
    if context is not None:
        data["context"] = base64.b64encode(context.encode()).decode()
    secret = {
        "metadata": {"name": name or f"{team}-cluster", "labels": {"kubecamp.io/team": team}},
        "type": "Opaque",
        "data": data,
    }
    return shared.create("secrets", secret, namespace=BOT_NAMESPACE)


@pytest_asyncio.fixture
async def team_clusters() -> AsyncIterator[dict[str, KubeCluster]]:
    # blue's over HTTPS (a kubeconfig with its CA, as a real cluster's), green's over plain HTTP.
    async with KubeCluster(crds=True, tls=True) as blue, KubeCluster(crds=True) as green:
        yield {"blue": blue, "green": green}


#: The chart's objects that say who may do what, in the order `helm install` applies them.
_RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


def install_chart(kube: KubeCluster) -> None:
    """The release namespace and the chart's RBAC objects, made as the cluster's admin (idempotent)."""
    if kube.get("namespaces", None, RELEASE_NAMESPACE) is None:
        kube.create("namespaces", {"metadata": {"name": RELEASE_NAMESPACE}})
    with kube.catching_up():
        for kind in _RBAC_KINDS:
            for obj in chart_objects(kind):
                namespace = RELEASE_NAMESPACE if kind in ("ServiceAccount", "Role", "RoleBinding") else None
                if kube.get(kind, namespace, obj["metadata"]["name"]) is None:
                    kube.create(kind, obj, namespace)
    assert kube.get("serviceaccounts", RELEASE_NAMESPACE, RELEASE) is not None


@pytest_asyncio.fixture
async def kube_cluster() -> AsyncIterator[KubeCluster]:
    async with KubeCluster(crds=True) as cluster:
        yield cluster


@pytest_asyncio.fixture
async def kube_cluster_without_crds() -> AsyncIterator[KubeCluster]:
    async with KubeCluster(crds=False) as cluster:
        yield cluster


@pytest_asyncio.fixture
async def kube_api(kube_cluster: KubeCluster) -> AsyncIterator[k8s.ApiClient]:
    async with kube_cluster.api_client() as api:
        yield api


@pytest_asyncio.fixture
async def kubeconfig(kube_cluster: KubeCluster, tmp_path: Path) -> Path:
    return kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")


@pytest_asyncio.fixture
async def cluster(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    """The bot's own `Cluster` client on the emulated API server, with kubecamp-blue a managed team namespace."""
    client = bot_cluster(kube_cluster)
    await client.ensure_namespace("kubecamp-blue", team="blue")
    yield client
    await client.close()
