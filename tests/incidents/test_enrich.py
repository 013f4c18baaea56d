"""`cluster_context` against the emulated cluster: challenge 2's broken image pull, as an alert would name it.

The manifests go in through the bot's own server-side apply and the behaviour simulator derives every
status and Event; the tests only read what `cluster_context` makes of them.
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.challenges.catalog import Catalog, load_catalog
from bot.cluster import Cluster
from bot.i18n import Message
from bot.incidents.enrich import MAX_PODS, ClusterContext, cluster_context
from bot.limits import text_size
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster

CATALOG: Catalog = load_catalog(Path(__file__).parents[2] / "scenarios")
NAMESPACE = "kubecamp-blue"


async def apply_scenario(cluster: Cluster, challenge: int, scenario: str) -> None:
    for manifest in CATALOG.get(challenge).scenario(scenario).manifests:
        await cluster.apply(NAMESPACE, manifest.body)


@pytest.fixture
async def image_pull(cluster: Cluster, kube_cluster: KubeCluster) -> list[str]:
    """Challenge 2's frontend with a misspelt image, three minutes on; the names of its Pods."""
    await apply_scenario(cluster, 2, "image-pull")
    kube_cluster.advance(180)
    pods = [p["metadata"]["name"] for p in kube_cluster.pods_of(NAMESPACE, "frontend")]
    assert len(pods) == 3
    return pods


def now(kube_cluster: KubeCluster) -> datetime:
    return kube_cluster.emulator.clock.now()


async def context(cluster: Cluster, kube_cluster: KubeCluster, **labels: str) -> ClusterContext:
    found = await cluster_context(cluster, {"namespace": NAMESPACE, **labels}, now=now(kube_cluster))
    assert found is not None
    assert text_size(found.text) <= 1500
    assert "```" not in found.text
    return found


