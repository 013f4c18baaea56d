"""The checks on objects shaped as a real cluster writes them (tests/challenges/fixtures/*.yaml; each
file's header names the Kubernetes source or API reference its shape comes from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.checks import Snapshot, Status, parse_check, pod_problems
from bot.i18n import render

FIXTURES = Path(__file__).parent / "fixtures"


def snapshot(*files: str, empty: tuple[str, ...] = ()) -> Snapshot:
    items: dict[str, list[dict[str, Any]]] = {kind: [] for kind in empty}
    for file in files:
        for obj in yaml.safe_load_all((FIXTURES / file).read_text(encoding="utf-8")):
            items.setdefault(obj["kind"], []).append(obj)
    return Snapshot(namespace="team-a", items=items)


def judge(raw: dict[str, Any], snap: Snapshot) -> tuple[Status, str, str]:
    """Status, symptom and diagnosis (or "") in English."""
    outcome = parse_check(raw).evaluate(snap)
    diagnosis = render(outcome.diagnosis, "en") if outcome.diagnosis is not None else ""
    return outcome.status, render(outcome.message, "en"), diagnosis


def without(snap: Snapshot, kind: str, name: str) -> Snapshot:
    items = {k: [o for o in v if not (k == kind and o["metadata"]["name"] == name)] for k, v in snap.items.items()}
    return Snapshot(namespace=snap.namespace, items=items)


def test_err_image_pull_and_image_pull_backoff_read_as_one_stable_problem() -> None:
    snap = snapshot("image-pull-alternation.yaml")
    assert pod_problems(snap.items["Pod"]) == "ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee) ×2"
    names = [p["metadata"]["name"] for p in snap.items["Pod"]]
    for shown, hidden in (names, names[::-1]):  # each Pod alone, whichever of the two reasons it shows
        alone = without(snap, "Pod", hidden)
        for reasons in (["ImagePullBackOff"], ["ErrImagePull"]):  # and either reason listed
            check = {"no_waiting_pods": {"selector": "app=frontend", "reasons": reasons}}
            status, symptom, diagnosis = judge(check, alone)
            assert status is Status.FAIL, (shown, symptom)
            assert symptom.endswith("containers cannot start: ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee)")
            assert diagnosis.endswith("docker.io/library/nginx:1.27-alpinee: not found"), diagnosis


@pytest.mark.parametrize("pod", ["api-server-7c9d8-running", "api-server-7c9d8-waiting"])
def test_a_crash_loop_reads_the_same_running_between_back_offs_or_waiting(pod: str) -> None:
    other = "api-server-7c9d8-waiting" if pod.endswith("running") else "api-server-7c9d8-running"
    snap = without(snapshot("crash-loop-window.yaml"), "Pod", other)
    assert pod_problems(snap.items["Pod"]) == "CrashLoopBackOff (image nginx:1.27-alpine)"
    check = {"no_waiting_pods": {"selector": "app=api-server", "reasons": ["CrashLoopBackOff"]}}
    status, symptom, _ = judge(check, snap)
    assert status is Status.FAIL and "CrashLoopBackOff (image nginx:1.27-alpine)" in symptom
    status, symptom, _ = judge({"pods_ready": {"selector": "app=api-server"}}, snap)
    assert status is Status.FAIL and "CrashLoopBackOff" in symptom


def test_a_stuck_rollout_is_judged_on_its_current_revision() -> None:
    snap = snapshot("stuck-rollout.yaml")
    status, symptom, _ = judge({"deployment_available": {"name": "guestbook-ui", "min": 1}}, snap)
    assert status is Status.FAIL, symptom
    assert symptom.startswith(
        "Deployment guestbook-ui: 0/1 available on the current revision (ProgressDeadlineExceeded)"
    )
    assert "ErrImagePull/ImagePullBackOff (image gcr.io/heptio-images/ks-guestbook-demo:0.3)" in symptom
    assert "leaving" not in symptom  # a Pod being deleted is no problem of the rollout


def test_a_deployment_scaled_to_zero_is_not_available() -> None:
    snap = snapshot("stuck-rollout.yaml")
    deployment = snap.items["Deployment"][0]
    deployment["spec"]["replicas"] = 0
    deployment["status"] = {"observedGeneration": 5}
    snap.items["Pod"] = []
    status, symptom, diagnosis = judge({"deployment_available": {"name": "guestbook-ui", "min": 1}}, snap)
    assert (status, symptom) == (
        Status.FAIL,
        "Deployment guestbook-ui: scaled down to 0, fewer Pods than the service needs",
    )
    assert diagnosis == "spec.replicas of Deployment guestbook-ui is 0 (at least 1)"
    status, symptom, _ = judge({"no_waiting_pods": {"selector": "app=guestbook-ui", "reasons": ["ErrImagePull"]}}, snap)
    assert status is Status.FAIL and "no Pod carries these labels" in symptom


def test_a_service_is_judged_by_the_port_its_image_listens_on() -> None:
    snap = snapshot("service-port-and-slices.yaml")
    status, symptom, diagnosis = judge({"service_endpoints_ready": {"name": "user-service"}}, snap)
    assert status is Status.FAIL
    assert (
        symptom
        == "Service user-service: has endpoints, but connections are refused: nothing listens on its target port"
    )
    assert diagnosis == "targetPort 3000, while the containers listen on 8080"
    snap.items["Service"][0]["spec"]["ports"][0]["targetPort"] = 8080
    status, symptom, _ = judge({"service_endpoints_ready": {"name": "user-service"}}, snap)
    # Ready: the endpoint marked ready, and the one whose ready is unset; not the terminating one.
    assert (status, symptom) == (Status.PASS, "Service user-service: ready endpoints: 2")


def test_a_pvc_is_explained_by_the_provisioners_refusal_not_the_latest_note() -> None:
    snap = snapshot("pvc-waiting-events.yaml")
    status, symptom, diagnosis = judge({"pvc_bound": {"name": "shared", "access_modes": ["ReadWriteOnce"]}}, snap)
    assert status is Status.FAIL
    assert symptom.startswith("PVC shared: Pending — event: ProvisioningFailed: failed to provision volume")
    assert "NodePath only supports ReadWriteOnce" in symptom
    assert diagnosis == "access mode ReadWriteMany does not fit this workload (allowed: ReadWriteOnce)"
    refusal_gone = without(snap, "Event", "shared.1")
    _, symptom, _ = judge({"pvc_bound": {"name": "shared"}}, refusal_gone)
    assert (
        symptom.startswith("PVC shared: Pending — event: ExternalProvisioning: Waiting for a volume")
        and "(×80)" in symptom
    )


def test_other_waiting_reasons_and_the_scheduler_message_are_named() -> None:
    snap = snapshot("other-pod-states.yaml")
    problems = pod_problems(p for p in snap.items["Pod"] if p["metadata"]["labels"]["app"] == "web")
    assert "InvalidImageName (image Nginx:1.27)" in problems
    assert 'CreateContainerConfigError: secret "db-password" not found' in problems
    assert "Unschedulable: 0/3 nodes are available: 1 node(s) had untolerated taint" in problems
    assert "2 Insufficient cpu." in problems and "preemption" not in problems
    status, symptom, _ = judge({"no_pending_pods": {"selector": "app=web"}}, snap)
    assert status is Status.FAIL and "3 Pending" in symptom


def test_a_pod_still_creating_its_container_is_not_yet_a_verdict() -> None:
    snap = snapshot("other-pod-states.yaml", empty=("ReplicaSet",))
    snap.items["Deployment"] = [
        {
            "metadata": {"name": "fresh"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fresh"}}},
            "status": {"replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1},
        }
    ]
    status, symptom, _ = judge({"deployment_available": {"name": "fresh", "min": 1}}, snap)
    assert status is Status.FAIL
    assert symptom == "Deployment fresh: 0/1 available, the other Pods are still starting: verify again in a moment"
    check = {"no_waiting_pods": {"selector": "app=fresh", "reasons": ["ErrImagePull", "ImagePullBackOff"]}}
    status, symptom, _ = judge(check, snap)  # nothing pulled yet: nothing to say the image is right
    assert (status, symptom) == (Status.FAIL, "Pods app=fresh: no container has been created yet: still starting")


def test_hpa_bounds_read_the_spec_whatever_the_metrics_pipeline_says() -> None:
    snap = snapshot("hpa-without-metrics.yaml")
    check = {"hpa_bounds": {"name": "streaming-service-hpa", "min_max_replicas": 5, "max_cpu_utilization": 80}}
    status, symptom, diagnosis = judge(check, snap)
    assert (status, symptom) == (Status.FAIL, "HPA streaming-service-hpa: the Pod count cannot grow past MAXPODS 2")
    assert diagnosis == "maxReplicas 2 is too low for a traffic spike (at least 5)"
    hpa = snap.items["HorizontalPodAutoscaler"][0]
    hpa["spec"]["maxReplicas"] = 10
    hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 70
    # ScalingActive=False is the cluster's metrics pipeline, not something the student's fix can change.
    assert judge(check, snap)[0] is Status.PASS


def test_a_container_that_reconfigures_its_image_is_taken_at_its_declared_port() -> None:
    snap = snapshot("service-port-and-slices.yaml")
    for pod in snap.items["Pod"]:
        pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "conf", "mountPath": "/etc/nginx/conf.d"}]
    assert judge({"service_endpoints_ready": {"name": "user-service"}}, snap)[0] is Status.PASS
