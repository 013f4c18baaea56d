"""The HorizontalPodAutoscaler controller of a cluster without a metrics server or a custom metrics adapter.

kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go (v1.33) ``reconcileAutoscaler``: the
current replicas are the scale's ``spec.replicas``; one outside [minReplicas, maxReplicas] is set to the
bound without any metric; otherwise every metric fails (no ``metrics.k8s.io``), so the controller writes
only ``currentReplicas`` and ``currentMetrics`` (``desiredReplicas`` keeps its last value, 0 at first),
sets ``ScalingActive`` False ``FailedGetResourceMetric`` and emits ``FailedGetResourceMetric`` and
``FailedComputeMetricsReplicas`` on each resync (``--horizontal-pod-autoscaler-sync-period``, 15 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .resources import Obj
from .workloads import omit_zero, set_condition

if TYPE_CHECKING:
    from .simulator import Simulator

SYNC_SECONDS = 15.0
COMPONENT = "horizontal-pod-autoscaler"
NO_METRICS_API = (
    "unable to fetch metrics from resource metrics API: the server could not find the requested resource "
    "(get pods.metrics.k8s.io)"
)


#: The custom metrics API (custom.metrics.k8s.io) is served only by an adapter such as prometheus-adapter; a
#: cluster without one answers a Pods metric's query with this (the metrics client wraps it, below).
NO_CUSTOM_METRICS_API = "the server could not find the requested resource (get pods.custom.metrics.k8s.io *)"


def metric_errors(spec: Obj) -> list[tuple[str, str, str]]:
    """(event reason, value prefix, error) for each metric, as ``computeStatusForResourceMetricGeneric`` and
    ``computeStatusForPodsMetric`` word them.

    A v2 HPA without metrics is defaulted to 80 % CPU utilization. A Pods metric (a custom metric such as
    concurrent viewers) fails without a custom metrics adapter: ``GetRawMetric`` answers "unable to fetch
    metrics from custom metrics API", which ``GetMetricReplicas`` prefixes with "unable to get metric <name>".
    """
    metrics = spec.get("metrics") or [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}
    ]
    errors = []
    for metric in metrics:
        if metric.get("type") == "Pods" and (metric.get("pods") or {}).get("metric"):
            name = str(metric["pods"]["metric"].get("name"))
            error = (
                f"unable to get metric {name}: unable to fetch metrics from custom metrics API: {NO_CUSTOM_METRICS_API}"
            )
            errors.append(("FailedGetPodsMetric", "failed to get pods metric value", error))
            continue
        source = metric.get("resource") or metric.get("containerResource")
        if metric.get("type") not in ("Resource", "ContainerResource") or not source:
            continue
        name = str(source.get("name"))
        kind = "utilization" if (source.get("target") or {}).get("type") == "Utilization" else "usage"
        error = f"failed to get {name} {kind}: unable to get metrics for resource {name}: {NO_METRICS_API}"
        errors.append(("FailedGetResourceMetric", f"failed to get {name} resource metric value", error))
    return errors


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
                hpa, "Warning", "FailedGetScale", message.split(": ", 1)[1], component=COMPONENT, every=SYNC_SECONDS
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
                    component=COMPONENT,
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
                errors = metric_errors(spec)
                if errors:
                    reason, prefix, first = errors[0]
                    conditions = set_condition(
                        conditions,
                        {
                            "type": "ScalingActive",
                            "status": "False",
                            "reason": reason,
                            "message": f"the HPA was unable to compute the replica count: {first}",
                        },
                        now,
                    )
                    for each_reason, _, error in errors:
                        sim.events.record(hpa, "Warning", each_reason, error, component=COMPONENT, every=SYNC_SECONDS)
                    sim.events.record(
                        hpa,
                        "Warning",
                        "FailedComputeMetricsReplicas",
                        f"invalid metrics ({len(errors)} invalid out of {len(errors)}), first error is: "
                        f"{prefix}: {first}",
                        component=COMPONENT,
                        every=SYNC_SECONDS,
                    )
                desired = int(old.get("desiredReplicas") or 0)
            status = {
                "currentReplicas": current,
                "desiredReplicas": desired,
                "currentMetrics": None,
                **(
                    {"lastScaleTime": old.get("lastScaleTime", now)}
                    if "lastScaleTime" in status or "lastScaleTime" in old
                    else {}
                ),
            }
        # HorizontalPodAutoscalerCondition has no lastUpdateTime (unlike a Deployment's conditions)
        status["conditions"] = [{k: v for k, v in c.items() if k != "lastUpdateTime"} for c in conditions]
        omit_zero(status, "currentReplicas")
        if hpa.get("status") != status:
            hpa["status"] = status
            sim.save("horizontalpodautoscalers", hpa)
