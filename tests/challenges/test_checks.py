"""The checks that read only specs, the could-not-check path, and argument validation.

Checks that read status (pods, deployments, PVCs, endpoints) are proven against the behaviour
simulator in tests/scenarios/, where the status is derived, never written by a test.
"""

from typing import Any

import pytest

from bot.challenges.checks import REGISTRY, Snapshot, Status, parse_check
from bot.i18n import LANGS, Message, keys, render


def deployment(name: str, **spec: Any) -> dict[str, Any]:
    template = spec.pop("template", {"spec": {"containers": [{"name": "app", "image": "nginx:1.27-alpine"}]}})
    return {"metadata": {"name": name}, "spec": {"replicas": 5, "template": template, **spec}}


def run(raw: dict[str, Any], **items: list[dict[str, Any]]) -> tuple[Status, str]:
    """The status and `symptom | diagnosis` as rendered in English."""
    outcome = parse_check(raw).evaluate(Snapshot(namespace="team-a", items=dict(items)))
    text = render(outcome.message, "en")
    if outcome.diagnosis is not None:
        text += " | " + render(outcome.diagnosis, "en")
    return outcome.status, text


def test_rolling_update_that_takes_every_pod_down_fails() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%", "maxSurge": 0}}
    status, text = run({"rolling_update_safe": {"name": "api"}}, Deployment=[deployment("api", strategy=strategy)])
    assert status is Status.FAIL
    symptom, diagnosis = text.split(" | ")
    assert "lets 5 of 5 Pods go down at once" in symptom and "100%" not in symptom
    assert diagnosis == "maxUnavailable 100% (at most 25%)"


def test_rolling_update_within_bound_passes_and_default_strategy_is_safe() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    assert (
        run({"rolling_update_safe": {"name": "api"}}, Deployment=[deployment("api", strategy=strategy)])[0]
        is Status.PASS
    )
    assert run({"rolling_update_safe": {"name": "api"}}, Deployment=[deployment("api")])[0] is Status.PASS


def test_recreate_is_not_a_safe_rolling_update() -> None:
    status, text = run(
        {"rolling_update_safe": {"name": "api"}}, Deployment=[deployment("api", strategy={"type": "Recreate"})]
    )
    assert status is Status.FAIL and "takes every Pod down at once" in text and "strategy.type Recreate" in text


def probe_template(**probe: Any) -> dict[str, Any]:
    container = {"name": "app", "image": "x", "ports": [{"containerPort": 80, "name": "http"}], "livenessProbe": probe}
    return {"spec": {"containers": [container]}}


@pytest.mark.parametrize(
    ("probe", "args", "expected"),
    [
        (
            {"httpGet": {"path": "/", "port": 80}, "timeoutSeconds": 1},
            {"min_timeout_seconds": 2},
            "timeoutSeconds 1s is too short",
        ),
        (
            {"httpGet": {"path": "/", "port": 8080}, "timeoutSeconds": 3},
            {},
            "port 8080 is not where the container listens (80)",
        ),
        ({"httpGet": {"path": "/health", "port": "http"}}, {"paths": ["/"]}, "path /health is not served"),
    ],
)
def test_probe_faults_are_named(probe: dict[str, Any], args: dict[str, Any], expected: str) -> None:
    status, text = run(
        {"probes_sane": {"name": "web", **args}}, Deployment=[deployment("web", template=probe_template(**probe))]
    )
    assert status is Status.FAIL
    assert expected in text


def test_sane_probe_by_port_name_passes() -> None:
    probe = {"httpGet": {"path": "/", "port": "http"}, "timeoutSeconds": 2}
    check = {"probes_sane": {"name": "web", "min_timeout_seconds": 2, "paths": ["/"]}}
    assert run(check, Deployment=[deployment("web", template=probe_template(**probe))])[0] is Status.PASS


def test_excessive_requests_fail_with_the_container_and_amount() -> None:
    template = {
        "spec": {
            "containers": [
                {"name": "order", "image": "x", "resources": {"requests": {"cpu": "2000m", "memory": "4Gi"}}}
            ]
        }
    }
    status, text = run(
        {"resource_requests_within": {"name": "order", "max_cpu": "500m", "max_memory": "512Mi"}},
        Deployment=[deployment("order", template=template)],
    )
    assert status is Status.FAIL
    symptom, diagnosis = text.split(" | ")
    assert symptom == "Deployment order, container order: requests more cpu than this service may reserve"
    assert diagnosis == "cpu request 2000m is too large (at most 500m)"


def test_hpa_bounds() -> None:
    hpa = {
        "metadata": {"name": "web"},
        "spec": {
            "maxReplicas": 2,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}},
                }
            ],
        },
    }
    check = {"hpa_bounds": {"name": "web", "min_max_replicas": 5, "max_cpu_utilization": 80}}
    assert "maxReplicas 2 is too low" in run(check, HorizontalPodAutoscaler=[hpa])[1]
    hpa["spec"]["maxReplicas"] = 10
    assert "CPU target utilization 90% is too high" in run(check, HorizontalPodAutoscaler=[hpa])[1]


