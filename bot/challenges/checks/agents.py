"""A workload the course runs either as a Deployment or as a DaemonSet: a node agent such as Fluent Bit.

The streaming-ops build's log collector reads every node's container logs, so the course deploys it as a
DaemonSet (one Pod per node); a single Deployment that ships the same output is as good a collector for the
rubric. `workload_ready` judges whichever of the two exists under the name: its containers run the pinned
images and keep their probes, and its Pods of the current revision are Ready.
"""

from __future__ import annotations

from pydantic import Field

from bot.challenges.checks._base import Missing, NamedCheck, Outcome, owned_by, pods_of, register
from bot.challenges.checks.pins import Probe, containers_changed
from bot.challenges.checks.pods import failing_pods
from bot.challenges.checks.workloads import DeploymentAvailable
from bot.pods import live, pod_ready, starting
from bot.snapshot import Obj, Snapshot


@register("workload_ready", "Deployment", "DaemonSet", "ReplicaSet", "Pod")
class WorkloadReady(NamedCheck):
    #: A Deployment's replicas at least (a DaemonSet runs one Pod per node it may run on).
    min: int = Field(default=1, ge=1)
    #: Image repositories the containers may run; any tag.
    images: list[str] | None = Field(default=None, min_length=1)
    #: Probes every container keeps (Fluent Bit's readiness is its health check).
    probes: list[Probe] = Field(default_factory=list)

    def run(self, snapshot: Snapshot) -> Outcome:
        daemonset = snapshot.get("DaemonSet", self.name)
        deployment = snapshot.get("Deployment", self.name)
        kind, workload = ("DaemonSet", daemonset) if daemonset is not None else ("Deployment", deployment)
        if workload is None:
            raise Missing("DaemonSet/Deployment", self.name)
        template = workload.get("spec", {}).get("template", {}).get("spec", {})
        changed = containers_changed(kind, self.name, template, images=self.images, probes=self.probes)
        if changed is not None:
            return changed
        if kind == "Deployment":
            return DeploymentAvailable(name=self.name, min=self.min).run(snapshot)
        return _daemonset_ready(snapshot, workload)


def _daemonset_ready(snapshot: Snapshot, daemonset: Obj) -> Outcome:
    """Every node the DaemonSet should run on has its Pod of the current template, Ready."""
    name = str(daemonset["metadata"]["name"])
    status = daemonset.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    if desired == 0:
        return Outcome.fail("check.workload_ready.no_nodes", name=name)
    selected = live(pods_of(snapshot, daemonset.get("spec", {}).get("selector")))
    pods = [p for p in selected if owned_by(p, "DaemonSet", name)]
    ready = sum(1 for p in pods if pod_ready(p))
    available = min(int(status.get("numberAvailable") or 0), ready)
    updated = int(status.get("updatedNumberScheduled") or 0)
    observed = int(status.get("observedGeneration") or 0) >= int(daemonset["metadata"].get("generation") or 0)
    if observed and available >= desired and updated >= desired:
        return Outcome.ok("check.workload_ready.daemonset", name=name, ready=available, desired=desired)
    waiting = [p for p in pods if not pod_ready(p)]
    if waiting and all(starting(p) for p in waiting):
        return Outcome.fail("check.workload_ready.starting", name=name, ready=available, desired=desired)
    return failing_pods("check.workload_ready.daemonset_fail", waiting, name=name, ready=available, desired=desired)
