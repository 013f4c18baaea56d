"""Checks on what a team builds for an operations platform: an HPA that scales a Deployment on a custom metric
with a scaling policy, a VPA in place, Prometheus alerting rules (a PrometheusRule, or rule files Prometheus loads)."""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath
from typing import Any

import yaml
from pydantic import Field

from bot.challenges.checks._base import (
    CheckSpec,
    Missing,
    NamedCheck,
    Outcome,
    diagnosis,
    name_of,
    register,
    require,
    template_containers,
)
from bot.challenges.checks.config import mounted_files
from bot.i18n import Message
from bot.snapshot import Obj, Snapshot, SnapshotGap

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


#: Where the prom/prometheus image reads its configuration unless `--config.file` says otherwise.
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"


@register("alerting_rules_loaded", "Deployment", "ConfigMap", "PrometheusRule")
class AlertingRulesLoaded(NamedCheck):
    """The Prometheus Deployment `name` loads at least `min_alerts` alerting rules: from rule files (ConfigMaps
    mounted in its container that its configuration's `rule_files` name, as the course deploys plain
    Prometheus with alert-rules.yaml) or, with prometheus-operator, from the PrometheusRule `rule`."""

    rule: str | None = None
    min_alerts: int = Field(default=1, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = snapshot.get("Deployment", self.name)
        alerts: list[str] = []
        explained: Message | None = None
        if deployment is not None:
            alerts, explained = _rule_file_alerts(snapshot, deployment)
            if len(alerts) >= self.min_alerts:
                return self._ok(alerts, "rule_files")
        rule = self._prometheus_rule(snapshot)
        if rule is not None:
            from_rule = _rule_alerts(rule.get("spec") or {})
            if len(from_rule) >= self.min_alerts:
                return self._ok(from_rule, f"PrometheusRule {self.rule}")
            alerts = max(alerts, from_rule, key=len)
        elif deployment is None:
            raise Missing("Deployment", self.name)
        return Outcome.fail(
            "check.alerting_rules_loaded.fail",
            name=self.name,
            alerts=len(alerts),
            wanted=self.min_alerts,
            diagnosis=explained,
        )

    def _ok(self, alerts: list[str], source: str) -> Outcome:
        return Outcome.ok("check.alerting_rules_loaded.pass", name=self.name, alerts=", ".join(alerts), source=source)

    def _prometheus_rule(self, snapshot: Snapshot) -> Obj | None:
        if self.rule is None:
            return None
        try:
            return snapshot.get("PrometheusRule", self.rule)
        except SnapshotGap as gap:
            if gap.reason.key == "cluster.crd_missing":
                return None  # no prometheus-operator in the cluster: rule files are the one way
            raise


def _rule_alerts(document: Obj) -> list[str]:
    """The alerting rules (an `alert` with an `expr`) of a rule file's or a PrometheusRule's `groups`."""
    groups = document.get("groups") if isinstance(document, dict) else None
    return [
        str(r.get("alert"))
        for group in (groups if isinstance(groups, list) else [])
        if isinstance(group, dict)
        for r in group.get("rules") or []
        if isinstance(r, dict) and r.get("alert") and str(r.get("expr") or "").strip()
    ]


def _config_path(container: Obj) -> str:
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    for index, word in enumerate(words):
        if word.startswith("--config.file="):
            return word.split("=", 1)[1]
        if word == "--config.file" and index + 1 < len(words):
            return words[index + 1]
    return PROMETHEUS_CONFIG


def _load(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _rule_file_alerts(snapshot: Snapshot, deployment: Obj) -> tuple[list[str], Message | None]:
    """The alerting rules of the files Prometheus's `rule_files` names among those mounted in its container,
    and what was found where when they are too few."""
    template = deployment.get("spec", {}).get("template", {}).get("spec", {})
    alerts: list[str] = []
    explained: Message | None = None
    for container in template_containers(template):
        files = mounted_files(snapshot, template, container)
        config_path = _config_path(container)
        config = _load(files.get(config_path, ""))
        listed = config.get("rule_files") if isinstance(config, dict) else None
        base = posixpath.dirname(config_path)
        patterns = [posixpath.join(base, p) for p in (listed if isinstance(listed, list) else []) if isinstance(p, str)]
        rule_files = sorted(f for f in files if any(PurePosixPath(f).match(p) for p in patterns))
        alerts += [alert for path in rule_files for alert in _rule_alerts(_load(files[path]))]
        if config_path in files:
            explained = diagnosis(
                "check.diagnosis.rule_files",
                config=config_path,
                patterns=", ".join(patterns) or "-",
                files=", ".join(sorted(set(files) - {config_path})) or "-",
            )
    return alerts, explained
