"""Cluster-scope scenarios on a team's own (emulated) cluster: the bot breaks nodes and the control plane
through the API (`bot.challenges.breaking`), the checks fail, a student fixes it as on a real cluster
(kubectl on nodes, a file edited on the control-plane node), the checks pass, and `stop` puts the cluster back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from bot.challenges.breaks import BREAK_ANNOTATION, BREAKS_NAMESPACE
from bot.challenges.checks import Status
from bot.challenges.reports import CheckResult, Trigger
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.errors import ClusterForbidden, ClusterUnavailable
from bot.i18n import render
from bot.store import Store
from tests.challenges.test_runs import NAMESPACE, Clock
from tests.emulators.fixtures import chart_namespace_setup
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl
from tests.scenarios.test_catalogue_behaviour import CATALOG

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
CONTROL_PLANE = "kind-control-plane"


def own_cluster(kube: KubeCluster, team: str | None = "blue") -> Cluster:
    """The bot's client for a team's own cluster: the instructor's kubeconfig (cluster admin), registered
    as the team's."""
    cluster = Cluster.for_host(kube.url, token="blue-cluster-admin", timeout=2.0, setup=chart_namespace_setup())
    cluster.owner = team
    return cluster


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(kube_cluster: KubeCluster, store: Store, clock: Clock) -> AsyncIterator[RunService]:
    cluster = own_cluster(kube_cluster)
    await store.teams.create("blue", NAMESPACE)
    try:
        yield RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock)
    finally:
        await cluster.close()


@pytest.fixture
def kubectl(kube_cluster: KubeCluster, tmp_path: Path) -> Kubectl:
    return Kubectl(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")


def texts(checks: Iterable[CheckResult]) -> str:
    return "\n".join(render(c.message, "en") for c in checks)


async def test_node_taint_breaks_the_auth_service_until_the_taint_is_removed(
    service: RunService, kube_cluster: KubeCluster, kubectl: Kubectl
) -> None:
    report = await service.start("blue", 21)
    assert not report.skipped
    node = kube_cluster.get("nodes", None, "kind-worker2")
    assert node is not None
    assert {"key": "maintenance", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert node["metadata"]["labels"]["kubecamp.io/node-pool"] == "backend"

    broken = await service.verify("blue", scenario_id="node-taint")
    result = broken.results[0]
    assert [c.status for c in result.checks] == [Status.FAIL, Status.FAIL, Status.PASS], texts(result.checks)
    text = texts(result.checks)
    assert "1 node(s) had untolerated taint {maintenance: true}" in text
    assert "kind-worker2: Taints maintenance=true:NoSchedule" in text

    await kubectl("taint", "nodes", "kind-worker2", "maintenance=true:NoSchedule-")
    fixed = await service.verify("blue", scenario_id="node-taint")
    assert fixed.results[0].status is Status.PASS, texts(fixed.results[0].checks)
    assert [p["spec"]["nodeName"] for p in kube_cluster.pods_of(NAMESPACE, "auth-service")] == ["kind-worker2"] * 2


async def test_a_toleration_is_not_the_fix_for_a_taint_set_by_mistake(
    service: RunService, kube_cluster: KubeCluster, kubectl: Kubectl
) -> None:
    await service.start("blue", 21)
    patch = {"spec": {"template": {"spec": {"tolerations": [{"key": "maintenance", "operator": "Exists"}]}}}}
    await kubectl("patch", "deployment", "auth-service", "-n", NAMESPACE, "-p", json.dumps(patch))
    report = await service.verify("blue", scenario_id="node-taint")
    statuses = [c.status for c in report.results[0].checks]
    assert statuses == [Status.PASS, Status.FAIL, Status.PASS], texts(report.results[0].checks)


async def test_an_exhausted_node_leaves_web_app_pending_until_the_hog_is_gone(
    service: RunService, kube_cluster: KubeCluster, kubectl: Kubectl
) -> None:
    await service.start("blue", 21)
    hog = kube_cluster.pods_of(BREAKS_NAMESPACE, "node-hog")
    assert [p["spec"]["nodeName"] for p in hog] == ["kind-worker"]
    assert hog[0]["status"]["phase"] == "Running"

    broken = await service.verify("blue", scenario_id="node-exhausted")
    checks = broken.results[0].checks
    assert [c.status for c in checks] == [Status.FAIL, Status.FAIL, Status.PASS], texts(checks)
    assert "1 Insufficient cpu, 1 Insufficient memory" in texts(checks)
    assert "Node resource requests above 80% of allocatable: kind-worker: cpu 100%, memory 100%" in texts(checks)
    pending = kube_cluster.pods_of(NAMESPACE, "web-app")[0]
    assert pending["status"]["conditions"][0]["message"] == (
        # kind-worker2 carries the other scenario's taint: TaintToleration filters it before NodeAffinity
        "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{maintenance: true}, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: "
        "0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
        "scheduling."
    )

    await kubectl("delete", "daemonset", "node-hog", "-n", BREAKS_NAMESPACE)
    fixed = await service.verify("blue", scenario_id="node-exhausted")
    assert fixed.results[0].status is Status.PASS, texts(fixed.results[0].checks)


async def test_shrinking_web_app_is_not_the_fix_for_an_exhausted_node(
    service: RunService, kube_cluster: KubeCluster, kubectl: Kubectl
) -> None:
    await service.start("blue", 21)
    await kubectl("set", "resources", "deployment/web-app", "-n", NAMESPACE, "--requests=cpu=0,memory=0")
    report = await service.verify("blue", scenario_id="node-exhausted")
    statuses = [c.status for c in report.results[0].checks]
    assert statuses == [Status.PASS, Status.FAIL, Status.PASS], texts(report.results[0].checks)


async def test_stop_puts_the_nodes_back(service: RunService, kube_cluster: KubeCluster) -> None:
    before = {n["metadata"]["name"]: n for n in kube_cluster.objects("nodes")}
    await service.start("blue", 21)
    stopped = await service.stop("blue")
    assert stopped.run.status == "stopped"
    for node in kube_cluster.objects("nodes"):
        name = node["metadata"]["name"]
        assert node["spec"].get("taints") == before[name]["spec"].get("taints"), name
        assert node["metadata"]["labels"] == before[name]["metadata"]["labels"], name
        assert BREAK_ANNOTATION not in (node["metadata"].get("annotations") or {}), name
    assert kube_cluster.objects("daemonsets", BREAKS_NAMESPACE) == []
    assert kube_cluster.pods_of(NAMESPACE, "web-app") == []


async def test_stop_leaves_a_node_the_team_already_fixed_as_it_is(
    service: RunService, kube_cluster: KubeCluster, kubectl: Kubectl
) -> None:
    await service.start("blue", 21)
    await kubectl("taint", "nodes", "kind-worker2", "maintenance=true:NoSchedule-")
    await kubectl("delete", "daemonset", "node-hog", "-n", BREAKS_NAMESPACE)
    await kubectl("taint", "nodes", "kind-worker2", "team=blue:PreferNoSchedule")
    await service.stop("blue")
    node = kube_cluster.get("nodes", None, "kind-worker2")
    assert node is not None
    assert node["spec"]["taints"] == [{"key": "team", "value": "blue", "effect": "PreferNoSchedule"}]


async def test_the_control_plane_scenario_takes_the_api_server_down_until_the_manifest_is_fixed(
    service: RunService, kube_cluster: KubeCluster, clock: Clock
) -> None:
    original = kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST)
    assert original is not None
    await service.start("blue", 1)
    broken = kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST)
    assert broken is not None
    assert "--etcd-servers=https://127.0.0.1:2380" in broken and "--secure-port=6444" in broken
    assert kube_cluster.read_node_file(CONTROL_PLANE, "/etc/kubernetes/kubecamp/kube-apiserver.yaml") == original
    kube_cluster.advance(25)
    logs = kube_cluster.simulator.logs[("kube-system", f"kube-apiserver-{CONTROL_PLANE}", "kube-apiserver")]
    assert '"command failed" err="context deadline exceeded"' in logs

    # Nothing answers: every check "could not check", and the final verification does not end the run.
    clock.at(95)
    down = await service.verify("blue", trigger=Trigger.FINAL)
    assert down.ended is None
    assert {c.status for r in down.results for c in r.checks} == {Status.UNKNOWN}
    with pytest.raises(ClusterUnavailable):
        await service.stop("blue")

    # The etcd port alone is not enough: the API server then listens on 6444, not where clients connect.
    kube_cluster.write_node_file(CONTROL_PLANE, MANIFEST, broken.replace("127.0.0.1:2380", "127.0.0.1:2379"))
    assert not kube_cluster.simulator.static_pods.serving()
    kube_cluster.write_node_file(CONTROL_PLANE, MANIFEST, broken.replace("2380", "2379").replace("6444", "6443"))
    report = await service.verify("blue", scenario_id="control-plane")
    assert report.results[0].status is Status.PASS, texts(report.results[0].checks)
    assert "/readyz passes" in texts(report.results[0].checks)


