"""Nodes as the cluster-scope scenarios use them: cordon, NoExecute taints, the control plane's static Pods,
and a hostPath Pod's script on a node's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from kubernetes.aio import client as k8s

from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl
from tests.emulators_selftest.conftest import NS

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"


def pinned_pod(name: str, node: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": node},
            "containers": [{"name": "web", "image": "nginx:1.27"}],
            **spec,
        },
    }


async def test_cordon_taints_the_node_and_the_scheduler_says_so(
    api: k8s.ApiClient, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    kubectl = Kubectl(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")
    await kubectl("cordon", "kind-worker")
    node = kube_cluster.get("nodes", None, "kind-worker")
    assert node is not None
    assert node["spec"]["taints"] == [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    await k8s.CoreV1Api(api).create_namespaced_pod(NS, pinned_pod("web", "kind-worker"))
    pod = kube_cluster.get("pods", NS, "web")
    assert pod is not None
    assert pod["status"]["conditions"][0]["message"] == (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated "
        "taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are "
        "available: 3 Preemption is not helpful for scheduling."
    )
    await kubectl("uncordon", "kind-worker")
    node = kube_cluster.get("nodes", None, "kind-worker")
    pod = kube_cluster.get("pods", NS, "web")
    assert node is not None and pod is not None
    assert "taints" not in node["spec"]
    assert pod["spec"]["nodeName"] == "kind-worker"


async def test_a_no_execute_taint_evicts_what_does_not_tolerate_it(
    api: k8s.ApiClient, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    core = k8s.CoreV1Api(api)
    await core.create_namespaced_pod(NS, pinned_pod("plain", "kind-worker"))
    tolerating = [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
    await core.create_namespaced_pod(NS, pinned_pod("tolerating", "kind-worker", tolerations=tolerating))
    kubectl = Kubectl(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")
    await kubectl("taint", "nodes", "kind-worker", "dedicated=db:NoExecute")
    assert [p["metadata"]["name"] for p in kube_cluster.objects("pods", NS)] == ["tolerating"]
    (event,) = kube_cluster.events(NS, name="plain", reason="TaintManagerEviction")
    assert (event["type"], event["message"]) == ("Normal", f"Marking for deletion Pod {NS}/plain")
    assert event["source"]["component"] == "taint-eviction-controller"


async def test_the_kubelet_runs_the_control_plane_from_its_manifests(kube_cluster: KubeCluster) -> None:
    mirror = kube_cluster.get("pods", "kube-system", "kube-apiserver-kind-control-plane")
    assert mirror is not None
    assert mirror["metadata"]["labels"]["component"] == "kube-apiserver"
    assert mirror["metadata"]["annotations"]["kubernetes.io/config.source"] == "file"
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert mirror["status"]["phase"] == "Running"
    assert mirror["status"]["podIP"] == "172.18.0.2"  # hostNetwork: the node's address

    # A changed file is a new static Pod; a wrong etcd port makes it exit, and the API server stop answering.
    original = kube_cluster.read_node_file("kind-control-plane", MANIFEST)
    assert original is not None
    kube_cluster.freeze_time()
    kube_cluster.write_node_file("kind-control-plane", MANIFEST, original.replace(":2379", ":2380"))
    restarted = kube_cluster.get("pods", "kube-system", "kube-apiserver-kind-control-plane")
    assert restarted is not None and restarted["metadata"]["uid"] != mirror["metadata"]["uid"]
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(f"{kube_cluster.url}/version") as response:
                answered: int | str = response.status
        except aiohttp.ClientError as exc:
            answered = type(exc).__name__
    assert answered == "ServerDisconnectedError"
    kube_cluster.advance(20)  # etcd's dial timeout: it exits, and is started again at once
    kube_cluster.advance(25)  # it exits again and waits out a 10s back-off
    crashed = kube_cluster.get("pods", "kube-system", "kube-apiserver-kind-control-plane")
    assert crashed is not None
    (status,) = crashed["status"]["containerStatuses"]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["lastState"]["terminated"]["exitCode"] == 1

    kube_cluster.write_node_file("kind-control-plane", MANIFEST, original)
    async with aiohttp.ClientSession() as session, session.get(f"{kube_cluster.url}/readyz?verbose") as response:
        assert response.status == 200
        assert (await response.text()).splitlines()[-1] == "readyz check passed"


async def test_a_hostpath_pod_changes_the_node_files_its_script_reaches(
    api: k8s.ApiClient, kube_cluster: KubeCluster
) -> None:
    script = "set -eu\ncp /host/kube-apiserver.yaml /host/.copy\ncat /host/missing.yaml\necho never\n"
    pod = pinned_pod(
        "edit",
        "kind-control-plane",
        restartPolicy="Never",
        tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}],
        volumes=[{"name": "host", "hostPath": {"path": "/etc/kubernetes/manifests"}}],
    )
    pod["spec"]["containers"] = [
        {
            "name": "edit",
            "image": "busybox:1.36",
            "command": ["sh", "-c", script],
            "volumeMounts": [{"name": "host", "mountPath": "/host"}],
        }
    ]
    await k8s.CoreV1Api(api).create_namespaced_pod(NS, pod)
    ran = kube_cluster.get("pods", NS, "edit")
    assert ran is not None and ran["status"]["phase"] == "Failed"
    assert kube_cluster.read_node_file("kind-control-plane", "/etc/kubernetes/manifests/.copy") == (
        kube_cluster.read_node_file("kind-control-plane", MANIFEST)
    )
    assert kube_cluster.simulator.logs[(NS, "edit", "edit")] == "cat: /host/missing.yaml: No such file or directory\n"
