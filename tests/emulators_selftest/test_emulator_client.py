"""The emulated cluster, driven through the official async client exactly as the bot drives a real one.

No test writes a status: every status asserted here was derived by the simulator from applied specs.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from tests.emulators import Image, KubeCluster

from .conftest import NS

APPLY = "application/apply-patch+yaml"


def deployment(name: str = "web", *, image: str = "nginx:1.27-alpine", replicas: int = 2, **pod: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 80}]}
    container.update(pod.pop("container", {}))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container], **pod}},
            **pod.pop("deployment_spec", {}),
        },
    }


async def apply(api: k8s.ApiClient, body: dict[str, Any]) -> Any:
    apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
    name, kind = body["metadata"]["name"], body["kind"]
    namespace = body["metadata"].get("namespace", NS)
    common = {"field_manager": "kubecamp-bot", "force": True, "_content_type": APPLY}
    if kind == "Deployment":
        return await apps.patch_namespaced_deployment(name, namespace, body, **common)
    if kind == "Service":
        return await core.patch_namespaced_service(name, namespace, body, **common)
    if kind == "PersistentVolumeClaim":
        return await core.patch_namespaced_persistent_volume_claim(name, namespace, body, **common)
    if kind == "Pod":
        return await core.patch_namespaced_pod(name, namespace, body, **common)
    raise AssertionError(kind)


# --- API server semantics -------------------------------------------------------------------------


async def test_apply_creates_then_updates_with_uid_and_resource_versions(api: k8s.ApiClient) -> None:
    created = await apply(api, deployment(replicas=1))
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    assert created.metadata.generation == 1
    first_rv = int(created.metadata.resource_version)

    updated = await apply(api, deployment(replicas=3))
    assert updated.metadata.uid == created.metadata.uid
    assert updated.spec.replicas == 3
    assert updated.metadata.generation == 2
    assert int(updated.metadata.resource_version) > first_rv

    listing = await k8s.AppsV1Api(api).list_namespaced_deployment(NS)
    assert [d.metadata.name for d in listing.items] == ["web"]
    assert int(listing.metadata.resource_version) >= int(updated.metadata.resource_version)


async def test_list_is_typed_and_items_omit_kind_like_a_real_server(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    await apply(api, deployment())
    url = f"{kube_cluster.url}/apis/apps/v1/namespaces/{NS}/deployments"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.json()
    assert body["apiVersion"] == "apps/v1" and body["kind"] == "DeploymentList"
    assert body["metadata"]["resourceVersion"].isdigit()
    assert "kind" not in body["items"][0] and body["items"][0]["metadata"]["name"] == "web"


async def test_label_and_field_selectors(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    for name, tier in (("a", "front"), ("b", "back"), ("c", None)):
        labels = {"app": "shop", **({"tier": tier} if tier else {})}
        await core.create_namespaced_config_map(NS, {"metadata": {"name": name, "labels": labels}, "data": {}})

    async def names(**kw: str) -> list[str]:
        return [cm.metadata.name for cm in (await core.list_namespaced_config_map(NS, **kw)).items]

    assert await names(label_selector="tier=front") == ["a"]
    assert await names(label_selector="app=shop,tier!=front") == ["b", "c"]
    assert await names(label_selector="tier in (front,back)") == ["a", "b"]
    assert await names(label_selector="tier notin (front)") == ["b", "c", "kube-root-ca.crt"]
    assert await names(label_selector="tier") == ["a", "b"]
    assert await names(label_selector="!tier") == ["c", "kube-root-ca.crt"]
    assert await names(field_selector="metadata.name=b") == ["b"]


async def test_namespaced_writes_into_a_missing_namespace_are_404(api: k8s.ApiClient) -> None:
    body = deployment()
    body["metadata"]["namespace"] = "nope"
    with pytest.raises(ApiException) as caught:
        await k8s.AppsV1Api(api).patch_namespaced_deployment(
            "web", "nope", body, field_manager="kubecamp-bot", force=True, _content_type=APPLY
        )
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["message"] == 'namespaces "nope" not found'
    with pytest.raises(ApiException) as caught:
        await k8s.CoreV1Api(api).create_namespaced_config_map("nope", {"metadata": {"name": "x"}})
    assert caught.value.status == 404


async def test_deleting_a_namespace_deletes_its_objects(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment())
    assert kube_cluster.objects("pods", NS)
    await k8s.CoreV1Api(api).delete_namespace(NS)
    assert kube_cluster.get("namespaces", None, NS) is None
    assert kube_cluster.objects("pods", NS) == [] and kube_cluster.objects("deployments", NS) == []


async def test_invalid_selector_is_422(api: k8s.ApiClient) -> None:
    body = deployment()
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as caught:
        await apply(api, body)
    assert caught.value.status == 422
    assert "`selector` does not match template `labels`" in json.loads(caught.value.body)["message"]


async def test_crds_can_be_absent(kube_cluster_without_crds: KubeCluster) -> None:
    async with kube_cluster_without_crds.api_client() as client:
        custom = k8s.CustomObjectsApi(client)
        await k8s.CoreV1Api(client).create_namespace({"metadata": {"name": NS}})
        monitor = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "web"},
            "spec": {"endpoints": [{"port": "http"}]},
        }
        for call in (
            custom.list_namespaced_custom_object("monitoring.coreos.com", "v1", NS, "servicemonitors"),
            custom.patch_namespaced_custom_object(
                "monitoring.coreos.com",
                "v1",
                NS,
                "servicemonitors",
                "web",
                monitor,
                field_manager="kubecamp-bot",
                force=True,
                _content_type=APPLY,
            ),
            custom.get_namespaced_custom_object("autoscaling.k8s.io", "v1", NS, "verticalpodautoscalers", "x"),
        ):
            with pytest.raises(ApiException) as caught:
                await call
            assert caught.value.status == 404
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{kube_cluster_without_crds.url}/apis/monitoring.coreos.com/v1") as response:
            assert response.status == 404
        async with http.get(f"{kube_cluster_without_crds.url}/apis/apps/v1") as response:
            names = {r["name"] for r in (await response.json())["resources"]}
            assert {"deployments", "deployments/status", "deployments/scale"} <= names


async def test_crds_are_stored_when_installed(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    custom = k8s.CustomObjectsApi(api)
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"endpoints": [{"port": "http"}]},
    }
    await custom.patch_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        NS,
        "servicemonitors",
        "web",
        monitor,
        field_manager="kubecamp-bot",
        force=True,
        _content_type=APPLY,
    )
    stored = kube_cluster.get("servicemonitors", NS, "web")
    assert stored is not None and stored["spec"] == {"endpoints": [{"port": "http"}]}


# --- derived pod and deployment state -------------------------------------------------------------


async def test_healthy_deployment_becomes_available(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment(replicas=2))
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment_status("web", NS)).status
    assert (status.replicas, status.ready_replicas, status.available_replicas, status.updated_replicas) == (2, 2, 2, 2)
    conditions = {c.type: c for c in status.conditions}
    assert conditions["Available"].status == "True"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"
    pods = (await k8s.CoreV1Api(api).list_namespaced_pod(NS, label_selector="app=web")).items
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Running" and pod.spec.node_name in ("kind-worker", "kind-worker2")
        assert pod.status.pod_ip.startswith("10.244.")
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert "pod-template-hash" in pod.metadata.labels
    assert {p.spec.node_name for p in pods} == {"kind-worker", "kind-worker2"}


async def test_missing_image_is_image_pull_back_off(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment(image="nginx:1.27-alpinee", replicas=1))
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    waiting = pod.status.container_statuses[0].state.waiting
    assert pod.status.phase == "Pending"
    assert waiting.reason == "ErrImagePull"
    not_found = (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.27-alpinee": '
        'failed to resolve reference "docker.io/library/nginx:1.27-alpinee": '
        "docker.io/library/nginx:1.27-alpinee: not found"
    )
    assert waiting.message == not_found
    kube_cluster.advance(20)  # pulled again at 10 s, then in back-off for 20 s
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    waiting = pod.status.container_statuses[0].state.waiting
    assert waiting.reason == "ImagePullBackOff"
    assert waiting.message == f'Back-off pulling image "nginx:1.27-alpinee": ErrImagePull: {not_found}'
    failed = await k8s.CoreV1Api(api).list_namespaced_event(
        NS, field_selector=f"involvedObject.name={pod.metadata.name},reason=Failed"
    )
    assert any(
        'Failed to pull image "nginx:1.27-alpinee"' in e.message and "not found" in e.message for e in failed.items
    )
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    assert status.available_replicas is None and status.unavailable_replicas == 1
    assert {c.type: c.status for c in status.conditions}["Available"] == "False"

    kube_cluster.add_image("nginx:1.27-alpinee", Image(http_ports=frozenset({80})))
    kube_cluster.advance(10)  # the next pull, once the 20 s back-off is over, succeeds
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready


async def test_unschedulable_pod_reports_like_the_scheduler(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment(replicas=1, container={"resources": {"requests": {"cpu": "5"}}}))
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    condition = pod.status.conditions[0]
    assert (condition.type, condition.status, condition.reason) == ("PodScheduled", "False", "Unschedulable")
    assert condition.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    )
    events = kube_cluster.events(NS, name=pod.metadata.name, reason="FailedScheduling")
    assert events and events[0]["type"] == "Warning" and events[0]["message"] == condition.message


async def test_node_affinity_to_a_missing_node_stays_pending(api: k8s.ApiClient) -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["kind-worker9"]}
                        ]
                    }
                ]
            }
        }
    }
    await apply(api, deployment(replicas=1, affinity=affinity))
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    assert pod.status.phase == "Pending"
    assert "3 node(s) didn't match Pod's node affinity/selector" not in pod.status.conditions[0].message
    assert pod.status.conditions[0].message.startswith(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector."
    )


async def test_rollout_with_max_unavailable_100_percent_and_failing_readiness(api: k8s.ApiClient) -> None:
    apps = k8s.AppsV1Api(api)
    await apply(api, deployment(replicas=3))
    assert (await apps.read_namespaced_deployment("web", NS)).status.available_replicas == 3

    broken = deployment(
        replicas=3,
        container={"readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}},
        deployment_spec={
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%", "maxSurge": 1}}
        },
    )
    await apply(api, broken)
    status = (await apps.read_namespaced_deployment("web", NS)).status
    assert status.available_replicas is None  # 0 is omitted, as the real API server does
    assert (status.replicas, status.updated_replicas, status.unavailable_replicas) == (3, 3, 3)
    # With maxUnavailable 100% the minimum availability is 0, so the real controller keeps Available=True.
    assert {c.type: c.status for c in status.conditions}["Available"] == "True"
    pods = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items
    assert len(pods) == 3 and not any(p.status.container_statuses[0].ready for p in pods)
    events = await k8s.CoreV1Api(api).list_namespaced_event(NS, field_selector="reason=Unhealthy")
    assert any(e.message == "Readiness probe failed: HTTP probe failed with statuscode: 404" for e in events.items)
    replica_sets = (await apps.list_namespaced_replica_set(NS)).items
    assert sorted(rs.spec.replicas for rs in replica_sets) == [0, 3]


async def test_rollout_with_sane_max_unavailable_keeps_old_pods(api: k8s.ApiClient) -> None:
    apps = k8s.AppsV1Api(api)
    await apply(api, deployment(replicas=4))
    await apply(api, deployment(replicas=4, container={"readinessProbe": {"tcpSocket": {"port": 8080}}}))
    status = (await apps.read_namespaced_deployment("web", NS)).status
    # maxUnavailable 25% (1) and maxSurge 25% (1): one old pod goes, two new unready pods come, then it stalls.
    assert (status.available_replicas, status.updated_replicas, status.replicas) == (3, 2, 5)
    assert {c.type: c.reason for c in status.conditions}["Progressing"] == "ReplicaSetUpdated"


async def test_stuck_rollout_exceeds_its_progress_deadline(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment(replicas=1, image="nginx:9.9"))
    kube_cluster.advance(601)
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    progressing = {c.type: c for c in status.conditions}["Progressing"]
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")


async def test_postgres_without_password_crash_loops(api: k8s.ApiClient) -> None:
    await apply(api, deployment("db", image="postgres:16-alpine", replicas=1))
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    status = pod.status.container_statuses[0]
    assert pod.status.phase == "Running" and status.restart_count == 1  # the first restart is immediate
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.exit_code == 1
    log = await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS)
    assert "superuser password is not specified" in log


# --- storage --------------------------------------------------------------------------------------


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec},
    }


async def test_pvc_with_a_missing_storage_class_stays_pending(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, claim(storageClassName="fast-ssd-nonexistent"))
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    await apply(api, deployment(replicas=1, volumes=[volume]))
    pvc = await k8s.CoreV1Api(api).read_namespaced_persistent_volume_claim("data", NS)
    assert pvc.status.phase == "Pending"
    events = kube_cluster.events(NS, name="data", reason="ProvisioningFailed")
    assert events[0]["message"] == 'storageclass.storage.k8s.io "fast-ssd-nonexistent" not found'
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    assert pod.status.conditions[0].message == (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are "
        "available: 3 Preemption is not helpful for scheduling."
    )


async def test_pvc_binds_to_standard_once_a_pod_uses_it(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, claim())
    pvc = await k8s.CoreV1Api(api).read_namespaced_persistent_volume_claim("data", NS)
    assert pvc.status.phase == "Pending" and pvc.spec.storage_class_name == "standard"
    assert kube_cluster.events(NS, name="data", reason="WaitForFirstConsumer")

    volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    await apply(
        api,
        deployment(replicas=1, volumes=[volume], container={"volumeMounts": [{"name": "data", "mountPath": "/data"}]}),
    )
    pvc = await k8s.CoreV1Api(api).read_namespaced_persistent_volume_claim("data", NS)
    assert pvc.status.phase == "Bound" and pvc.status.capacity == {"storage": "1Gi"}
    assert pvc.spec.volume_name == f"pvc-{pvc.metadata.uid}"
    pv = await k8s.CoreV1Api(api).read_persistent_volume(pvc.spec.volume_name)
    assert pv.status.phase == "Bound" and pv.spec.claim_ref.name == "data"
    pod = (await k8s.CoreV1Api(api).list_namespaced_pod(NS)).items[0]
    assert pod.status.phase == "Running"

    # Re-applying the same claim keeps the controller-set volumeName (no "spec is immutable").
    await apply(api, claim())


async def test_pvc_with_unsupported_access_mode_fails_provisioning(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    await apply(api, claim(accessModes=["ReadWriteMany"]))
    await apply(api, deployment(replicas=1, volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]))
    assert kube_cluster.get("persistentvolumeclaims", NS, "data")["status"]["phase"] == "Pending"  # type: ignore[index]
    failed = kube_cluster.events(NS, name="data", reason="ProvisioningFailed")
    assert "only supports ReadWriteOnce" in failed[0]["message"]
    pod = kube_cluster.objects("pods", NS)[0]
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
    assert "conditions" not in pod["status"]  # the scheduler waits in PreBind for the provisioner...
    kube_cluster.advance(600)
    pod = kube_cluster.objects("pods", NS)[0]  # ...until the bind timeout
    assert pod["status"]["conditions"][0]["reason"] == "SchedulerError"
    assert kube_cluster.events(NS, name=pod["metadata"]["name"], reason="FailedScheduling")


# --- services -------------------------------------------------------------------------------------


async def test_endpoint_slices_follow_ready_pods(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await apply(api, deployment(replicas=2))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    await apply(api, service)
    discovery = k8s.DiscoveryV1Api(api)
    slices = (await discovery.list_namespaced_endpoint_slice(NS, label_selector="kubernetes.io/service-name=web")).items
    assert len(slices) == 1
    assert [(p.name, p.port) for p in slices[0].ports] == [("http", 80)]
    assert len(slices[0].endpoints) == 2 and all(e.conditions.ready for e in slices[0].endpoints)

    broken = copy.deepcopy(service)
    broken["spec"]["ports"][0]["targetPort"] = "web"
    await apply(api, broken)
    slices = (await discovery.list_namespaced_endpoint_slice(NS, label_selector="kubernetes.io/service-name=web")).items
    assert len(slices) == 1 and slices[0].ports is None and len(slices[0].endpoints) == 2


# --- the API server misbehaving -------------------------------------------------------------------


async def test_fault_injection(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    kube_cluster.fail(403, verb="list", resource="pods", times=1)
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_pod(NS)
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["message"] == (
        'pods is forbidden: User "system:serviceaccount:kubecamp:kubecamp-bot" cannot list resource "pods" in API '
        'group "" in the namespace "team1"'
    )
    await core.list_namespaced_pod(NS)  # only once

    kube_cluster.fail(500, resource="deployments.apps", times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            await k8s.AppsV1Api(api).list_namespaced_deployment(NS)
        assert caught.value.status == 500 and json.loads(caught.value.body)["reason"] == "InternalError"

    kube_cluster.hang(resource="configmaps")
    with pytest.raises(asyncio.TimeoutError):
        await core.list_namespaced_config_map(NS, _request_timeout=0.2)
    kube_cluster.clear_faults()
    await core.list_namespaced_config_map(NS)


async def test_connection_refused_while_stopped(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    await kube_cluster.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await core.list_namespaced_pod(NS)
    await kube_cluster.start()
    assert (await core.read_namespace(NS)).metadata.name == NS


async def test_stop_releases_hung_requests_and_open_watches(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    kube_cluster.hang(resource="pods")
    hung = asyncio.create_task(core.list_namespaced_pod(NS))
    watching = asyncio.create_task(core.list_namespaced_config_map(NS, watch=True, _preload_content=False))
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    await kube_cluster.stop()
    results = await asyncio.wait_for(asyncio.gather(hung, watching, return_exceptions=True), timeout=5)
    assert asyncio.get_running_loop().time() - started < 3
    assert isinstance(results[0], ApiException | aiohttp.ClientError)
    if not isinstance(results[1], BaseException):
        results[1].release()


async def test_kmock_reactions_still_take_precedence(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await k8s.CoreV1Api(api).list_namespaced_pod(NS)  # served by the emulation, before any reaction is added
    kube_cluster.emulator["list v1/pods"] << 418 << {"kind": "Status", "code": 418}
    with pytest.raises(ApiException) as caught:
        await k8s.CoreV1Api(api).list_namespaced_pod(NS)
    assert caught.value.status == 418
    await k8s.CoreV1Api(api).list_namespaced_config_map(NS)  # everything else is still emulated
