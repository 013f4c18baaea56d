"""Checks on Deployments and their Pods: availability, rollout, readiness, waiting and Pending Pods."""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from bot.challenges.checks._base import NamedCheck, Outcome, SelectorCheck, find_condition, pods_of, register, require
from bot.challenges.checks.pods import pod_problems, pod_ready
from bot.snapshot import Snapshot


@register("deployment_available", "Deployment", "Pod")
class DeploymentAvailable(NamedCheck):
    min: int | None = Field(default=None, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = require(snapshot, "Deployment", self.name)
        wanted = self.min if self.min is not None else int(deployment.get("spec", {}).get("replicas", 1))
        available = int(deployment.get("status", {}).get("availableReplicas") or 0)
        if available >= wanted:
            return Outcome.ok("check.deployment_available.pass", name=self.name, available=available, wanted=wanted)
        pods = pods_of(snapshot, deployment.get("spec", {}).get("selector"))
        return Outcome.fail(
            "check.deployment_available.fail",
            name=self.name,
            available=available,
            wanted=wanted,
            problems=pod_problems(pods) or "-",
        )


@register("rollout_complete", "Deployment", "Pod")
class RolloutComplete(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = require(snapshot, "Deployment", self.name)
        spec, status = deployment.get("spec", {}), deployment.get("status", {})
        replicas = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        observed = int(status.get("observedGeneration") or 0)
        generation = int(deployment.get("metadata", {}).get("generation") or 0)
        if observed >= generation and updated == replicas == available and total == replicas:
            return Outcome.ok("check.rollout_complete.pass", name=self.name, replicas=replicas)
        progressing = find_condition(deployment, "Progressing") or {}
        pods = pods_of(snapshot, spec.get("selector"))
        return Outcome.fail(
            "check.rollout_complete.fail",
            name=self.name,
            updated=updated,
            replicas=replicas,
            available=available,
            reason=progressing.get("reason") or "-",
            problems=pod_problems(pods) or "-",
        )


@register("pods_ready", "Pod")
class PodsReady(SelectorCheck):
    min: int = Field(default=1, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = self.pods(snapshot)
        ready = [p for p in pods if pod_ready(p)]
        if len(ready) >= self.min:
            return Outcome.ok("check.pods_ready.pass", selector=self.selector, ready=len(ready), total=len(pods))
        return Outcome.fail(
            "check.pods_ready.fail",
            selector=self.selector,
            ready=len(ready),
            wanted=self.min,
            total=len(pods),
            problems=pod_problems(p for p in pods if not pod_ready(p)) or "-",
        )


@register("no_waiting_pods", "Pod")
class NoWaitingPods(SelectorCheck):
    reasons: list[str] = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        waiting: Counter[str] = Counter()
        for pod in self.pods(snapshot):
            images = {c.get("name"): c.get("image") for c in pod.get("spec", {}).get("containers") or []}
            for container in pod.get("status", {}).get("containerStatuses") or []:
                reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
                if reason in self.reasons:
                    waiting[f"{reason} (image {container.get('image') or images.get(container.get('name'))})"] += 1
        if not waiting:
            return Outcome.ok("check.no_waiting_pods.pass", selector=self.selector)
        listed = "; ".join(f"{t} ×{n}" if n > 1 else t for t, n in waiting.most_common())
        return Outcome.fail("check.no_waiting_pods.fail", selector=self.selector, waiting=listed)


@register("no_pending_pods", "Pod")
class NoPendingPods(SelectorCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        pending = [p for p in self.pods(snapshot) if p.get("status", {}).get("phase") == "Pending"]
        if not pending:
            return Outcome.ok("check.no_pending_pods.pass", selector=self.selector)
        return Outcome.fail(
            "check.no_pending_pods.fail", selector=self.selector, count=len(pending), problems=pod_problems(pending)
        )
