"""The checks of what a team builds (bot/challenges/checks/platform.py), on specs: each way to fall short, and
malformed objects that must fail, never pass. The streaming-ops build proves them on the simulator too
(tests/scenarios/test_build_streaming_ops.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.challenges.checks import Status, parse_check
from bot.i18n import Message
from bot.snapshot import Snapshot
from tests.challenges.test_checks import run


def hpa(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "streaming-service"},
        "minReplicas": 3,
        "maxReplicas": 100,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            },
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "concurrent_viewers"},
                    "target": {"type": "AverageValue", "averageValue": "1000"},
                },
            },
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }
    base.update(spec)
    return {"metadata": {"name": "streaming-service-hpa"}, "spec": base}


CHECK = {
    "hpa_scales_deployment": {
        "name": "streaming-service-hpa",
        "deployment": "streaming-service",
        "min_replicas": 3,
        "custom_metric": True,
        "behavior": True,
    }
}


def test_an_hpa_on_a_custom_metric_with_a_policy_passes() -> None:
    status, text = run(CHECK, HorizontalPodAutoscaler=[hpa()])
    assert status is Status.PASS
    assert text == (
        "HPA streaming-service-hpa: scales Deployment streaming-service (MINPODS 3, custom metrics: concurrent_viewers)"
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"minReplicas": 2}, "HPA streaming-service-hpa: MINPODS is 2; at least 3 are needed"),
        ({"minReplicas": None}, "MINPODS is 1; at least 3 are needed"),
        ({"metrics": hpa()["spec"]["metrics"][:1]}, "no metric besides CPU and memory"),
        ({"metrics": None}, "no metric besides CPU and memory"),
        ({"behavior": None}, "no scaling policy of its own"),
        ({"behavior": {"scaleUp": None}}, "no scaling policy of its own"),
        ({"scaleTargetRef": {"kind": "Deployment", "name": "video-api"}}, "streaming-service"),
        ({"scaleTargetRef": None}, "streaming-service"),
    ],
)
def test_each_way_an_hpa_falls_short_fails_saying_so(spec: dict[str, Any], expected: str) -> None:
    body = hpa(**spec)
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    status, text = run(CHECK, HorizontalPodAutoscaler=[body])
    assert status is Status.FAIL and expected in text, text


def test_a_missing_hpa_fails() -> None:
    status, text = run(CHECK, HorizontalPodAutoscaler=[])
    assert status is Status.FAIL and "HorizontalPodAutoscaler streaming-service-hpa does not exist" in text


def vpa(target: str, mode: str | None = "Off") -> dict[str, Any]:
    spec: dict[str, Any] = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
    if mode is not None:
        spec["updatePolicy"] = {"updateMode": mode}
    return {"metadata": {"name": f"{target}-vpa"}, "spec": spec}


def test_a_vpa_must_target_the_deployment() -> None:
    check = {"vpa_targets": {"deployment": "recommendation-engine"}}
    assert run(check, VerticalPodAutoscaler=[vpa("recommendation-engine")]) == (
        Status.PASS,
        "VPA recommendation-engine-vpa: targets Deployment recommendation-engine (updateMode Off)",
    )
    assert run(check, VerticalPodAutoscaler=[vpa("recommendation-engine", None)])[1].endswith("(updateMode Auto)")
    assert run(check, VerticalPodAutoscaler=[vpa("video-api")]) == (
        Status.FAIL,
        "no VPA targets Deployment recommendation-engine",
    )
    assert run(check, VerticalPodAutoscaler=[{"metadata": {"name": "bare"}}])[0] is Status.FAIL


def rule(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "streaming-alerts"}, "spec": {"groups": [{"name": "streaming", "rules": list(rules)}]}}


def test_alerting_rules_count_only_alerts_with_an_expression() -> None:
    check = {"prometheus_rule_alerts": {"name": "streaming-alerts", "min_alerts": 2}}
    alerts = [{"alert": "A", "expr": "up == 0"}, {"alert": "B", "expr": "x > 1"}]
    assert run(check, PrometheusRule=[rule(*alerts)]) == (
        Status.PASS,
        "PrometheusRule streaming-alerts: alerting rules A, B",
    )
    recording = {"record": "job:rate", "expr": "rate(x[5m])"}
    blank = {"alert": "C", "expr": "  "}
    assert run(check, PrometheusRule=[rule(alerts[0], recording, blank)]) == (
        Status.FAIL,
        "PrometheusRule streaming-alerts: 1 alerting rules (alert and expr); at least 2 are needed",
    )
    assert run(check, PrometheusRule=[{"metadata": {"name": "streaming-alerts"}}])[0] is Status.FAIL
    assert "does not exist" in run(check, PrometheusRule=[])[1]


RULES = """
groups:
  - name: streaming
    rules:
      - alert: ConcurrentViewersHigh
        expr: sum(concurrent_viewers_total) > 10000
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) > 0.01
      - record: job:requests:rate5m
        expr: sum(rate(http_requests_total[5m]))
      - alert: SlowResponses
        expr: histogram_quantile(0.95, x) > 0.5