def test_configmap_key_contains_and_not_contains() -> None:
    cm = {"metadata": {"name": "fb"}, "data": {"fluent-bit.conf": "[OUTPUT]\n    Host elasticsearch.wrong-namespace\n"}}
    check = {
        "configmap_key": {
            "name": "fb",
            "key": "fluent-bit.conf",
            "contains": ["elasticsearch.logging-ns"],
            "not_contains": ["wrong-namespace"],
        }
    }
    status, text = run(check, ConfigMap=[cm])
    assert status is Status.FAIL and "still contains wrong-namespace" in text
    missing = run({"configmap_key": {"name": "fb", "key": "other"}}, ConfigMap=[cm])
    assert missing == (Status.FAIL, "ConfigMap fb has no key other")
    assert "still points to the wrong place | fluent-bit.conf still contains wrong-namespace" in text


def test_prometheus_without_selector_selects_nothing() -> None:
    monitor = {"metadata": {"name": "sm", "labels": {"team": "streaming"}}}
    prometheus = {"metadata": {"name": "p"}, "spec": {}}
    status, text = run(
        {"prometheus_selects_servicemonitors": {"name": "p"}}, Prometheus=[prometheus], ServiceMonitor=[monitor]
    )
    assert status is Status.FAIL and "selects no ServiceMonitor" in text
    assert "serviceMonitorSelector <none> matches no ServiceMonitor" in text and "sm: team=streaming" in text
    prometheus["spec"] = {"serviceMonitorSelector": {"matchLabels": {"team": "streaming"}}}
    assert (
        run({"prometheus_selects_servicemonitors": {"name": "p"}}, Prometheus=[prometheus], ServiceMonitor=[monitor])[0]
        is Status.PASS
    )


