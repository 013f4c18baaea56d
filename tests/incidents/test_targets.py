"""Which Pods and Events an alert's labels lead to, against the emulated cluster (through `cluster_context`)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from bot.cluster import Cluster
from bot.i18n import Message
from bot.incidents.kubectl import name_of
from bot.incidents.targets import MAX_PODS, Related, Wanted
from bot.snapshot import Snapshot
from tests.emulators.kube import KubeCluster
from tests.incidents.conftest import CATALOG, NAMESPACE, apply_scenario, context


async def test_a_deployment_label_shows_the_pods_of_its_replica_sets(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    found = await context(cluster, kube_cluster, deployment="frontend")
    assert [p.name for p in found.pods] == sorted(image_pull)
    assert all(p.status == "ImagePullBackOff" for p in found.pods)
    assert len(found.events) == 8 and found.events_left_out > 0
    assert f"… {found.events_left_out} older events not shown" in found.text
    for pod in image_pull:
        assert f"pod/{pod}" in found.text

    # The Service in front of it selects the same Pods.
    by_service = await context(cluster, kube_cluster, service="frontend")
    assert [p.name for p in by_service.pods] == sorted(image_pull)


async def test_a_deployment_label_still_finds_its_pods_when_replica_sets_cannot_be_listed(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    kube_cluster.fail(403, verb="list", resource="replicasets")
    found = await context(cluster, kube_cluster, deployment="frontend")
    assert [p.name for p in found.pods] == sorted(image_pull)
    assert found.not_listed == (("ReplicaSet", Message("cluster.forbidden", {"kind": "ReplicaSet"})),)
    assert "could not list replicasets: the bot's RBAC does not allow reading ReplicaSet (403)" in found.text


async def test_a_pod_that_is_gone_is_said_to_be_gone(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    found = await context(cluster, kube_cluster, pod="frontend-gone-12345")
    assert found.not_found == ("pod/frontend-gone-12345",)
    assert found.text == "pod/frontend-gone-12345: not found\n\nNo events found."


async def test_a_claim_and_an_autoscaler_lead_to_their_pods(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    await apply_scenario(cluster, 1, "storage")
    await apply_scenario(cluster, 5, "traffic-spike")
    kube_cluster.advance(120)

    claim = await context(cluster, kube_cluster, persistentvolumeclaim="postgres-data")
    assert [p.name.split("-")[0] for p in claim.pods] == ["postgres"]
    assert any(e.object == "persistentvolumeclaim/postgres-data" for e in claim.events), claim.text

    hpa = await context(cluster, kube_cluster, horizontalpodautoscaler="streaming-service-hpa")
    streaming = sorted(p["metadata"]["name"] for p in kube_cluster.pods_of(NAMESPACE, "streaming-service"))
    assert streaming and [p.name for p in hpa.pods] == streaming[:MAX_PODS]


async def test_a_statefulset_and_a_node_lead_to_their_pods(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    frontend = CATALOG.get(2).scenario("image-pull").manifests[0].body
    template = copy.deepcopy(frontend["spec"]["template"])
    template["metadata"]["labels"] = {"app": "cache"}
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "cache"},
        "spec": {
            "serviceName": "cache",
            "replicas": 2,
            "selector": {"matchLabels": {"app": "cache"}},
            "template": template,
        },
    }
    await cluster.apply(NAMESPACE, statefulset)

    found = await context(cluster, kube_cluster, statefulset="cache")
    assert [p.name for p in found.pods] == ["cache-0"]  # OrderedReady: cache-1 waits for cache-0
    assert {e.object for e in found.events} <= {"pod/cache-0", "statefulset/cache"}

    worker = {
        p["metadata"]["name"]
        for p in kube_cluster.objects("pods", NAMESPACE)
        if p["spec"].get("nodeName") == "kind-worker"
    }
    on_node = await context(cluster, kube_cluster, node="kind-worker")
    assert worker and {p.name for p in on_node.pods} == worker


def test_a_pod_held_by_its_readiness_gate_is_shown_among_the_ones_in_trouble() -> None:
    # Its containers are all ready (kubectl's READY 1/1), but the Pod is not Ready: the checks and the
    # Service's endpoints leave it out, so the alert is about it, whatever its name sorts like.
    serving, gated, replica_set = yaml.safe_load_all(
        (Path(__file__).parent / "fixtures" / "readiness-gate.yaml").read_text()
    )
    many = [copy.deepcopy(serving) for _ in range(MAX_PODS)]
    for i, pod in enumerate(many):
        pod["metadata"]["name"] = f"web-serving-{i}"
    gated["metadata"]["name"] = "web-zz-gated"
    snapshot = Snapshot("kubecamp-blue", items={"Pod": [*many, gated], "Event": [], "ReplicaSet": [replica_set]})

    related = Related(snapshot, Wanted.from_labels({"deployment": "web"}))
    shown, left_out = related.pods_to_show()
    assert len(related.pods) == MAX_PODS + 1
    assert "web-zz-gated" in [name_of(p) for p in shown] and left_out == 1