"""


def prometheus(rule_files: list[str], *, rules_at: str = "/etc/prometheus/rules/", **container: Any) -> list[Any]:
    """The Deployment, its configuration (rule_files) and the rules ConfigMap mounted at `rules_at`."""
    config = {"name": "prometheus-config"}
    mounts = [
        {"name": "config", "mountPath": "/etc/prometheus/prometheus.yml", "subPath": "prometheus.yml"},
        {"name": "rules", "mountPath": rules_at},
    ]
    volumes = [{"name": "config", "configMap": config}, {"name": "rules", "configMap": {"name": "alert-rules"}}]
    template = {
        "spec": {
            "containers": [
                {"name": "prometheus", "image": "prom/prometheus:v2.55.1", "volumeMounts": mounts, **container}
            ],
            "volumes": volumes,
        }
    }
    configmaps = [
        {"metadata": config, "data": {"prometheus.yml": f"global: {{}}\nrule_files: {rule_files}\n"}},
        {"metadata": {"name": "alert-rules"}, "data": {"alert-rules.yaml": RULES}},
    ]
    return [{"metadata": {"name": "prometheus"}, "spec": {"template": template}}, configmaps]


LOADED = {"alerting_rules_loaded": {"name": "prometheus", "rule": "streaming-alerts", "min_alerts": 3}}


def test_rule_files_prometheus_mounts_and_names_count_as_loaded_rules() -> None:
    deployment, configmaps = prometheus(["/etc/prometheus/rules/*.yaml"])
    assert run(LOADED, Deployment=[deployment], ConfigMap=configmaps, PrometheusRule=[]) == (
        Status.PASS,
        "Prometheus prometheus: alerting rules ConcurrentViewersHigh, HighErrorRate, SlowResponses (rule_files)",
    )
    # A relative rule_files path is read from the configuration file's folder, as Prometheus reads it.
    deployment, configmaps = prometheus(["rules/*.yaml"])
    assert run(LOADED, Deployment=[deployment], ConfigMap=configmaps, PrometheusRule=[])[0] is Status.PASS
    # --config.file moves the configuration, and the relative rule files with it.
    deployment, configmaps = prometheus(["*.yaml"], args=["--config.file=/etc/prometheus/rules/alert-rules.yaml"])
    assert run(LOADED, Deployment=[deployment], ConfigMap=configmaps, PrometheusRule=[])[0] is Status.FAIL


def test_rules_mounted_but_not_named_or_named_but_not_mounted_fail_saying_where_they_are() -> None:
    deployment, configmaps = prometheus(["/etc/prometheus/alerts/*.yml"])
    assert run(LOADED, Deployment=[deployment], ConfigMap=configmaps, PrometheusRule=[]) == (
        Status.FAIL,
        "Prometheus prometheus: loads 0 alerting rules (alert and expr); at least 3 are needed | rule_files of "
        "/etc/prometheus/prometheus.yml: /etc/prometheus/alerts/*.yml; rule files mounted in the container: "
        "/etc/prometheus/rules/alert-rules.yaml",
    )
    deployment, configmaps = prometheus(["/etc/prometheus/rules/*.yaml"])
    status, text = run(LOADED, Deployment=[deployment], ConfigMap=configmaps[:1], PrometheusRule=[])
    assert status is Status.FAIL and text.endswith("rule files mounted in the container: -")


def test_a_prometheus_rule_counts_where_prometheus_operator_runs_and_its_absence_is_no_unknown() -> None:
    alerts = [{"alert": name, "expr": "up == 0"} for name in ("A", "B", "C")]
    assert run(LOADED, Deployment=[], ConfigMap=[], PrometheusRule=[rule(*alerts)]) == (
        Status.PASS,
        "Prometheus prometheus: alerting rules A, B, C (PrometheusRule streaming-alerts)",
    )
    assert run(LOADED, Deployment=[], ConfigMap=[], PrometheusRule=[rule(*alerts[:2])])[1].startswith(
        "Prometheus prometheus: loads 2 alerting rules"
    )
    assert run(LOADED, Deployment=[], ConfigMap=[], PrometheusRule=[]) == (
        Status.FAIL,
        "Deployment prometheus does not exist: the scenario's objects are to be fixed, not deleted or renamed",
    )
    # No prometheus-operator in the cluster: the rule files are the one way, and a plain failure says so.
    deployment, configmaps = prometheus(["/etc/prometheus/alerts/*.yml"])
    crd_missing = Message("cluster.crd_missing", {"kind": "PrometheusRule", "api_version": "monitoring.coreos.com/v1"})
    outcome = parse_check(LOADED).evaluate(
        Snapshot(
            namespace="m",
            items={"Deployment": [deployment], "ConfigMap": configmaps},
            errors={"PrometheusRule": crd_missing},
        )
    )
    assert outcome.status is Status.FAIL
    # A list the API refused is no answer at all: could not check.
    forbidden = Message("cluster.forbidden", {"kind": "PrometheusRule"})
    outcome = parse_check(LOADED).evaluate(
        Snapshot(
            namespace="m",
            items={"Deployment": [deployment], "ConfigMap": configmaps},
            errors={"PrometheusRule": forbidden},
        )
    )
    assert outcome.status is Status.UNKNOWN


def ingress(host: str | None, service: str) -> dict[str, Any]:
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}
    rule: dict[str, Any] = {"http": {"paths": [path]}}
    if host is not None:
        rule["host"] = host
    return {"metadata": {"name": "web"}, "spec": {"rules": [rule]}}


def test_an_ingress_must_route_the_host_to_the_service() -> None:
    check = {"ingress_routes": {"host": "prod.company.com", "service": "frontend"}}
    services = [{"metadata": {"name": "frontend"}}]
    assert run(check, Ingress=[ingress("prod.company.com", "frontend")], Service=services) == (
        Status.PASS,
        "Ingress web: sends prod.company.com to Service frontend",
    )
    assert run(check, Ingress=[ingress(None, "frontend")], Service=services)[0] is Status.PASS  # any host
    assert run(check, Ingress=[ingress("dev.company.com", "frontend")], Service=services) == (
        Status.FAIL,
        "no Ingress sends prod.company.com to Service frontend",
    )
    assert run(check, Ingress=[ingress("prod.company.com", "backend")], Service=services)[0] is Status.FAIL
    assert "does not exist" in run(check, Ingress=[ingress("prod.company.com", "frontend")], Service=[])[1]


@pytest.mark.parametrize(
    ("spec", "isolates"),
    [
        ({"podSelector": {}, "policyTypes": ["Ingress"]}, True),  # deny all
        ({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}, True),  # this namespace only
        ({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}, False),  # some Pods only
        ({"podSelector": {}, "ingress": [{}]}, False),  # allows everything
        ({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}, False),  # every namespace
        ({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}, False),
        ({"podSelector": {}, "policyTypes": ["Egress"]}, False),
    ],
)
def test_a_network_policy_isolates_the_namespace_only_when_it_keeps_others_out(
    spec: dict[str, Any], isolates: bool
) -> None:
    policy = {"metadata": {"name": "isolate"}, "spec": spec}
    status, text = run({"network_policy_isolates": {}}, NetworkPolicy=[policy])
    assert (status is Status.PASS) is isolates, text
    assert run({"network_policy_isolates": {}}, NetworkPolicy=[]) == (
        Status.FAIL,
        "no NetworkPolicy selects every Pod of the namespace (podSelector: {}) and keeps out other namespaces' "
        "traffic (NetworkPolicies: -)",
    )
