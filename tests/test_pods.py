"""The reading of a Pod the checks and the incident threads share: kubectl's STATUS as printPod derives it,
from Pods the simulator ran through each state. (The checks' texts built on it are pinned in tests/challenges.)"""

from __future__ import annotations

from typing import Any

from bot.cluster import Cluster
from bot.kinds import ObjectRef
from bot.pods import kubectl_status, pod_ready, problems_of
from tests.emulators.kube import KubeCluster

NAMESPACE = "kubecamp-blue"  # the team namespace the `cluster` fixture makes
NGINX = {"name": "web", "image": "nginx:1.27-alpine"}


def pod(name: str, *containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": list(containers), "initContainers": list(init), **spec},
    }


def busybox(name: str, script: str) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script]}


async def statuses(cluster: Cluster, kube_cluster: KubeCluster, *pods: dict[str, Any]) -> dict[str, str]:
    """Each Pod's STATUS a minute after it was created (to the second: the back-offs are timed)."""
    kube_cluster.freeze_time()
    for body in pods:
        await cluster.apply(NAMESPACE, body)
    kube_cluster.advance(60)
    return {p["metadata"]["name"]: kubectl_status(p) for p in kube_cluster.objects("pods", NAMESPACE)}


async def test_status_names_what_the_containers_are_doing(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    found = await statuses(
        cluster,
        kube_cluster,
        pod("serving", NGINX),
        pod("crashing", busybox("main", "exit 1")),
        pod("done", busybox("main", "echo done; exit 0"), restartPolicy="Never"),
        pod("failed", busybox("main", "exit 2"), restartPolicy="Never"),
        pod("unplaced", NGINX, nodeSelector={"disktype": "nvme"}),
        pod("bad-image", {"name": "web", "image": "nginx:1.27-alpinee"}),
    )
    assert found == {
        "serving": "Running",
        "crashing": "CrashLoopBackOff",
        "done": "Completed",
        "failed": "Error",
        "unplaced": "Pending",
        "bad-image": "ImagePullBackOff",
    }


async def test_status_names_the_init_container_that_holds_the_pod(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    found = await statuses(
        cluster,
        kube_cluster,
        pod("init-crashing", NGINX, init=(busybox("setup", "exit 1"),)),
        pod("init-bad-image", NGINX, init=({"name": "setup", "image": "busybox:1.99-nope"},)),
        pod("initialised", NGINX, init=(busybox("setup", "echo ready; exit 0"),)),
        pod("init-running", NGINX, init=(busybox("setup", "sleep 3600"),)),
    )
    assert found == {
        "init-crashing": "Init:CrashLoopBackOff",
        "init-bad-image": "Init:ImagePullBackOff",
        "initialised": "Running",
        # An init container that runs holds the Pod: 0 of 1 done (only a sidecar, restartPolicy Always, does not).
        "init-running": "Init:0/1",
    }


async def test_a_pod_being_deleted_is_terminating(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    # A finalizer keeps the Pod after its deletion, with its deletionTimestamp set, as kubectl then sees it.
    body = pod("held", NGINX)
    body["metadata"]["finalizers"] = ["kubecamp.io/test-hold"]
    await statuses(cluster, kube_cluster, body)
    await cluster.delete(NAMESPACE, ObjectRef("v1", "Pod", "held"))
    (held,) = kube_cluster.objects("pods", NAMESPACE)
    assert held["metadata"].get("deletionTimestamp") and kubectl_status(held) == "Terminating"


async def test_a_finished_pod_being_deleted_keeps_its_last_status(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    body = pod("finished", busybox("main", "echo done; exit 0"), restartPolicy="Never")
    body["metadata"]["finalizers"] = ["kubecamp.io/test-hold"]
    await statuses(cluster, kube_cluster, body)
    await cluster.delete(NAMESPACE, ObjectRef("v1", "Pod", "finished"))
    (finished,) = kube_cluster.objects("pods", NAMESPACE)
    assert finished["metadata"].get("deletionTimestamp") and finished["status"]["phase"] == "Succeeded"
    assert kubectl_status(finished) == "Completed"


async def test_status_and_the_checks_problems_tell_the_same_story(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    kube_cluster.freeze_time()
    for body in (
        pod("serving", NGINX),
        pod("crashing", busybox("main", "exit 1")),
        pod("done", busybox("main", "echo done; exit 0"), restartPolicy="Never"),
        pod("failed", busybox("main", "exit 2"), restartPolicy="Never"),
        pod("unplaced", NGINX, nodeSelector={"disktype": "nvme"}),
        pod("init-crashing", NGINX, init=(busybox("setup", "exit 1"),)),
    ):
        await cluster.apply(NAMESPACE, body)
    kube_cluster.advance(60)
    read = {
        p["metadata"]["name"]: (kubectl_status(p), pod_ready(p), problems_of(p))
        for p in kube_cluster.objects("pods", NAMESPACE)
    }
    assert read["serving"] == ("Running", True, [])
    assert read["done"] == ("Completed", False, [])
    assert read["crashing"] == ("CrashLoopBackOff", False, ["CrashLoopBackOff (image busybox:1.36)"])
    assert read["init-crashing"] == ("Init:CrashLoopBackOff", False, ["CrashLoopBackOff (image busybox:1.36)"]), (
        "an init container's image as the spec names it, like any container's"
    )
    assert read["failed"] == ("Error", False, ["container main: Terminated (Error, exit code 2)"])
    status, ready, (problem,) = read["unplaced"]
    assert (status, ready) == ("Pending", False)
    assert problem.startswith("Unschedulable: 0/3 nodes are available:") and "node affinity/selector" in problem
