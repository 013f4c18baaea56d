"""Checks on what a team builds for an operations platform: an HPA that scales a Deployment on a custom metric
with a scaling policy, a VPA in place, Prometheus alerting rules."""

from __future__ import annotations

from pydantic import Field

from bot.challenges.checks._base import CheckSpec, NamedCheck, Outcome, diagnosis, name_of, register, require
from bot.snapshot import Obj, Snapshot

#: The HPA metric types that read a metric other than a container's CPU or memory (custom or external metrics).
CUSTOM_METRIC_TYPES = ("Pods", "Object", "External")


def _custom_metrics(hpa: Obj) -> list[str]:
    names = []
    for metric in hpa.get("spec", {}).get("metrics") or []:
        kind = metric.get("type")
        if kind in CUSTOM_METRIC_TYPES:
            source = metric.get(kind[0].lower() + kind[1:]) or {}
            names.append(str((source.get("metric") or {}).get("name") or "?"))
    return names


@register("hpa_scales_deployment", "HorizontalPodAutoscaler")
class HpaScalesDeployment(NamedCheck):
    deployment: str = Field(min_length=1)
    min_replicas: int = Field(default=1, ge=1)
    #: At least one metric that is not a container resource: Pods, Object or External.
    custom_metric: bool = False
    #: A scaling policy of its own (`spec.behavior`: scaleUp or scaleDown).
    behavior: bool = False

    def run(self, snapshot: Snapshot) -> Outcome:
        hpa = require(snapshot, "HorizontalPodAutoscaler", self.name)
        spec = hpa.get("spec", {})
        target = spec.get("scaleTargetRef") or {}
        if target.get("kind") != "Deployment" or target.get("name") != self.deployment:
            return Outcome.fail(
                "check.hpa_retargeted",
                name=self.name,
                deployment=self.deployment,
                diagnosis=diagnosis("check.diagnosis.scale_target", deployment=self.deployment),
            )
        minimum = int(spec.get("minReplicas", 1))
        if minimum < self.min_replicas:
            return Outcome.fail(
                "check.hpa_scales_deployment.min_replicas",
                name=self.name,
                min_replicas=minimum,
                wanted=self.min_replicas,
            )
        metrics = _custom_metrics(hpa)
        if self.custom_metric and not metrics:
            return Outcome.fail("check.hpa_scales_deployment.no_custom_metric", name=self.name)
        behavior = spec.get("behavior") or {}
        if self.behavior and not (behavior.get("scaleUp") or behavior.get("scaleDown")):
            return Outcome.fail("check.hpa_scales_deployment.no_behavior", name=self.name)
        return Outcome.ok(
            "check.hpa_scales_deployment.pass",
            name=self.name,
            deployment=self.deployment,
            min_replicas=minimum,
            metrics=", ".join(metrics) or "-",
        )


@register("vpa_targets", "VerticalPodAutoscaler")
class VpaTargets(CheckSpec):
    deployment: str = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        for vpa in snapshot.list("VerticalPodAutoscaler"):
            target = vpa.get("spec", {}).get("targetRef") or {}
            if target.get("kind") == "Deployment" and target.get("name") == self.deployment:
                mode = (vpa.get("spec", {}).get("updatePolicy") or {}).get("updateMode", "Auto")
                return Outcome.ok("check.vpa_targets.pass", deployment=self.deployment, vpa=name_of(vpa), mode=mode)
        return Outcome.fail("check.vpa_targets.fail", deployment=self.deployment)


@register("prometheus_rule_alerts", "PrometheusRule")
class PrometheusRuleAlerts(NamedCheck):
    min_alerts: int = Field(default=1, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        rule = require(snapshot, "PrometheusRule", self.name)
        alerts = [
            str(r.get("alert"))
            for group in rule.get("spec", {}).get("groups") or []
            for r in group.get("rules") or []
            if r.get("alert") and str(r.get("expr") or "").strip()
        ]
        if len(alerts) < self.min_alerts:
            return Outcome.fail(
                "check.prometheus_rule_alerts.fail", name=self.name, alerts=len(alerts), wanted=self.min_alerts
            )
        return Outcome.ok("check.prometheus_rule_alerts.pass", name=self.name, alerts=", ".join(alerts))
