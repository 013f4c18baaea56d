"""The cluster-scope checks on snapshots shaped like a real cluster's: never a pass on missing data."""

from __future__ import annotations

from typing import Any

from bot.challenges.checks import Status, parse_check
from bot.challenges.checks.nodes import ALL_PODS, READYZ, SYSTEM_PODS
from bot.i18n import Message, render
from bot.snapshot import Snapshot


def node(name: str, *, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    }


def pod(name: str, node_name: str, cpu: str, memory: str, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def outcome(check: dict[str, Any], snapshot: Snapshot) -> tuple[Status, str]:
    result = parse_check(check).evaluate(snapshot)
    return result.status, render(result.message, "en")


def test_nodes_schedulable_names_the_taint_and_the_cordon() -> None:
    pool = {"pool": "backend"}
    snapshot = Snapshot(
        "kubecamp-blue",
        items={
            "Node": [
                node("w1", labels=pool, taints=[{"key": "maintenance", "value": "true", "effect": "NoSchedule"}]),
                node(
                    "w2",
                    labels=pool,
                    unschedulable=True,
                    taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
                ),
                node("w3", taints=[{"key": "x", "effect": "NoExecute"}]),
            ]
        },
    )
    check = {"nodes_schedulable": {"selector": "pool=backend"}}
    assert outcome(check, snapshot) == (
        Status.FAIL,
        "Nodes that take no new Pods: w1: Taints maintenance=true:NoSchedule; w2: SchedulingDisabled",
    )
    snapshot.items["Node"] = [node("w1", labels=pool, taints=[{"key": "soft", "effect": "PreferNoSchedule"}])]
    assert outcome(check, snapshot)[0] is Status.PASS
    snapshot.items["Node"] = [node("w1")]
    assert outcome(check, snapshot) == (
        Status.FAIL,
        "Nodes pool=backend: no node carries this label, so there is nothing to check",
    )


def test_node_requests_add_up_every_namespace_on_the_node() -> None:
    snapshot = Snapshot(
        "kubecamp-blue",
        items={
            "Node": [node("w1", labels={"pool": "web"}), node("w2")],
            ALL_PODS: [pod("hog", "w1", "3900m", "7Gi"), pod("web", "w2", "3", "1Gi")],
        },
    )
    check = {"node_requests_within": {"selector": "pool=web", "max_percent": 80}}
    assert outcome(check, snapshot) == (
        Status.FAIL,
        "Node resource requests above 80% of allocatable: w1: cpu 97%, memory 87%",
    )
    snapshot.items[ALL_PODS] = [pod("hog", "w1", "1", "1Gi")]
    assert outcome(check, snapshot) == (
        Status.PASS,
        "Node resource requests (of allocatable, at most 80%): w1: cpu 25%, memory 12%",
    )
    del snapshot.items[ALL_PODS]
    snapshot.errors[ALL_PODS] = Message("cluster.not_own_cluster", {"team": "blue"})
    assert outcome(check, snapshot)[0] is Status.UNKNOWN


def test_the_control_plane_is_healthy_only_when_its_pods_and_readyz_say_so() -> None:
    apiserver = pod("kube-apiserver-cp", "cp", "250m", "0", component="kube-apiserver")
    passing = {"status": 200, "text": "[+]ping ok\n[+]etcd ok\nreadyz check passed\n"}
    snapshot = Snapshot("kubecamp-blue", items={SYSTEM_PODS: [apiserver], READYZ: [passing]})
    check = {"control_plane_healthy": {"component": "kube-apiserver"}}
    assert outcome(check, snapshot) == (
        Status.PASS,
        "kube-apiserver in kube-system: 1 Pod(s) ready, the API server's /readyz passes",
    )
    snapshot.items[READYZ] = [
        {"status": 500, "text": "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"}
    ]
    assert outcome(check, snapshot) == (Status.FAIL, "the API server's /readyz fails: etcd failed: reason withheld")
    snapshot.items[SYSTEM_PODS] = []
    assert outcome(check, snapshot)[0] is Status.FAIL
    # An API server that does not answer: nothing was read, so nothing is judged.
    unanswered = Snapshot(
        "kubecamp-blue", errors={SYSTEM_PODS: Message("cluster.unavailable"), READYZ: Message("cluster.unavailable")}
    )
    assert outcome(check, unanswered) == (
        Status.UNKNOWN,
        "could not check: the Kubernetes API server cannot be reached",
    )