def test_vpa_in_off_mode_does_not_conflict_with_hpa() -> None:
    target = {"kind": "Deployment", "name": "rec", "apiVersion": "apps/v1"}
    hpa = {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": target}}
    vpa = {"metadata": {"name": "v"}, "spec": {"targetRef": target, "updatePolicy": {"updateMode": "Auto"}}}
    check = {"no_vpa_hpa_conflict": {"deployment": "rec"}}
    status, text = run(check, HorizontalPodAutoscaler=[hpa], VerticalPodAutoscaler=[vpa])
    assert status is Status.FAIL and "updateMode Auto" in text
    vpa["spec"]["updatePolicy"]["updateMode"] = "Off"
    assert run(check, HorizontalPodAutoscaler=[hpa], VerticalPodAutoscaler=[vpa])[0] is Status.PASS


def test_missing_object_fails_and_says_so() -> None:
    assert run({"deployment_available": {"name": "gone"}}, Deployment=[], Pod=[]) == (
        Status.FAIL,
        "Deployment gone does not exist: the scenario's objects are to be fixed, not deleted or renamed",
    )


def test_a_kind_that_could_not_be_listed_is_never_a_pass() -> None:
    snapshot = Snapshot(namespace="team-a", errors={"Deployment": Message("cluster.forbidden", {"kind": "Deployment"})})
    for name, cls in REGISTRY.items():
        if "Deployment" not in cls.kinds:
            continue
        args = {"deployment": "x"} if "deployment" in cls.model_fields else {"name": "x"}
        outcome = cls.model_validate(args).evaluate(snapshot)
        assert outcome.status is Status.UNKNOWN, name
        assert "could not check" in render(outcome.message, "en")


def test_crd_not_installed_reads_as_such() -> None:
    reason = Message("cluster.crd_missing", {"kind": "Prometheus", "api_version": "monitoring.coreos.com/v1"})
    snapshot = Snapshot(namespace="t", items={"ServiceMonitor": []}, errors={"Prometheus": reason})
    outcome = parse_check({"prometheus_selects_servicemonitors": {"name": "p"}}).evaluate(snapshot)
    assert outcome.status is Status.UNKNOWN
    assert render(outcome.message, "en") == "could not check: CRD not installed: Prometheus (monitoring.coreos.com/v1)"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"nope": {}}, "unknown check 'nope'"),
        ({"deployment_available": {"nam": "x"}}, "deployment_available.nam: unknown argument"),
        ({"deployment_available": {}}, "deployment_available.name: required argument is missing"),
        ({"deployment_available": {"name": "x", "min": 0}}, "deployment_available.min"),
        ({"no_waiting_pods": {"selector": "app=x,", "reasons": ["X"]}}, "no_waiting_pods.selector"),
        ({"deployment_available": "frontend"}, "arguments must be a mapping"),
        ({"a": {}, "b": {}}, "exactly one key"),
        ({"pvc_bound": {"name": "x", "access_modes": ["ReadWriteSometimes"]}}, "pvc_bound.access_modes"),
        ({"pvc_bound": {"name": "x", "max_storage": "1 Gi"}}, "pvc_bound.max_storage: Value error, '1 Gi' is not a"),
        ({"resource_requests_within": {"name": "x", "max_cpu": "NaN"}}, "max_cpu: Value error, 'NaN' is not a"),
    ],
)
def test_bad_check_arguments_are_named(raw: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_check(raw)


def test_every_message_key_used_exists_in_both_languages() -> None:
    import re
    from pathlib import Path

    source = "\n".join(p.read_text(encoding="utf-8") for root in ("bot", "cogs") for p in Path(root).rglob("*.py"))
    used = set(re.findall(r'"((?:check|cluster|run|snapshot|render|flow|err|cog|cmd)\.[a-z_.]+)"', source))
    # Keys built from a value: every value they can take.
    used |= {f"render.results_title.{trigger}" for trigger in ("manual", "auto", "final")}
    used |= {"cog.stopped_by_team", "cog.stopped_by_instructor"}
    used -= {"render.results_title.", "cog.stopped_by_"}
    assert used, "the pattern must find the keys"
    assert used <= keys(), sorted(used - keys())
    from bot.i18n import _catalogue

    for key, texts in _catalogue().items():
        assert set(texts) == set(LANGS), key


def pinned_deployment(**container: Any) -> dict[str, Any]:
    base = {
        "name": "web",
        "image": "nginx:1.27-alpine",
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
        "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
    }
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{**base, **container}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    return deployment("web", template=template, selector={"matchLabels": {"app": "web"}})


PIN = {
    "name": "web",
    "replicas": 5,
    "images": ["nginx"],
    "probes": ["readiness"],
    "selector": "app=web",
    "claims": ["data"],
    "limits": True,
}


@pytest.mark.parametrize(
    ("change", "symptom", "diagnosis"),
    [
        ({}, "Deployment web: still the scenario's workload", ""),
        (
            {"image": "httpd:2.4"},
            "runs another application's image (httpd:2.4)",
            "image httpd:2.4; this service runs nginx",
        ),
        ({"readinessProbe": None}, "has no readiness probe", "readinessProbe is missing"),
        ({"resources": {"limits": {"cpu": "1"}}}, "has no memory limit", "resources.limits.memory is not set"),
    ],
)
def test_workload_pinned_names_what_a_fix_must_keep(change: dict[str, Any], symptom: str, diagnosis: str) -> None:
    status, text = run({"workload_pinned": PIN}, Deployment=[pinned_deployment(**change)])
    assert status is (Status.FAIL if diagnosis else Status.PASS), text
    assert symptom in text and diagnosis in text


def test_workload_pinned_keeps_replicas_labels_and_claims() -> None:
    scaled = pinned_deployment()
    scaled["spec"]["replicas"] = 1
    assert "scaled down to 1" in run({"workload_pinned": PIN}, Deployment=[scaled])[1]
    relabelled = pinned_deployment()
    relabelled["spec"]["template"]["metadata"]["labels"] = {"app": "web-v2"}
    assert "no longer carry the labels" in run({"workload_pinned": PIN}, Deployment=[relabelled])[1]
    unmounted = pinned_deployment()
    unmounted["spec"]["template"]["spec"]["volumes"] = [{"name": "d", "emptyDir": {}}]
    assert "no longer mount the PVC data" in run({"workload_pinned": PIN}, Deployment=[unmounted])[1]


def test_pods_placed_wants_every_pod_on_a_ready_node() -> None:
    def node(name: str, ready: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}

    pod = {
        "metadata": {"name": "db-0", "labels": {"app": "db"}},
        "spec": {"nodeName": "node-1"},
        "status": {"phase": "Running"},
    }
    check = {"pods_placed": {"selector": "app=db"}}
    assert run(check, Pod=[pod], Node=[node("node-1", "True")])[0] is Status.PASS
    status, text = run(check, Pod=[pod], Node=[node("node-1", "Unknown"), node("node-2", "True")])
    assert status is Status.FAIL and "placed on node node-1, which is not Ready" in text
    assert "no Pod carries these labels" in run(check, Pod=[], Node=[])[1]


def test_autoscaler_and_monitor_pins() -> None:
    hpa = {
        "metadata": {"name": "h"},
        "spec": {"maxReplicas": 10, "scaleTargetRef": {"kind": "Deployment", "name": "other"}},
    }
    status, text = run({"hpa_bounds": {"name": "h", "deployment": "web"}}, HorizontalPodAutoscaler=[hpa])
    assert status is Status.FAIL and "scales something other than Deployment web" in text
    status, text = run(
        {"no_vpa_hpa_conflict": {"deployment": "web", "hpa": "gone"}},
        HorizontalPodAutoscaler=[hpa],
        VerticalPodAutoscaler=[],
    )
    assert status is Status.FAIL and "HorizontalPodAutoscaler gone does not exist" in text
    monitor = {"metadata": {"name": "impostor", "labels": {"x": "y"}}}
    prometheus = {"metadata": {"name": "p"}, "spec": {"serviceMonitorSelector": {}}}
    check = {"prometheus_selects_servicemonitors": {"name": "p", "servicemonitor": "streaming-metrics"}}
    status, text = run(check, Prometheus=[prometheus], ServiceMonitor=[monitor])
    assert status is Status.FAIL and "ServiceMonitor streaming-metrics does not exist" in text
