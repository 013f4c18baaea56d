"""Behaviour that unfolds over simulated time: pull and crash back-offs, repeating events, storage refusals,
the HPA without metrics, and a Fluent Bit that reads its config only at start."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from tests.emulators import KubeCluster
from tests.emulators.images import Image
from tests.emulators_selftest.test_emulator_behaviours import APPLY, deploy, nginx, pods, workload

from .conftest import NS


def state(pod: Any) -> tuple[str, int]:
    """(what `kubectl get pod` shows in STATUS for the only container, its restart count)."""
    status = pod.status.container_statuses[0]
    current = status.state
    shown = current.waiting.reason if current.waiting else "Running" if current.running else current.terminated.reason
    return shown, status.restart_count


def counts(cluster: KubeCluster, name: str, reason: str) -> dict[str, int]:
    return {e["message"]: e["count"] for e in cluster.events(NS, name=name, reason=reason)}


# --- image pulls ----------------------------------------------------------------------------------


async def test_a_missing_image_alternates_between_pull_errors_and_back_off(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    kube_cluster.freeze_time()
    await deploy(api, workload("Deployment", "web", [nginx(image="nginx:1.27-alpinee")]))
    # pulls at 0, 10, 30, 70, 150 (back-off 10, 20, 40, 80 s); the pod worker looks every 10 s in between
    expected = {0: "ErrImagePull", 15: "ErrImagePull", 25: "ImagePullBackOff", 35: "ErrImagePull"}
    expected |= {45: "ImagePullBackOff", 65: "ImagePullBackOff", 75: "ErrImagePull", 100: "ImagePullBackOff"}
    seen = {}
    now = 0
    for at in expected:
        kube_cluster.advance(at - now)
        now = at
        [pod] = await pods(api)
        seen[at] = state(pod)[0]
        assert pod.status.phase == "Pending"
    assert seen == expected
    waiting = pod.status.container_statuses[0].state.waiting
    assert waiting.message.startswith('Back-off pulling image "nginx:1.27-alpinee": ErrImagePull: rpc error: ')
    name = pod.metadata.name
    assert counts(kube_cluster, name, "Pulling") == {'Pulling image "nginx:1.27-alpinee"': 4}
    # in back-off at the syncs of 20, 40, 50, 60, 80, 90 and 100 s
    assert counts(kube_cluster, name, "BackOff") == {'Back-off pulling image "nginx:1.27-alpinee"': 7}
    failed = counts(kube_cluster, name, "Failed")
    assert failed["Error: ErrImagePull"] == 4 and failed["Error: ImagePullBackOff"] == 7
    [pulling] = kube_cluster.events(NS, name=name, reason="Pulling")
    assert pulling["lastTimestamp"] > pulling["firstTimestamp"]


async def test_each_node_pulls_an_image_once(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=4))
    pulled, present = set(), set()
    for pod in await pods(api):
        messages = {e["message"] for e in kube_cluster.events(NS, name=pod.metadata.name, reason="Pulled")}
        if any(m.startswith('Successfully pulled image "nginx:1.27-alpine"') for m in messages):
            pulled.add(pod.spec.node_name)
        else:
            assert messages == {'Container image "nginx:1.27-alpine" already present on machine'}
            present.add(pod.spec.node_name)
    assert pulled == {"kind-worker", "kind-worker2"} and present <= pulled


async def test_an_unparsable_image_is_invalid_image_name(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await deploy(api, workload("Deployment", "web", [nginx(image="Nginx:1.27")]))
    [pod] = await pods(api)
    waiting = pod.status.container_statuses[0].state.waiting
    assert (pod.status.phase, waiting.reason) == ("Pending", "InvalidImageName")
    assert waiting.message == (
        'Failed to apply default image tag "Nginx:1.27": couldn\'t parse image name "Nginx:1.27": '
        "repository name must be lowercase"
    )
    assert counts(kube_cluster, pod.metadata.name, "InspectFailed") == {waiting.message: 1}
    assert counts(kube_cluster, pod.metadata.name, "Failed") == {"Error: InvalidImageName": 1}
    with pytest.raises(ApiException) as caught:
        await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS)
    message = json.loads(caught.value.body)["message"]
    assert message == f'container "web" in pod "{pod.metadata.name}" is waiting to start: InvalidImageName'
    with pytest.raises(ApiException) as caught:
        await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS, previous=True)
    assert "previous terminated container" in caught.value.body


# --- crash loops ----------------------------------------------------------------------------------


async def test_a_crashing_container_runs_between_back_offs_and_its_restarts_climb(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    kube_cluster.freeze_time()
    kube_cluster.add_image(
        "registry.example/app:1",
        Image(
            http_ports=frozenset({8080}), required_env=(("DATABASE_URL",),), env_error="no DATABASE_URL", exit_after=5
        ),
    )
    await deploy(api, workload("Deployment", "app", [{"name": "app", "image": "registry.example/app:1"}]))
    # runs 0-5, restarted at once, runs 5-10, back-off 10 s, runs 20-25, back-off 20 s, runs 45-50, back-off 40 s
    expected = {
        2: ("Running", 0),
        7: ("Running", 1),
        14: ("CrashLoopBackOff", 1),
        22: ("Running", 2),
        33: ("CrashLoopBackOff", 2),
        47: ("Running", 3),
        80: ("CrashLoopBackOff", 3),
    }
    now = 0
    for at, shown in expected.items():
        kube_cluster.advance(at - now)
        now = at
        [pod] = await pods(api)
        assert (at, state(pod)) == (at, shown)
        assert pod.status.phase == "Running"
        current = pod.status.container_statuses[0]
        if current.last_state.terminated:  # the previous container, or the current one while it waits
            same = current.last_state.terminated.container_id == current.container_id
            assert same == (shown[0] == "CrashLoopBackOff")
    status = pod.status.container_statuses[0]
    assert status.state.waiting.message == (
        f"back-off 40s restarting failed container=app pod={pod.metadata.name}_{NS}({pod.metadata.uid})"
    )
    last = status.last_state.terminated
    assert (last.reason, last.exit_code) == ("Error", 1)
    assert (last.finished_at - last.started_at).total_seconds() == 5
    name = pod.metadata.name
    assert counts(kube_cluster, name, "Started") == {"Started container app": 4}
    backoff = f"Back-off restarting failed container app in pod {name}_{NS}({pod.metadata.uid})"
    # at each exit, then every 10 s while waiting: 10 | 25, 35 | 50, 60, 70, 80
    assert counts(kube_cluster, name, "BackOff") == {backoff: 1 + 2 + 4}
    log = await k8s.CoreV1Api(api).read_namespaced_pod_log(name, NS)
    assert log == "no DATABASE_URL"


async def test_crash_back_off_doubles_to_five_minutes(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    kube_cluster.freeze_time()
    await deploy(api, workload("Deployment", "db", [{"name": "db", "image": "postgres:16-alpine"}]))
    # exits at once: restarted at 0, then after 10, 20, 40, 80, 160, 300, 300 s (t = 10, 30, 70, 150, 310, 610)
    now = 0
    for at, restarts, backoff in ((5, 1, "10s"), (100, 4, "1m20s"), (320, 6, "5m0s"), (620, 7, "5m0s")):
        kube_cluster.advance(at - now)
        now = at
        [pod] = await pods(api)
        assert state(pod) == ("CrashLoopBackOff", restarts)
        assert pod.status.container_statuses[0].state.waiting.message.startswith(f"back-off {backoff} restarting")


async def test_back_off_starts_again_after_ten_minutes_of_running(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    kube_cluster.freeze_time()
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "initialDelaySeconds": 700, "failureThreshold": 1}
    await deploy(api, workload("Deployment", "web", [nginx(livenessProbe=probe)]))
    kube_cluster.advance(705)  # killed at 700, restarted at once (the first restart always is)
    [pod] = await pods(api)
    assert state(pod) == ("Running", 1)
    kube_cluster.advance(700)  # killed again at 1400: the back-off entry is older than 10 min, so no back-off
    [pod] = await pods(api)
    assert state(pod) == ("Running", 2)
    unhealthy = counts(kube_cluster, pod.metadata.name, "Unhealthy")
    assert unhealthy == {"Liveness probe failed: HTTP probe failed with statuscode: 404": 2}


async def test_a_rollout_that_completed_never_times_out(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    kube_cluster.freeze_time()
    probe = {"httpGet": {"path": "/", "port": 8080}}  # nothing listens there: killed every 20 s of running
    await deploy(api, workload("Deployment", "web", [nginx(livenessProbe=probe)], progressDeadlineSeconds=60))
    kube_cluster.advance(700)  # ready while it runs, so the rollout completed; then it crash-loops
    status = (await k8s.AppsV1Api(api).read_namespaced_deployment("web", NS)).status
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {
        "Available": ("False", "MinimumReplicasUnavailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }


# --- events ---------------------------------------------------------------------------------------


async def test_failed_scheduling_repeats_while_the_pod_stays_pending(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    kube_cluster.freeze_time()
    await deploy(api, workload("Deployment", "big", [nginx(resources={"requests": {"cpu": "5"}})]))
    [pod] = await pods(api)
    [event] = kube_cluster.events(NS, name=pod.metadata.name, reason="FailedScheduling")
    assert event["count"] == 1 and event["firstTimestamp"] == event["lastTimestamp"]
    kube_cluster.advance(610)  # the scheduler retries a pod no event moved every 5 minutes
    [event] = kube_cluster.events(NS, name=pod.metadata.name, reason="FailedScheduling")
    assert event["count"] == 3 and event["lastTimestamp"] > event["firstTimestamp"]


async def test_events_go_an_hour_after_they_last_happened(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    kube_cluster.freeze_time()
    await deploy(api, workload("Deployment", "web", [nginx()]))
    await deploy(api, workload("Deployment", "big", [nginx(resources={"requests": {"cpu": "5"}})]))
    await k8s.CoreV1Api(api).create_namespaced_persistent_volume_claim(
        NS, claim("shared", accessModes=["ReadWriteMany"])
    )
    await consume(api, "shared")
    [web] = await pods(api, "app=web")
    [big] = await pods(api, "app=big")
    assert kube_cluster.events(NS, name=web.metadata.name, reason="Started")
    kube_cluster.advance(3700)
    assert kube_cluster.events(NS, name=web.metadata.name) == []  # a pod that runs fine says nothing after an hour
    [pending] = kube_cluster.events(NS, name=big.metadata.name)
    assert pending["reason"] == "FailedScheduling" and pending["count"] == 13
    # local-path gave up on the claim: its refusal is gone, the PV controller's waiting note is not
    assert counts(kube_cluster, "shared", "ProvisioningFailed") == {}
    assert counts(kube_cluster, "shared", "ExternalProvisioning")


async def test_failing_readiness_repeats_every_period(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    kube_cluster.freeze_time()
    probe = {"httpGet": {"path": "/ready", "port": 80}, "periodSeconds": 5}
    await deploy(api, workload("Deployment", "web", [nginx(readinessProbe=probe)]))
    kube_cluster.advance(60)
    [pod] = await pods(api)
    assert state(pod) == ("Running", 0) and not pod.status.container_statuses[0].ready
    assert counts(kube_cluster, pod.metadata.name, "Unhealthy") == {
        "Readiness probe failed: HTTP probe failed with statuscode: 404": 13
    }


async def test_failed_create_repeats_as_the_workqueue_backs_off(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    kube_cluster.freeze_time()
    await deploy(api, workload("Deployment", "web", [nginx()], pod={"serviceAccountName": "robot"}))
    [rs] = kube_cluster.objects("replicasets", NS)

    def failed_create() -> int:
        [event] = kube_cluster.events(NS, name=rs["metadata"]["name"], reason="FailedCreate")
        return int(event["count"])

    assert failed_create() == 1
    # retried after 5 ms, doubling to 1000 s: the 15th attempt at 81.9 s, then at 163.8, 327.7, 655.4, 1310.7 s
    kube_cluster.advance(100)
    assert failed_create() == 15
    kube_cluster.advance(1400)
    assert failed_create() == 19


# --- storage --------------------------------------------------------------------------------------


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec},
    }


async def consume(api: k8s.ApiClient, claim_name: str) -> None:
    volume = {"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}
    await deploy(api, workload("Deployment", f"use-{claim_name}", [nginx()], pod={"volumes": [volume]}))


async def test_local_path_refuses_what_it_cannot_provision(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    refused = {
        "selected": claim("selected", selector={"matchLabels": {"disk": "ssd"}}),
        "shared": claim("shared", accessModes=["ReadWriteMany"]),
        "raw": claim("raw", volumeMode="Block"),
    }
    for name, body in {**refused, "huge": claim("huge", resources={"requests": {"storage": "500Gi"}})}.items():
        await core.create_namespaced_persistent_volume_claim(NS, body)
        await consume(api, name)
    component = kube_cluster.events(NS, name="shared", reason="ProvisioningFailed")[0]["source"]["component"]
    assert component.startswith("rancher.io/local-path_local-path-provisioner-")
    prefix = 'failed to provision volume with StorageClass "standard": '
    assert counts(kube_cluster, "selected", "ProvisioningFailed") == {
        f"{prefix}claim.Spec.Selector is not supported": 1
    }
    assert counts(kube_cluster, "shared", "ProvisioningFailed") == {
        f"{prefix}NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes": 1
    }
    assert counts(kube_cluster, "raw", "ProvisioningFailed") == {
        "rancher.io/local-path does not support block volume provisioning": 1
    }
    phases = {c.metadata.name: c.status.phase for c in (await core.list_namespaced_persistent_volume_claim(NS)).items}
    assert phases == {"huge": "Bound", "raw": "Pending", "selected": "Pending", "shared": "Pending"}
    kube_cluster.advance(60)  # the PV controller says it again on every 15 s resync
    waiting = (
        "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually "
        "by the system administrator. If volume creation is delayed, please verify that the provisioner is running "
        "and correctly registered."
    )
    assert counts(kube_cluster, "shared", "ExternalProvisioning") == {waiting: 5}
    assert sum(counts(kube_cluster, "shared", "ProvisioningFailed").values()) == 1  # the provisioner is done with it


async def test_pending_claims_repeat_their_reason(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    await core.create_namespaced_persistent_volume_claim(NS, claim("typo", storageClassName="standard-v2"))
    await core.create_namespaced_persistent_volume_claim(NS, claim("static", storageClassName=""))
    await core.create_namespaced_persistent_volume_claim(NS, claim("later"))
    kube_cluster.advance(30)
    assert counts(kube_cluster, "typo", "ProvisioningFailed") == {
        'storageclass.storage.k8s.io "standard-v2" not found': 3
    }
    assert counts(kube_cluster, "static", "FailedBinding") == {
        "no persistent volumes available for this claim and no storage class is set": 3
    }
    assert counts(kube_cluster, "later", "WaitForFirstConsumer") == {
        "waiting for first consumer to be created before binding": 3
    }


# --- HPA ------------------------------------------------------------------------------------------


def hpa(name: str, low: int, high: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    }


async def test_hpa_without_a_metrics_server(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    autoscaling = k8s.AutoscalingV2Api(api)
    await deploy(api, workload("Deployment", "web", [nginx()], replicas=3))
    await autoscaling.patch_namespaced_horizontal_pod_autoscaler("web", NS, hpa("web", 2, 5), **APPLY)
    raw = kube_cluster.objects("horizontalpodautoscalers", NS)[0]["status"]
    assert (raw["currentReplicas"], raw["desiredReplicas"], raw["currentMetrics"]) == (3, 0, None)
    conditions = {c["type"]: c for c in raw["conditions"]}
    assert set(conditions) == {"AbleToScale", "ScalingActive"}
    assert all(set(c) == {"type", "status", "reason", "message", "lastTransitionTime"} for c in raw["conditions"])
    assert (conditions["AbleToScale"]["status"], conditions["AbleToScale"]["reason"]) == ("True", "SucceededGetScale")
    failure = (
        "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from "
        "resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
    )
    active = conditions["ScalingActive"]
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert active["message"] == f"the HPA was unable to compute the replica count: {failure}"
    kube_cluster.advance(30)
    assert counts(kube_cluster, "web", "FailedGetResourceMetric") == {failure: 3}
    assert counts(kube_cluster, "web", "FailedComputeMetricsReplicas") == {
        f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {failure}": 3
    }

    # below minReplicas it scales without any metric, and keeps that as the desired count
    await deploy(api, workload("Deployment", "low", [nginx()], replicas=1))
    await autoscaling.patch_namespaced_horizontal_pod_autoscaler("low", NS, hpa("low", 3, 5), **APPLY)
    assert (await k8s.AppsV1Api(api).read_namespaced_deployment("low", NS)).spec.replicas == 3
    status = (await autoscaling.read_namespaced_horizontal_pod_autoscaler("low", NS)).status
    assert (status.current_replicas, status.desired_replicas) == (3, 3)
    assert counts(kube_cluster, "low", "SuccessfulRescale") == {
        "New size: 3; reason: Current number of replicas below Spec.MinReplicas": 1
    }


# --- Fluent Bit -----------------------------------------------------------------------------------

ES_STUB = """server {
    listen 9200;
    location / {
        default_type application/json;
        return 200 '{"errors":false,"items":[]}';
    }
}
"""


def fluent_bit_config(host: str) -> str:
    return f"""[SERVICE]
    Flush                  1
    HTTP_Server            On
    HTTP_Listen            0.0.0.0
    HTTP_Port              2020
    Health_Check           On
    HC_Errors_Count        0
    HC_Retry_Failure_Count 0
    HC_Period              5

