"""Checks on autoscalers: HPA bounds and HPA/VPA conflicts."""

from __future__ import annotations

from pydantic import Field

from bot.challenges.checks._base import (
    CheckSpec,
    NamedCheck,
    Outcome,
    diagnosis,
    name_of,
    register,
    require,
)
from bot.snapshot import Obj, Snapshot


def _cpu_targets(hpa: Obj) -> list[int]:
    metrics = hpa.get("spec", {}).get("metrics")
    if not metrics:
        return [80]  # the HPA default when no metric is given
    return [
        int(((m.get("resource") or {}).get("target") or {}).get("averageUtilization", 0))
        for m in metrics
        if m.get("type") == "Resource"
        and (m.get("resource") or {}).get("name") == "cpu"
        and ((m.get("resource") or {}).get("target") or {}).get("type") == "Utilization"
    ]


def _targets(obj: Obj, ref_key: str, deployment: str) -> bool:
    ref = obj.get("spec", {}).get(ref_key) or {}
    return bool(ref.get("kind") == "Deployment" and ref.get("name") == deployment)


def _retargeted(hpa: str, deployment: str) -> Outcome:
    return Outcome.fail(
        "check.hpa_retargeted",
        name=hpa,
        deployment=deployment,
        diagnosis=diagnosis("check.diagnosis.scale_target", deployment=deployment),
    )


@register("hpa_bounds", "HorizontalPodAutoscaler")
class HpaBounds(NamedCheck):
    min_max_replicas: int | None = Field(default=None, ge=1)
    max_cpu_utilization: int | None = Field(default=None, ge=1, le=100)
    #: The Deployment the HPA must keep scaling (pointing it elsewhere is no fix).
    deployment: str | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        hpa = require(snapshot, "HorizontalPodAutoscaler", self.name)
        if self.deployment is not None and not _targets(hpa, "scaleTargetRef", self.deployment):
            return _retargeted(self.name, self.deployment)
        max_replicas = int(hpa.get("spec", {}).get("maxReplicas", 0))
        if self.min_max_replicas is not None and max_replicas < self.min_max_replicas:
            return Outcome.fail(
                "check.hpa_bounds.max_replicas",
                name=self.name,
                max_replicas=max_replicas,
                diagnosis=diagnosis(
                    "check.diagnosis.max_replicas", max_replicas=max_replicas, wanted=self.min_max_replicas
                ),
            )
        if self.max_cpu_utilization is not None:
            for target in _cpu_targets(hpa):
                if target > self.max_cpu_utilization:
                    return Outcome.fail(
                        "check.hpa_bounds.cpu",
                        name=self.name,
                        target=target,
                        diagnosis=diagnosis("check.diagnosis.cpu_target", target=target, max=self.max_cpu_utilization),
                    )
        return Outcome.ok("check.hpa_bounds.pass", name=self.name, max_replicas=max_replicas)


def _vpa_controls_cpu_or_memory(vpa: Obj) -> bool:
    policies = (vpa.get("spec", {}).get("resourcePolicy") or {}).get("containerPolicies") or []
    if not policies:
        return True
    for policy in policies:
        if policy.get("mode") == "Off":
            continue
        controlled = policy.get("controlledResources") or ["cpu", "memory"]
        if {"cpu", "memory"} & set(controlled):
            return True
    return False


@register("no_vpa_hpa_conflict", "HorizontalPodAutoscaler", "VerticalPodAutoscaler")
class NoVpaHpaConflict(CheckSpec):
    deployment: str = Field(min_length=1)
    #: The HPA that keeps scaling the Deployment: deleting it silences the conflict without resolving it.
    hpa: str | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        if self.hpa is not None and not _targets(
            require(snapshot, "HorizontalPodAutoscaler", self.hpa), "scaleTargetRef", self.deployment
        ):
            return _retargeted(self.hpa, self.deployment)
        hpas = [
            h
            for h in snapshot.list("HorizontalPodAutoscaler")
            if _targets(h, "scaleTargetRef", self.deployment) and _hpa_on_resources(h)
        ]
        vpas = [
            v
            for v in snapshot.list("VerticalPodAutoscaler")
            if _targets(v, "targetRef", self.deployment)
            and ((v.get("spec", {}).get("updatePolicy") or {}).get("updateMode", "Auto")) != "Off"
            and _vpa_controls_cpu_or_memory(v)
        ]
        if hpas and vpas:
            mode = (vpas[0].get("spec", {}).get("updatePolicy") or {}).get("updateMode", "Auto")
            return Outcome.fail(
                "check.no_vpa_hpa_conflict.fail",
                deployment=self.deployment,
                hpa=name_of(hpas[0]),
                vpa=name_of(vpas[0]),
                diagnosis=diagnosis("check.diagnosis.vpa_hpa", hpa=name_of(hpas[0]), vpa=name_of(vpas[0]), mode=mode),
            )
        return Outcome.ok("check.no_vpa_hpa_conflict.pass", deployment=self.deployment)


def _hpa_on_resources(hpa: Obj) -> bool:
    metrics = hpa.get("spec", {}).get("metrics")
    if not metrics:
        return True  # defaults to CPU
    return any(
        m.get("type") in ("Resource", "ContainerResource")
        and ((m.get("resource") or m.get("containerResource") or {}).get("name") in ("cpu", "memory"))
        for m in metrics
    )
