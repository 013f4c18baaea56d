"""Checks on Services: which Pods they select and whether they have ready endpoints."""

from __future__ import annotations

from collections.abc import Mapping

from bot.challenges.checks._base import NamedCheck, Outcome, labels_of, port_declared, register, require
from bot.challenges.checks.pods import pod_problems
from bot.challenges.selectors import format_selector, map_selector_matches
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
        selector=format_selector(selector),
        near=_near_misses(selector, pods) or "-",
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


def _container_ports(pods: list[Obj]) -> tuple[set[int], dict[str, int]]:
    numbers: set[int] = set()
    names: dict[str, int] = {}
    for pod in pods:
        for container in pod.get("spec", {}).get("containers") or []:
            for port in container.get("ports") or []:
                numbers.add(int(port["containerPort"]))
                if port.get("name"):
                    names[str(port["name"])] = int(port["containerPort"])
    return numbers, names


@register("service_endpoints_ready", "Service", "EndpointSlice", "Pod")
class ServiceEndpointsReady(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        service = require(snapshot, "Service", self.name)
        spec = service.get("spec", {})
        selector = spec.get("selector") or {}
        pods = [p for p in snapshot.list("Pod") if map_selector_matches(selector, labels_of(p))]
        if not pods:
            return _selects_nothing(self.name, selector, snapshot.list("Pod"))
        numbers, names = _container_ports(pods)
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if (numbers or names) and not port_declared(target, numbers, names):
                return Outcome.fail(
                    "check.service_endpoints_ready.port_mismatch",
                    name=self.name,
                    target=target,
                    ports=", ".join(str(n) for n in sorted(numbers)) or "-",
                )
        ready = 0
        for slice_ in snapshot.list("EndpointSlice"):
            if labels_of(slice_).get("kubernetes.io/service-name") != self.name or not slice_.get("ports"):
                continue
            ready += sum(
                1
                for endpoint in slice_.get("endpoints") or []
                if (endpoint.get("conditions") or {}).get("ready") is not False
            )
        if ready:
            return Outcome.ok("check.service_endpoints_ready.pass", name=self.name, ready=ready)
        return Outcome.fail(
            "check.service_endpoints_ready.fail",
            name=self.name,
            count=len(pods),
            problems=pod_problems(pods) or "-",
        )