[INPUT]
    Name   dummy
    Tag    app.log

[OUTPUT]
    Name   es
    Match  *
    Host   {host}
    Port   9200
    Suppress_Type_Name On
"""


async def logging_stack(
    api: k8s.ApiClient,
    host: str,
    *,
    stub_listens: bool = True,
    args: list[str] | None = None,
    mount: str = "/fluent-bit/etc/",
) -> None:
    core = k8s.CoreV1Api(api)
    stub = ES_STUB if stub_listens else ES_STUB.replace("9200", "80")
    await core.create_namespaced_config_map(
        NS, {"metadata": {"name": "elasticsearch-stub"}, "data": {"default.conf": stub}}
    )
    es_volume = {"name": "conf", "configMap": {"name": "elasticsearch-stub"}}
    es = nginx(name="elasticsearch", ports=[{"containerPort": 9200}])
    es["volumeMounts"] = [{"name": "conf", "mountPath": "/etc/nginx/conf.d"}]
    await deploy(api, workload("Deployment", "elasticsearch", [es], pod={"volumes": [es_volume]}))
    service = {
        "metadata": {"name": "elasticsearch"},
        "spec": {"selector": {"app": "elasticsearch"}, "ports": [{"port": 9200, "targetPort": 9200}]},
    }
    await core.create_namespaced_service(NS, service)
    config = {"metadata": {"name": "fluent-bit-config"}, "data": {"fluent-bit.conf": fluent_bit_config(host)}}
    await core.create_namespaced_config_map(NS, config)
    fluent_bit = {
        "name": "fluent-bit",
        "image": "fluent/fluent-bit:3.2",
        "ports": [{"name": "http", "containerPort": 2020}],
        "readinessProbe": {"httpGet": {"path": "/api/v1/health", "port": 2020}, "periodSeconds": 5},
        "volumeMounts": [{"name": "config", "mountPath": mount}],
        **({"args": args} if args else {}),
    }
    volume = {"name": "config", "configMap": {"name": "fluent-bit-config"}}
    await deploy(api, workload("Deployment", "fluent-bit", [fluent_bit], pod={"volumes": [volume]}))


async def fluent_bit_ready(api: k8s.ApiClient) -> tuple[str, bool]:
    [pod] = await pods(api, "app=fluent-bit")
    return state(pod)[0], bool(pod.status.container_statuses[0].ready)


async def test_fluent_bit_is_ready_only_once_restarted_with_a_reachable_output(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    await logging_stack(api, host="elasticsearch.logging.svc")  # a namespace that does not exist
    assert await fluent_bit_ready(api) == ("Running", False)
    [pod] = await pods(api, "app=fluent-bit")
    assert counts(kube_cluster, pod.metadata.name, "Unhealthy") == {
        "Readiness probe failed: HTTP probe failed with statuscode: 500": 1
    }
    log = await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS)
    assert "[net] getaddrinfo(host='elasticsearch.logging.svc', err=4): Domain name not found" in log
    assert "[output:es:es.0] no upstream connections available" in log

    core = k8s.CoreV1Api(api)
    await core.patch_namespaced_config_map(
        "fluent-bit-config", NS, {"data": {"fluent-bit.conf": fluent_bit_config("elasticsearch")}}
    )
    kube_cluster.advance(120)  # the file in the volume changes, the running process never reads it again
    assert await fluent_bit_ready(api) == ("Running", False)

    restarted = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}
    await k8s.AppsV1Api(api).patch_namespaced_deployment("fluent-bit", NS, restarted)
    assert await fluent_bit_ready(api) == ("Running", True)
    [pod] = await pods(api, "app=fluent-bit")
    log = await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS)
    assert log.startswith("Fluent Bit v3.2.0") and "[error]" not in log and "[ warn]" not in log


async def test_fluent_bit_resolves_its_output_like_cluster_dns(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await logging_stack(api, host=f"elasticsearch.{NS}.svc.cluster.local")
    assert await fluent_bit_ready(api) == ("Running", True)


async def test_fluent_bit_reads_the_config_its_args_name(kube_cluster: KubeCluster, api: k8s.ApiClient) -> None:
    await logging_stack(api, host="elasticsearch", args=["-c", "/config/fluent-bit.conf"], mount="/config")
    assert await fluent_bit_ready(api) == ("Running", True)


async def test_fluent_bit_stays_unready_when_the_stub_listens_elsewhere(
    kube_cluster: KubeCluster, api: k8s.ApiClient
) -> None:
    await logging_stack(api, host="elasticsearch", stub_listens=False)
    assert await fluent_bit_ready(api) == ("Running", False)
    [pod] = await pods(api, "app=fluent-bit")
    log = await k8s.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NS)
    assert "[net] TCP connection failed: elasticsearch:9200 (Connection refused)" in log
