"""Lists page as the API server pages them: `limit`, `continue`, `remainingItemCount`, key order."""

from __future__ import annotations

import pytest
from kubernetes.aio import client as k8s

from tests.emulators.kube import KubeCluster

NS = "paging"


async def test_a_list_comes_a_page_at_a_time_in_name_order(kube_cluster: KubeCluster) -> None:
    kube_cluster.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name in ("c", "a", "e", "b", "d"):
        kube_cluster.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}, NS)
    async with kube_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        seen: list[list[str]] = []
        token: str | None = None
        while True:
            page = (
                await core.list_namespaced_config_map(NS, limit=2, _continue=token)
                if token
                else (await core.list_namespaced_config_map(NS, limit=2))
            )
            seen.append([c.metadata.name for c in page.items])
            token = page.metadata._continue
            if not token:
                assert page.metadata.remaining_item_count is None
                break
            assert page.metadata.remaining_item_count == 6 - 2 * len(seen)
        whole = await core.list_namespaced_config_map(NS)
    assert seen == [["a", "b"], ["c", "d"], ["e", "kube-root-ca.crt"]]
    assert whole.metadata._continue is None and len(whole.items) == 6


async def test_a_continue_token_that_is_not_one_is_a_bad_request(kube_cluster: KubeCluster) -> None:
    kube_cluster.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    async with kube_cluster.api_client() as api:
        with pytest.raises(k8s.ApiException) as caught:
            await k8s.CoreV1Api(api).list_namespaced_config_map(NS, limit=2, _continue="not-a-token")
    assert caught.value.status == 400
    assert "continue key is not valid" in str(caught.value.body)
