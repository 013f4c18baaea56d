"""Checks on Deployments and their Pods: availability, rollout, readiness, waiting and Pending Pods.

A Deployment is judged on its current revision: the Pods of its newest ReplicaSet. A rollout stuck at
ProgressDeadlineExceeded keeps the old ReplicaSet's Pods available, and `availableReplicas` counts them.
A check that finds no Pod to judge fails saying so: nothing waiting because nothing was created is no pass.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from bot.challenges.checks._base import (
    NamedCheck,
    Outcome,
    SelectorCheck,
    diagnosis,
    find_condition,
    name_of,
    owned_by,
    pods_of,
    register,
    require,
)
from bot.challenges.checks.pods import failing_pods, pod_diagnosis
from bot.pods import STARTING, live, pod_ready, problems_of, starting
from bot.snapshot import Obj, Snapshot

REVISION = "deployment.kubernetes.io/revision"


def current_pods(snapshot: Snapshot, deployment: Obj) -> list[Obj]:
    """The live Pods of the Deployment's newest ReplicaSet (its current revision).

    The controller gives the ReplicaSet that matches the template the highest revision, also on a rollback.
    """
    name = name_of(deployment)
    sets = [rs for rs in snapshot.list("ReplicaSet") if owned_by(rs, "Deployment", name)]
    pods = live(pods_of(snapshot, deployment.get("spec", {}).get("selector")))
    if not sets:
        return pods
    newest = max(sets, key=lambda rs: int((rs.get("metadata", {}).get("annotations") or {}).get(REVISION, "0")))
    return [p for p in pods if owned_by(p, "ReplicaSet", name_of(newest))]


def stalled(deployment: Obj) -> str | None:
    """The Deployment condition that says the controller gave up: ProgressDeadlineExceeded, ReplicaFailure."""
    progressing = find_condition(deployment, "Progressing") or {}
    if progressing.get("status") == "False":
        return str(progressing.get("reason") or "Progressing=False")
    failure = find_condition(deployment, "ReplicaFailure") or {}
    if failure.get("status") == "True":
        return f"ReplicaFailure: {failure.get('message') or failure.get('reason')}"
    return None


def replicas_of(deployment: Obj) -> int:
    return int(deployment.get("spec", {}).get("replicas", 1))


def scaled_down(name: str, replicas: int, wanted: int) -> Outcome:
    return Outcome.fail(
        "check.deployment_available.scaled_down",
        name=name,
        replicas=replicas,
        diagnosis=diagnosis("check.diagnosis.replicas", name=name, replicas=replicas, wanted=wanted),
    )


def not_available(name: str, current: list[Obj], available: int, wanted: int, condition: str | None) -> Outcome:
    """Available fewer than wanted: the Pods' problems, or 'still starting' when nothing is wrong yet."""
    waiting = [p for p in current if not pod_ready(p)]
    if condition is None and waiting and all(starting(p) for p in waiting):
        return Outcome.fail("check.pods_starting", name=name, available=available, wanted=wanted)
    return failing_pods(
        "check.deployment_available.fail" if condition is None else "check.deployment_available.stalled",
        waiting,
        name=name,
        available=available,
        wanted=wanted,
        condition=condition or "-",
    )