async def test_stop_restores_the_control_plane_manifest(service: RunService, kube_cluster: KubeCluster) -> None:
    original = kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST)
    await service.start("blue", 1)
    broken = kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST)
    assert broken is not None and broken != original
    kube_cluster.write_node_file(CONTROL_PLANE, MANIFEST, broken.replace("2380", "2379").replace("6444", "6443"))
    await service.stop("blue")
    assert kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST) == original
    assert kube_cluster.read_node_file(CONTROL_PLANE, "/etc/kubernetes/kubecamp/kube-apiserver.yaml") is None
    assert kube_cluster.objects("pods", BREAKS_NAMESPACE) == []


@pytest.mark.parametrize("registered", [None, "red"])
async def test_cluster_scope_scenarios_run_only_on_the_teams_own_cluster(
    kube_cluster: KubeCluster, store: Store, registered: str | None
) -> None:
    before = {n["metadata"]["name"]: n["spec"] for n in kube_cluster.objects("nodes")}
    manifest = kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST)
    cluster = own_cluster(kube_cluster, registered)
    await store.teams.create("blue", NAMESPACE)
    try:
        service = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=Clock())
        report = await service.start("blue", 21)
        assert sorted(report.skipped) == ["node-exhausted", "node-taint"]
        assert "runs only on a cluster registered as the team's own" in render(report.skipped["node-taint"], "en")
        await service.stop("blue")
        report = await service.start("blue", 1)
        assert list(report.skipped) == ["control-plane"]
        with pytest.raises(ClusterForbidden):
            await cluster.cluster_request("blue", "GET", "/api/v1/nodes")
    finally:
        await cluster.close()
    assert {n["metadata"]["name"]: n["spec"] for n in kube_cluster.objects("nodes")} == before
    assert kube_cluster.read_node_file(CONTROL_PLANE, MANIFEST) == manifest
    assert kube_cluster.get("namespaces", None, BREAKS_NAMESPACE) is None
