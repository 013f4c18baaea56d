"""The cluster context's text within its size: no fence that closes the caller's, lines cut, oldest Events
and then the last Pods left out with a line that says so."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.cluster import Cluster
from bot.incidents.enrich import cluster_context
from bot.incidents.fit import LINE_MAX
from bot.incidents.targets import MAX_PODS
from bot.limits import text_size
from tests.emulators.kube import KubeCluster
from tests.incidents.conftest import CATALOG, NAMESPACE, context, now


async def test_label_values_cannot_break_the_callers_code_block(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    # Label values are the webhook's, not the cluster's: they cannot break the caller's code block either.
    odd = await context(cluster, kube_cluster, pod="x```\n@here", deployment="y" * 300)
    assert odd.text.splitlines()[0] == "pod/xˋˋˋ @here: not found"
    assert all(text_size(line) <= LINE_MAX for line in odd.text.splitlines())


def many_replicas_with_a_long_image(replicas: int) -> dict[str, Any]:
    body = copy.deepcopy(CATALOG.get(2).scenario("image-pull").manifests[0].body)
    assert body["kind"] == "Deployment"
    body["spec"]["replicas"] = replicas
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "registry.example.com/" + "team/" * 60 + "frontend:```v1"
    container["resources"] = {}
    return body


@pytest.mark.parametrize("max_chars", [1500, 600, 120, 1])
async def test_many_pods_and_long_events_stay_within_max_chars(
    cluster: Cluster, kube_cluster: KubeCluster, max_chars: int
) -> None:
    await cluster.apply(NAMESPACE, many_replicas_with_a_long_image(30))
    assert len(kube_cluster.events(NAMESPACE)) > 100
    at = now(kube_cluster)

    found = await cluster_context(
        cluster, {"namespace": NAMESPACE, "deployment": "frontend"}, now=at, max_chars=max_chars
    )
    assert found is not None
    assert len(found.pods) == MAX_PODS and found.pods_left_out == 30 - MAX_PODS
    assert len(found.events) == 8 and found.events_left_out > 0
    assert any("```" in e.message for e in found.events)  # the facts stay as the cluster said them
    assert text_size(found.text) <= max_chars
    assert "```" not in found.text
    if max_chars == 120:
        assert found.text.startswith("NAME  ") and "\npod/frontend-" in found.text and found.text.endswith("…")
    if max_chars == 1500:
        assert f"… {30 - MAX_PODS} more pods not shown" in found.text
        assert "older events not shown" in found.text
        assert all(text_size(line) <= LINE_MAX for line in found.text.splitlines())