@register("deployment_available", "Deployment", "ReplicaSet", "Pod")
class DeploymentAvailable(NamedCheck):
    #: The replicas the scenario runs: a Deployment scaled below it is not fixed, even at "0/0 available".
    min: int | None = Field(default=None, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = require(snapshot, "Deployment", self.name)
        replicas = replicas_of(deployment)
        wanted = self.min if self.min is not None else max(replicas, 1)
        if replicas < wanted:
            return scaled_down(self.name, replicas, wanted)
        current = current_pods(snapshot, deployment)
        ready = sum(1 for p in current if pod_ready(p))
        available = min(int(deployment.get("status", {}).get("availableReplicas") or 0), ready)
        if available >= wanted:
            return Outcome.ok("check.deployment_available.pass", name=self.name, available=available, wanted=replicas)
        return not_available(self.name, current, available, wanted, stalled(deployment))


@register("rollout_complete", "Deployment", "ReplicaSet", "Pod")
class RolloutComplete(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = require(snapshot, "Deployment", self.name)
        status = deployment.get("status", {})
        replicas = replicas_of(deployment)
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        observed = int(status.get("observedGeneration") or 0)
        generation = int(deployment.get("metadata", {}).get("generation") or 0)
        if observed >= generation and updated == replicas == available and total == replicas:
            return Outcome.ok("check.rollout_complete.pass", name=self.name, replicas=replicas)
        waiting = [p for p in current_pods(snapshot, deployment) if not pod_ready(p)]
        return failing_pods(
            "check.rollout_complete.fail",
            waiting,
            name=self.name,
            updated=updated,
            replicas=replicas,
            available=available,
            reason=stalled(deployment) or "-",
        )


def no_pods(selector: str) -> Outcome:
    return Outcome.fail("check.no_pods", selector=selector)


@register("pods_ready", "Pod")
class PodsReady(SelectorCheck):
    min: int = Field(default=1, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = live(self.pods(snapshot))
        if not pods:
            return no_pods(self.selector)
        ready = [p for p in pods if pod_ready(p)]
        if len(ready) >= self.min:
            return Outcome.ok("check.pods_ready.pass", selector=self.selector, ready=len(ready), total=len(pods))
        waiting = [p for p in pods if not pod_ready(p)]
        return failing_pods(
            "check.pods_ready.fail", waiting, selector=self.selector, ready=len(ready), wanted=self.min, total=len(pods)
        )


@register("no_waiting_pods", "Pod")
class NoWaitingPods(SelectorCheck):
    """No container of the selected Pods is stuck for one of `reasons`, counting a crash-looping container
    caught running between back-offs as CrashLoopBackOff and ErrImagePull/ImagePullBackOff as one."""

    reasons: list[str] = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = live(self.pods(snapshot))
        if not pods:
            return no_pods(self.selector)
        uncreated = [p for p in pods if not _created(p)]
        if uncreated:
            # Nothing waits because nothing was created yet: no verdict on the containers.
            return failing_pods("check.no_waiting_pods.not_created", uncreated, selector=self.selector)
        waiting: Counter[str] = Counter()
        stuck: list[Obj] = []
        for pod in pods:
            matched = [p for p in problems_of(pod) if _reasons_of(p) & set(self.reasons)]
            waiting.update(matched)
            if matched:
                stuck.append(pod)
        if not waiting:
            return Outcome.ok("check.no_waiting_pods.pass", selector=self.selector)
        listed = "; ".join(f"{t} ×{n}" if n > 1 else t for t, n in waiting.most_common())
        return Outcome.fail(
            "check.no_waiting_pods.fail", selector=self.selector, problems=listed, diagnosis=pod_diagnosis(stuck)
        )


def _created(pod: Obj) -> bool:
    """Some container of the Pod got past being created (a pull, a start, a crash: something to judge)."""
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return any(((s.get("state") or {}).get("waiting") or {}).get("reason") not in STARTING for s in statuses)


def _reasons_of(problem: str) -> set[str]:
    """`ErrImagePull/ImagePullBackOff (image x)` → both reasons: the kubelet alternates them for one Pod."""
    return set(problem.split(" ")[0].rstrip(":").split("/"))


@register("no_pending_pods", "Pod")
class NoPendingPods(SelectorCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        pods = live(self.pods(snapshot))
        if not pods:
            return no_pods(self.selector)
        pending = [p for p in pods if p.get("status", {}).get("phase") == "Pending"]
        if not pending:
            return Outcome.ok("check.no_pending_pods.pass", selector=self.selector)
        return failing_pods("check.no_pending_pods.fail", pending, selector=self.selector, count=len(pending))