async def test_a_pod_label_shows_the_pod_its_image_pull_failure_and_its_events(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    pod = image_pull[0]
    found = await context(cluster, kube_cluster, pod=pod, container="frontend", alertname="KubecampImagePullFailing")

    assert found.namespace == NAMESPACE and found.subjects == (f"pod/{pod}",)
    (facts,) = found.pods
    assert (facts.name, facts.phase, facts.status, facts.ready, facts.total) == (
        pod,
        "Pending",
        "ImagePullBackOff",
        0,
        1,
    )
    assert [(c.name, c.state, c.reason) for c in facts.containers] == [("frontend", "waiting", "ImagePullBackOff")]
    assert {e.object for e in found.events} == {f"pod/{pod}"}
    assert any(
        e.type == "Warning" and e.reason == "Failed" and "Failed to pull image" in e.message for e in found.events
    )
    assert found.events == tuple(sorted(found.events, key=lambda e: e.last_seen or now(kube_cluster), reverse=True))

    lines = found.text.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split() == [f"pod/{pod}", "0/1", "ImagePullBackOff", "0", "3m"]
    assert "Error: ErrImagePull" in found.text
    failed = next(line for line in lines if 'Failed to pull image "nginx:1.27-alpinee"' in line)
    # pulled at 0, 10, 30, 70 and 150 s: the kubelet's back-off doubles between pulls
    assert failed.split()[:7] == ["30s", "(x5", "over", "3m)", "Warning", "Failed", f"pod/{pod}"]
    assert failed.endswith("…")  # the runtime's long message is cut to the line
    # kubectl's order: oldest first, so the last line is the newest Event.
    # back-off syncs every 10 s between the pulls: 20, 40-60, 80-140, 160-180 s
    assert lines[-1].split()[1:] == [
        "(x14",
        "over",
        "2m40s)",
        "Warning",
        "Failed",
        f"pod/{pod}",
        "Error:",
        "ImagePullBackOff",
    ]


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


async def test_events_that_cannot_be_listed_are_one_line_and_the_pods_are_still_shown(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    kube_cluster.fail(403, verb="list", resource="events")
    found = await context(cluster, kube_cluster, deployment="frontend")
    assert found.events == () and [p.name for p in found.pods] == sorted(image_pull)
    assert found.text.splitlines()[0] == "could not list events: the bot's RBAC does not allow reading Event (403)"
    assert "LAST SEEN" not in found.text and "No events found" not in found.text
    assert found.text.count("ImagePullBackOff") == 3


async def test_pods_that_do_not_answer_in_time_are_one_line_and_the_events_are_still_shown(
    kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    impatient = bot_cluster(kube_cluster, timeout=0.3)
    kube_cluster.hang(verb="list", resource="pods")
    try:
        found = await context(impatient, kube_cluster, pod=image_pull[0])
    finally:
        kube_cluster.clear_faults()
        await impatient.close()
    assert found.pods == () and found.events
    assert found.text.splitlines()[0] == "could not list pods: the Kubernetes API did not answer within 0.3s"
    assert "Error: ImagePullBackOff" in found.text


async def test_a_namespace_that_cannot_be_read_is_said_so(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    kube_cluster.fail(503, verb="get", resource="namespaces")
    found = await context(cluster, kube_cluster, pod=image_pull[0])
    assert found.unavailable is not None and found.pods == () and found.events == ()
    assert found.text == (
        "could not read the cluster: the Kubernetes API server answered with an error"
        " (`GET /api/v1/namespaces/kubecamp-blue`: HTTP 503)"
    )
    assert "\n" not in found.text


async def test_a_namespace_the_bot_does_not_manage_gives_nothing(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    kube_cluster.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-team"}})
    at = now(kube_cluster)
    assert await cluster_context(cluster, {"namespace": "kube-team", "deployment": "frontend"}, now=at) is None
    assert await cluster_context(cluster, {"namespace": "kubecamp-nobody", "deployment": "frontend"}, now=at) is None
    # A label that is not a namespace name never reaches the API server.
    before = len(kube_cluster.requests)
    assert await cluster_context(cluster, {"namespace": f"{NAMESPACE}/pods/x", "pod": "x"}, now=at) is None
    assert len(kube_cluster.requests) == before


@pytest.mark.parametrize(
    "labels",
    [
        {"namespace": NAMESPACE, "alertname": "KubecampSomething", "severity": "warning"},
        {"namespace": NAMESPACE, "pod": ""},
        {"deployment": "frontend"},
        {},
    ],
)
async def test_labels_that_name_no_object_give_nothing(
    cluster: Cluster, kube_cluster: KubeCluster, labels: dict[str, str]
) -> None:
    assert await cluster_context(cluster, labels, now=now(kube_cluster)) is None


async def test_a_pod_that_is_gone_is_said_to_be_gone(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    found = await context(cluster, kube_cluster, pod="frontend-gone-12345")
    assert found.not_found == ("pod/frontend-gone-12345",)
    assert found.text == "pod/frontend-gone-12345: not found\n\nNo events found."

    # Label values are the webhook's, not the cluster's: they cannot break the caller's code block either.
    odd = await context(cluster, kube_cluster, pod="x```\n@here", deployment="y" * 300)
    assert odd.text.splitlines()[0] == "pod/xˋˋˋ @here: not found"
    assert all(text_size(line) <= 160 for line in odd.text.splitlines())


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
        assert all(text_size(line) <= 160 for line in found.text.splitlines())


async def test_max_events_bounds_the_events(cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]) -> None:
    at = now(kube_cluster)
    labels = {"namespace": NAMESPACE, "pod": image_pull[0]}
    newest = await cluster_context(cluster, labels, now=at, max_events=2)
    assert newest is not None
    assert [e.message for e in newest.events] == [
        "Error: ImagePullBackOff",
        'Back-off pulling image "nginx:1.27-alpinee"',
    ]
    assert newest.events_left_out == 4
    none = await cluster_context(cluster, labels, now=at, max_events=0)
    assert none is not None and none.events == ()
    assert none.text.endswith("… 6 events not shown")
