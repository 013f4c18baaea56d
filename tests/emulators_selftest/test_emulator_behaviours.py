"""More derived behaviour: workloads, config errors, probes, storage, HPA, patches, watches, kubeconfig."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio import config as k8s_config
from kubernetes.aio import watch as k8s_watch
from kubernetes.aio.client.exceptions import ApiException

from tests.emulators import KubeCluster

from .conftest import NS

APPLY = {"field_manager": "kubecamp-bot", "force": True, "_content_type": "application/apply-patch+yaml"}


def workload(kind: str, name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    pod_spec = {"containers": containers, **spec.pop("pod", {})}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
            **spec,
        },
    }
    return body


def nginx(**extra: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx:1.27-alpine", "ports": [{"name": "http", "containerPort": 80}], **extra}


async def deploy(api: k8s.ApiClient, body: dict[str, Any]) -> Any:
    apps = k8s.AppsV1Api(api)
    name = body["metadata"]["name"]
    method = {
        "Deployment": apps.patch_namespaced_deployment,
        "StatefulSet": apps.patch_namespaced_stateful_set,
        "DaemonSet": apps.patch_namespaced_daemon_set,
    }[body["kind"]]
    return await method(name, NS, body, **APPLY)


async def pods(api: k8s.ApiClient, selector: str | None = None) -> list[Any]:
    result = await k8s.CoreV1Api(api).list_namespaced_pod(NS, label_selector=selector)
    return sorted(result.items, key=lambda p: p.metadata.name)


async def test_missing_secret_is_create_container_config_error(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    env = [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
    await deploy(api, workload("Deployment", "db", [{"name": "db", "image": "postgres:16-alpine", "env": env}]))
    [pod] = await pods(api)
    waiting = pod.status.container_statuses[0].state.waiting
    assert (pod.status.phase, waiting.reason, waiting.message) == (
        "Pending",
        "CreateContainerConfigError",
        'secret "db" not found',
    )

    secret = {"metadata": {"name": "db"}, "stringData": {"pass": "x"}}
    await k8s.CoreV1Api(api).create_namespaced_secret(NS, secret)
    [pod] = await pods(api)
    assert pod.status.container_statuses[0].state.waiting.message == 'secret "db" not found'  # until the next sync
    kube_cluster.advance(10)  # the pod worker retries a failed sync after 10 s
    [pod] = await pods(api)
    assert pod.status.container_statuses[0].state.waiting.message == "couldn't find key password in Secret team1/db"
    failed = {e["message"]: e["count"] for e in kube_cluster.events(NS, name=pod.metadata.name, reason="Failed")}
    assert failed == {'Error: secret "db" not found': 1, "Error: couldn't find key password in Secret team1/db": 1}

    await k8s.CoreV1Api(api).patch_namespaced_secret(
        "db", NS, {"data": {"password": base64.b64encode(b"s3cret").decode()}}
    )
    kube_cluster.advance(10)
    [pod] = await pods(api)
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready


async def test_missing_configmap_volume_blocks_container_creation(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    volume = {"name": "conf", "configMap": {"name": "web-conf"}}
    mount = {"name": "conf", "mountPath": "/etc/nginx/conf.d"}
    await deploy(api, workload("Deployment", "web", [nginx(volumeMounts=[mount])], pod={"volumes": [volume]}))
    [pod] = await pods(api)
    assert pod.status.phase == "Pending" and pod.status.pod_ip is None
    assert pod.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    [event] = kube_cluster.events(NS, name=pod.metadata.name, reason="FailedMount")
    assert event["message"] == 'MountVolume.SetUp failed for volume "conf" : configmap "web-conf" not found'


async def test_liveness_probe_on_the_wrong_port_crash_loops(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    probe = {"httpGet": {"path": "/", "port": 8080}}
    await deploy(api, workload("Deployment", "web", [nginx(livenessProbe=probe)]))
    [pod] = await pods(api)
    status = pod.status.container_statuses[0]
    assert status.state.running and status.ready  # no readiness probe: ready while it runs
    kube_cluster.advance(45)  # killed after 3 failures 10 s apart (t=20), restarted at once, killed again (t=40)
    [pod] = await pods(api)
    status = pod.status.container_statuses[0]
    assert pod.status.phase == "Running" and not status.ready and status.restart_count == 1
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.reason == "Completed"  # nginx exits 0 on SIGTERM
    [killing] = kube_cluster.events(NS, name=pod.metadata.name, reason="Killing")
    assert killing["message"] == "Container web failed liveness probe, will be restarted" and killing["count"] == 2
    [unhealthy] = kube_cluster.events(NS, name=pod.metadata.name, reason="Unhealthy")
    assert unhealthy["count"] == 6
    assert unhealthy["message"] == (
        f'Liveness probe failed: Get "http://{pod.status.pod_ip}:8080/": dial tcp {pod.status.pod_ip}:8080: '
        "connect: connection refused"
    )


async def test_memory_limit_below_the_working_set_is_oom_killed(api: k8s.ApiClient) -> None:
    mongo = {"name": "mongo", "image": "mongo:7.0", "resources": {"limits": {"memory": "64Mi"}}}
    await deploy(api, workload("Deployment", "mongo", [mongo]))
    [pod] = await pods(api)
    status = pod.status.container_statuses[0]
    assert status.last_state.terminated.reason == "OOMKilled" and status.last_state.terminated.exit_code == 137
    assert pod.status.qos_class == "Burstable"  # requests.memory defaulted from the limit, no cpu


async def test_stuck_init_container_keeps_the_pod_initializing(api: k8s.ApiClient) -> None:
    init = {
        "name": "wait-db",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "until nc -z db 5432; do sleep 2; done"],
    }
    await deploy(api, workload("Deployment", "app", [nginx()], pod={"initContainers": [init]}))
    [pod] = await pods(api)
    conditions = {c.type: c for c in pod.status.conditions}
    assert pod.status.phase == "Pending"
    assert conditions["Initialized"].message == "containers with incomplete status: [wait-db]"
    assert pod.status.container_statuses[0].state.waiting.reason == "PodInitializing"


async def test_missing_service_account_fails_replica_creation(api: k8s.ApiClient) -> None:
    await deploy(api, workload("Deployment", "web", [nginx()], pod={"serviceAccountName": "robot"}))
    assert await pods(api) == []
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    failure = {c.type: c for c in status.conditions}["ReplicaFailure"]
    assert failure.reason == "FailedCreate"
    assert 'error looking up service account team1/robot: serviceaccount "robot" not found' in failure.message

    await k8s.CoreV1Api(api).create_namespaced_service_account(NS, {"metadata": {"name": "robot"}})
    assert len(await pods(api)) == 1
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    assert "ReplicaFailure" not in {c.type for c in status.conditions} and status.available_replicas == 1


async def test_replacement_scaling_and_cascading_delete(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=2))
    before = {p.metadata.name for p in await pods(api)}
    victim = sorted(before)[0]
    await core.delete_namespaced_pod(victim, NS)
    after = {p.metadata.name for p in await pods(api)}
    assert len(after) == 2 and victim not in after

    scale = await apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4
    assert (await apps.read_namespaced_deployment("web", NS)).status.ready_replicas == 4

    await apps.delete_namespaced_deployment("web", NS, body={"propagationPolicy": "Foreground"})
    assert kube_cluster.objects("replicasets", NS) == [] and await pods(api) == []


async def test_recreate_strategy_replaces_all_pods(api: k8s.ApiClient) -> None:
    body = workload("Deployment", "web", [nginx()], replicas=2, strategy={"type": "Recreate"})
    await deploy(api, body)
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    await deploy(api, body)
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    assert (status.updated_replicas, status.available_replicas) == (2, 2)
    assert {p.spec.containers[0].image for p in await pods(api)} == {"nginx:1.27"}


async def test_statefulset_creates_ordered_pods_with_bound_claims(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    redis = {"name": "redis", "image": "redis:7.4-alpine", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    body = workload("StatefulSet", "cache", [redis], replicas=2, serviceName="cache", volumeClaimTemplates=[claim])
    await deploy(api, body)
    assert [p.metadata.name for p in await pods(api)] == ["cache-0", "cache-1"]
    claims = kube_cluster.objects("persistentvolumeclaims", NS)
    assert [(c["metadata"]["name"], c["status"]["phase"]) for c in claims] == [
        ("data-cache-0", "Bound"),
        ("data-cache-1", "Bound"),
    ]
    status = (await k8s.AppsV1Api(api).read_namespaced_stateful_set("cache", NS)).status
    assert (status.replicas, status.ready_replicas) == (2, 2)


async def test_statefulset_stops_at_the_first_broken_pod(api: k8s.ApiClient) -> None:
    body = workload("StatefulSet", "cache", [{"name": "redis", "image": "redis:7.4-alpne"}], replicas=3)
    await deploy(api, body)
    assert [p.metadata.name for p in await pods(api)] == ["cache-0"]


async def test_daemonset_runs_on_untainted_nodes(api: k8s.ApiClient) -> None:
    await deploy(
        api, workload("DaemonSet", "agent", [{"name": "agent", "image": "busybox:1.36", "args": ["sleep", "infinity"]}])
    )
    placed = sorted(p.spec.node_name for p in await pods(api))
    assert placed == ["kind-worker", "kind-worker2"]
    status = (await k8s.AppsV1Api(api).read_namespaced_daemon_set("agent", NS)).status
    assert (status.desired_number_scheduled, status.number_ready) == (2, 2)


async def test_busybox_without_a_long_running_command_completes_and_crash_loops(api: k8s.ApiClient) -> None:
    await deploy(
        api, workload("Deployment", "job", [{"name": "job", "image": "busybox:1.36", "command": ["echo", "hi"]}])
    )
    [pod] = await pods(api)
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert (status.last_state.terminated.reason, status.last_state.terminated.exit_code) == ("Completed", 0)


def hpa_of(deployment: str, **spec: Any) -> dict[str, Any]:
    """An autoscaling/v2 HPA of the Deployment, named after it."""
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": deployment, "namespace": NS},
        "spec": {"scaleTargetRef": target, **spec},
    }


async def test_hpa_reports_and_enforces_its_bounds(api: k8s.ApiClient) -> None:
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=1))
    hpa = hpa_of("web", minReplicas=2, maxReplicas=5)
    autoscaling = k8s.AutoscalingV2Api(api)
    await autoscaling.patch_namespaced_horizontal_pod_autoscaler("web", NS, hpa, **APPLY)
    status = (await autoscaling.read_namespaced_horizontal_pod_autoscaler("web", NS)).status
    assert status.desired_replicas == 2 and status.current_replicas == 2
    assert (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).spec.replicas == 2
    active = {c.type: c for c in status.conditions}["ScalingActive"]
    assert (active.status, active.reason) == ("False", "FailedGetResourceMetric")

    hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"] = 3, 1
    with pytest.raises(ApiException) as caught:
        await autoscaling.patch_namespaced_horizontal_pod_autoscaler("web", NS, hpa, **APPLY)
    assert caught.value.status == 422


async def test_an_hpa_on_a_custom_metric_enforces_its_minimum_and_cannot_read_the_metric(api: k8s.ApiClient) -> None:
    """No custom metrics adapter: the minimum is enforced without any metric, the Pods metric fails to read."""
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=1))
    viewers = {"metric": {"name": "concurrent_viewers"}, "target": {"type": "AverageValue", "averageValue": "1000"}}
    hpa = hpa_of("web", minReplicas=3, maxReplicas=100, metrics=[{"type": "Pods", "pods": viewers}])
    autoscaling = k8s.AutoscalingV2Api(api)
    await autoscaling.patch_namespaced_horizontal_pod_autoscaler("web", NS, hpa, **APPLY)
    assert (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).spec.replicas == 3
    status = (await autoscaling.read_namespaced_horizontal_pod_autoscaler("web", NS)).status
    active = {c.type: c for c in status.conditions}["ScalingActive"]
    assert (active.status, active.reason) == ("False", "FailedGetPodsMetric")
    assert active.message == (
        "the HPA was unable to compute the replica count: unable to get metric concurrent_viewers: unable to fetch "
        "metrics from custom metrics API: the server could not find the requested resource "
        "(get pods.custom.metrics.k8s.io *)"
    )


async def test_pvc_spec_is_immutable_and_can_be_recreated(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": NS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "fast-ssd-nonexistent",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    await core.patch_namespaced_persistent_volume_claim("data", NS, claim, **APPLY)
    claim["spec"]["storageClassName"] = "standard"
    with pytest.raises(ApiException) as caught:
        await core.patch_namespaced_persistent_volume_claim("data", NS, claim, **APPLY)
    assert caught.value.status == 422 and "spec is immutable after creation" in json.loads(caught.value.body)["message"]
    await core.delete_namespaced_persistent_volume_claim("data", NS)
    assert kube_cluster.get("persistentvolumeclaims", NS, "data") is None
    await core.patch_namespaced_persistent_volume_claim("data", NS, claim, **APPLY)


async def test_merge_json_patch_and_conflicting_put(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    created = await core.create_namespaced_config_map(NS, {"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}})
    patched = await core.patch_namespaced_config_map(
        "cfg", NS, {"data": {"a": None, "c": "3"}}, _content_type="application/merge-patch+json"
    )
    assert patched.data == {"b": "2", "c": "3"}
    patched = await core.patch_namespaced_config_map(
        "cfg", NS, [{"op": "replace", "path": "/data/b", "value": "20"}], _content_type="application/json-patch+json"
    )
    assert patched.data["b"] == "20"
    stale = {"metadata": {"name": "cfg", "resourceVersion": created.metadata.resource_version}, "data": {}}
    with pytest.raises(ApiException) as caught:
        await core.replace_namespaced_config_map("cfg", NS, stale)
    assert caught.value.status == 409
    fresh = {"metadata": {"name": "cfg", "resourceVersion": patched.metadata.resource_version}, "data": {"z": "0"}}
    assert (await core.replace_namespaced_config_map("cfg", NS, fresh)).data == {"z": "0"}


async def test_watch_streams_changes(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    await core.create_namespaced_config_map(NS, {"metadata": {"name": "one"}})
    seen: list[tuple[str, str]] = []
    watch = k8s_watch.Watch()
    async with watch:
        async for event in watch.stream(core.list_namespaced_config_map, NS, timeout_seconds=1):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "one":
                await core.create_namespaced_config_map(NS, {"metadata": {"name": "two"}})
            if event["object"].metadata.name == "two":
                watch.stop()
    assert ("ADDED", "one") in seen and ("ADDED", "two") in seen


async def test_kubeconfig_helper(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    path = kube_cluster.write_kubeconfig(tmp_path / "config")
    configuration = k8s.Configuration()
    await k8s_config.load_kube_config(config_file=str(path), client_configuration=configuration, persist_config=False)
    assert configuration.host == kube_cluster.url
    async with k8s.ApiClient(configuration) as client:
        names = [n.metadata.name for n in (await k8s.CoreV1Api(client).list_node()).items]
    assert names == ["kind-control-plane", "kind-worker", "kind-worker2"]
    assert kube_cluster.requests[-1].headers["Authorization"] == "Bearer kubecamp-test-token"


async def test_pods_of_a_deleted_node_are_replaced_elsewhere(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=2))
    await k8s.CoreV1Api(api).delete_node("kind-worker")
    placed = [p.spec.node_name for p in await pods(api)]
    assert placed == ["kind-worker2", "kind-worker2"]
    assert (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status.available_replicas == 2


async def test_version_matches_the_simulated_kubelets(api: k8s.ApiClient) -> None:
    version = await k8s.VersionApi(api).get_code()
    nodes = (await k8s.CoreV1Api(api).list_node()).items
    assert version.git_version == nodes[0].status.node_info.kubelet_version == "v1.33.1"


async def test_a_terminating_namespace_refuses_content_until_it_is_gone() -> None:
    async with KubeCluster(namespace_termination_seconds=5) as cluster, cluster.api_client() as client:
        core = k8s.CoreV1Api(client)
        await core.create_namespace({"metadata": {"name": NS}})
        await core.create_namespaced_config_map(NS, {"metadata": {"name": "cfg"}})
        await core.delete_namespace(NS)
        assert (await core.read_namespace(NS)).status.phase == "Terminating"
        assert cluster.objects("configmaps", NS) == []
        with pytest.raises(ApiException) as caught:
            await core.create_namespaced_config_map(NS, {"metadata": {"name": "cfg"}})
        assert (
            caught.value.status == 403 and "because it is being terminated" in json.loads(caught.value.body)["message"]
        )
        with pytest.raises(ApiException) as caught:
            await core.create_namespace({"metadata": {"name": NS}})
        assert caught.value.status == 409
        cluster.advance(5)
        await core.create_namespace({"metadata": {"name": NS}})
