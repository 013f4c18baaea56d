"""The HorizontalPodAutoscaler controller of a cluster without a metrics server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .workloads import omit_zero, set_condition

if TYPE_CHECKING:
    from .simulator import Simulator

Obj = dict[str, Any]


class HorizontalPodAutoscalerController:
    """Min/max enforcement like the real controller; no metrics server, so no metric-driven scaling."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        for hpa in self.sim.objects("horizontalpodautoscalers"):
            self._sync(hpa)

    def _sync(self, hpa: Obj) -> None:
        sim = self.sim
        spec = hpa["spec"]
        namespace = hpa["metadata"]["namespace"]
        target = spec.get("scaleTargetRef") or {}
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}.get(
            str(target.get("kind"))
        )
        now = sim.now()
        old = hpa.get("status") or {}
        conditions: list[Obj] = list(old.get("conditions") or [])
        scaled = sim.get(plural, namespace, str(target.get("name"))) if plural else None
        status: Obj = {"currentReplicas": 0, "desiredReplicas": 0}
        if scaled is None:
            if plural:
                message = (
                    f"the HPA controller was unable to get the target's current scale: "
                    f'{plural}/scale.apps "{target.get("name")}" not found'
                )
            else:
                group = str(target.get("apiVersion", "")).rpartition("/")[0]
                message = (
                    f"the HPA controller was unable to get the target's current scale: no matches for kind "
                    f'"{target.get("kind")}" in group "{group}"'
                )
            conditions = set_condition(
                conditions,
                {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": message},
                now,
            )
            sim.events.record(
                hpa, "Warning", "FailedGetScale", message.split(": ", 1)[1], component="horizontal-pod-autoscaler"
            )
        else:
            current = int(scaled["spec"].get("replicas", 1))
            low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
            desired = current
            if current == 0 and low != 0:
                conditions = set_condition(
                    conditions,
                    {
                        "type": "ScalingActive",
                        "status": "False",
                        "reason": "ScalingDisabled",
                        "message": "scaling is disabled since the replica count of the target is zero",
                    },
                    now,
                )
            elif current > high or current < low:
                desired = high if current > high else low
                scaled["spec"]["replicas"] = desired
                sim.update_spec(plural or "", scaled)
                status["lastScaleTime"] = now
                reason = (
                    "Current number of replicas above Spec.MaxReplicas"
                    if current > high
                    else "Current number of replicas below Spec.MinReplicas"
                )
                sim.events.record(
                    hpa,
                    "Normal",
                    "SuccessfulRescale",
                    f"New size: {desired}; reason: {reason}",
                    component="horizontal-pod-autoscaler",
                )
                conditions = set_condition(
                    conditions,
                    {
                        "type": "AbleToScale",
                        "status": "True",
                        "reason": "SucceededRescale",
                        "message": f"the HPA controller was able to update the target scale to {desired}",
                    },
                    now,
                )
            else:
                conditions = set_condition(
                    conditions,
                    {
                        "type": "AbleToScale",
                        "status": "True",
                        "reason": "SucceededGetScale",
                        "message": "the HPA controller was able to get the target's current scale",
                    },
                    now,
                )
                message = (
                    "the HPA was unable to compute the replica count: failed to get cpu utilization: unable "
                    "to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the "
                    "server could not find the requested resource (get pods.metrics.k8s.io)"
                )
                conditions = set_condition(
                    conditions,
                    {
                        "type": "ScalingActive",
                        "status": "False",
                        "reason": "FailedGetResourceMetric",
                        "message": message,
                    },
                    now,
                )
                sim.events.record(
                    hpa,
                    "Warning",
                    "FailedGetResourceMetric",
                    message.split(": ", 1)[1],
                    component="horizontal-pod-autoscaler",
                )
            status = {
                "currentReplicas": int((scaled.get("status") or {}).get("replicas", current)),
                "desiredReplicas": desired,
                **(
                    {"lastScaleTime": old.get("lastScaleTime", now)}
                    if "lastScaleTime" in status or "lastScaleTime" in old
                    else {}
                ),
            }
        status["conditions"] = conditions
        omit_zero(status, "currentReplicas")
        if hpa.get("status") != status:
            hpa["status"] = status
            sim.save("horizontalpodautoscalers", hpa)
