"""`cluster_context` against the emulated cluster: challenge 2's broken image pull, as an alert would name it.

The manifests go in through the bot's own server-side apply and the behaviour simulator derives every
status and Event; the tests only read what `cluster_context` makes of them. Which objects the labels lead
to is tested in test_targets.py, the text's size in test_fit.py.
"""

from __future__ import annotations

import pytest

from bot.cluster import MAX_LIST_ITEMS, Cluster
from bot.incidents.enrich import cluster_context
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.incidents.conftest import NAMESPACE, context, now


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


async def test_an_alert_about_one_pod_reads_only_that_pod_and_its_events_however_full_the_namespace(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    # The team filled its namespace past what a snapshot reads of a kind: a whole list would be "too many".
    with kube_cluster.catching_up():
        for n in range(MAX_LIST_ITEMS + 1):
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"filler-{n:04}"},
                "spec": {"nodeSelector": {"disk": "none"}, "containers": [{"name": "app", "image": "nginx:1.27"}]},
            }
            kube_cluster.create("pods", pod, NAMESPACE)
    before = len(kube_cluster.requests)
    pod = image_pull[0]
    found = await context(cluster, kube_cluster, pod=pod, alertname="KubecampImagePullFailing")
    assert [p.name for p in found.pods] == [pod] and found.not_listed == ()
    assert {e.object for e in found.events} == {f"pod/{pod}"}
    lists = {r.url.path.rsplit("/", 1)[-1]: r.params.get("fieldSelector") for r in kube_cluster.requests[before:]}
    assert lists["pods"] == f"metadata.name={pod}"
    assert lists["events"] == f"involvedObject.kind=Pod,involvedObject.name={pod}"

    # An alert about a Deployment lists the namespace, and says it could not read that many Pods (nor the
    # scheduler's Event about each of them).
    crowded = await context(cluster, kube_cluster, deployment="frontend", alertname="KubecampImagePullFailing")
    assert {kind: reason.key for kind, reason in crowded.not_listed} == {
        "Event": "cluster.too_many",
        "Pod": "cluster.too_many",
    }


async def test_a_pod_label_that_is_no_pod_name_never_goes_into_a_selector(
    cluster: Cluster, kube_cluster: KubeCluster, image_pull: list[str]
) -> None:
    before = len(kube_cluster.requests)
    found = await context(cluster, kube_cluster, pod="x,metadata.name!=y", alertname="KubecampImagePullFailing")
    assert found.pods == () and found.not_found
    assert all("fieldSelector" not in r.params for r in kube_cluster.requests[before:])
