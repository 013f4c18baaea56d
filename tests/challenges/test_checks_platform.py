"""The checks of what a team builds (bot/challenges/checks/platform.py), on specs: each way to fall short, and
malformed objects that must fail, never pass. The streaming-ops build proves them on the simulator too
(tests/scenarios/test_build_streaming_ops.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.challenges.checks import Status
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
