"""Checks on Services: which Pods they select and whether they have ready endpoints."""

from __future__ import annotations

from collections.abc import Mapping

from bot.challenges.checks._base import NamedCheck, Outcome, diagnosis, labels_of, name_of, register, require
from bot.challenges.checks.images import served_ports
from bot.challenges.checks.pods import failing_pods
from bot.challenges.checks.workloads import current_pods
from bot.challenges.selectors import format_selector, map_selector_matches
from bot.pods import live, pod_ready, starting
from bot.snapshot import Obj, Snapshot


def _near_misses(selector: Mapping[str, str], pods: list[Obj]) -> str:
    """For a selector that matches nothing: the labels of pods that differ from it in one key only."""
    hints: set[str] = set()
    for pod in pods:
        labels = labels_of(pod)
        wrong = [k for k, v in selector.items() if labels.get(k) != v]
        if len(wrong) == 1:
            key = wrong[0]
            hints.add(f"{key}={labels[key]}" if key in labels else f"no {key} label")
    return ", ".join(sorted(hints))


def _selects_nothing(name: str, selector: Mapping[str, str], pods: list[Obj]) -> Outcome:
    return Outcome.fail(
        "check.service_selects_pods.fail",
        name=name,
        diagnosis=diagnosis(
            "check.diagnosis.service_selector",
            selector=format_selector(selector),
            near=_near_misses(selector, pods) or "-",
        ),
    )


@register("service_selects_pods", "Service", "Pod")
class ServiceSelectsPods(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        service = require(snapshot, "Service", self.name)
        selector = service.get("spec", {}).get("selector") or {}
        pods = snapshot.list("Pod")
        selected = [p for p in pods if map_selector_matches(selector, labels_of(p))]
        if selected:
            return Outcome.ok("check.service_selects_pods.pass", name=self.name, count=len(selected))
        return _selects_nothing(self.name, selector, pods)


def _served_ports(pod: Obj) -> tuple[set[int], dict[str, int]]:
    """The ports a Pod's processes listen on, and its declared port names."""
    numbers: set[int] = set()
    names: dict[str, int] = {}
    for container in pod.get("spec", {}).get("containers") or []:
        numbers |= served_ports(container)
        names |= {str(p["name"]): int(p["containerPort"]) for p in container.get("ports") or [] if p.get("name")}
    return numbers, names


def _unserved_target(service: Obj, pods: list[Obj]) -> tuple[object, set[int]] | None:
    """A Service port whose targetPort no selected Pod listens on, with the ports they do listen on."""
    for port in service.get("spec", {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        listening: set[int] = set()
        for pod in pods:
            numbers, names = _served_ports(pod)
            listening |= numbers
            number = names.get(str(target)) if isinstance(target, str) and not target.isdigit() else int(target)
            if number is not None and number in numbers:
                break
        else:
            if listening:
                return target, listening
    return None


def _ready_endpoints(snapshot: Snapshot, service: str, pods: list[Obj]) -> int:
    """EndpointSlice endpoints of the Service that are ready and not terminating, backed by these Pods."""
    names = {name_of(p) for p in pods}
    ready = 0
    for slice_ in snapshot.list("EndpointSlice"):
        if labels_of(slice_).get("kubernetes.io/service-name") != service or not slice_.get("ports"):
            continue
        for endpoint in slice_.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            # discovery.k8s.io/v1: a nil `ready` means ready; a terminating endpoint is never ready traffic.
            if conditions.get("ready") is False or conditions.get("terminating") is True:
                continue
            backing = (endpoint.get("targetRef") or {}).get("name")
            if backing is None or backing in names:
                ready += 1
    return ready


@register("service_endpoints_ready", "Service", "EndpointSlice", "Pod", "Deployment", "ReplicaSet")
class ServiceEndpointsReady(NamedCheck):
    #: The Deployment whose Pods must serve the Service (pinned: not some other Pod).
    workload: str | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        service = require(snapshot, "Service", self.name)
        selector = service.get("spec", {}).get("selector") or {}
        every_pod = snapshot.list("Pod")
        pods = live(p for p in every_pod if map_selector_matches(selector, labels_of(p)))
        if not pods:
            return _selects_nothing(self.name, selector, every_pod)
        if self.workload is not None:
            ours = {name_of(p) for p in current_pods(snapshot, require(snapshot, "Deployment", self.workload))}
            if not ours & {name_of(p) for p in pods}:
                return Outcome.fail(
                    "check.service_endpoints_ready.other_pods",
                    name=self.name,
                    workload=self.workload,
                    diagnosis=diagnosis(
                        "check.diagnosis.service_other_pods",
                        selector=format_selector(selector),
                        pods=", ".join(sorted(name_of(p) for p in pods)[:3]),
                        workload=self.workload,
                    ),
                )
            pods = [p for p in pods if name_of(p) in ours]
        unserved = _unserved_target(service, pods)
        if unserved is not None:
            target, listening = unserved
            return Outcome.fail(
                "check.service_endpoints_ready.port_mismatch",
                name=self.name,
                diagnosis=diagnosis(
                    "check.diagnosis.target_port",
                    target=target,
                    ports=", ".join(str(n) for n in sorted(listening)),
                ),
            )
        ready = _ready_endpoints(snapshot, self.name, pods)
        if ready:
            return Outcome.ok("check.service_endpoints_ready.pass", name=self.name, ready=ready)
        waiting = [p for p in pods if not pod_ready(p)]
        if waiting and all(starting(p) for p in waiting):
            return Outcome.fail("check.service_endpoints_ready.starting", name=self.name, count=len(pods))
        return failing_pods("check.service_endpoints_ready.fail", pods, name=self.name, count=len(pods))
