"""pytest plugin: ``pytest_plugins = ["tests.emulators.fixtures"]``.

Fixtures (all function-scoped, all async):

* ``kube_cluster`` — a started ``KubeCluster`` with the CRDs installed;
* ``kube_cluster_without_crds`` — the same without the monitoring/VPA CRDs;
* ``kube_api`` — an official ``kubernetes.aio`` ``ApiClient`` for ``kube_cluster`` (closed afterwards);
* ``kubeconfig`` — a kubeconfig file pointing at ``kube_cluster``;
* ``cluster`` — the bot's ``Cluster`` client on ``kube_cluster``, ``kubecamp-blue`` a managed namespace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from kubernetes.aio import client as k8s

from bot.cluster import Cluster

from .kube import KubeCluster


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
    client = Cluster.for_host(kube_cluster.url, token="kubecamp-test-token")
    await client.ensure_namespace("kubecamp-blue", team="blue")
    yield client
    await client.close()
