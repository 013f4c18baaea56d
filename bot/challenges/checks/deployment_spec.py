"""Checks on a Deployment's spec: its update strategy, probes and resource requests."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.challenges.checks._base import (
    NamedCheck,
    Outcome,
    port_declared,
    quantity_arg,
    register,
    require,
    template_containers,
)
from bot.challenges.selectors import parse_quantity, scaled_value
from bot.snapshot import Snapshot


@register("rolling_update_safe", "Deployment")
class RollingUpdateSafe(NamedCheck):
    max_unavailable: int | str = "25%"

    @field_validator("max_unavailable")
    @classmethod
    def _int_or_percent(cls, value: int | str) -> int | str:
        scaled_value(value, 100, round_up=False)
        return value

    def run(self, snapshot: Snapshot) -> Outcome:
        spec = require(snapshot, "Deployment", self.name).get("spec", {})
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            return Outcome.fail("check.rolling_update_safe.recreate", name=self.name)
        rolling = strategy.get("rollingUpdate") or {}
        declared = rolling.get("maxUnavailable", "25%")
        unavailable = scaled_value(declared, replicas, round_up=False)
        bound = scaled_value(self.max_unavailable, replicas, round_up=False)
        if unavailable > max(bound, 0) or (replicas > 1 and unavailable >= replicas):
            return Outcome.fail(
                "check.rolling_update_safe.fail",
                name=self.name,
                declared=declared,
                unavailable=unavailable,
                replicas=replicas,
                bound=self.max_unavailable,
            )
        return Outcome.ok("check.rolling_update_safe.pass", name=self.name, declared=declared)


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


@register("probes_sane", "Deployment")
class ProbesSane(NamedCheck):
    min_timeout_seconds: int = Field(default=1, ge=1)
    paths: list[str] | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        template = require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        for container in template_containers(template):
            declared = container.get("ports") or []
            numbers = {int(p["containerPort"]) for p in declared}
            names = {str(p["name"]) for p in declared if p.get("name")}
            for probe_kind in _PROBES:
                probe = container.get(probe_kind)
                if not probe:
                    continue
                where = {"name": self.name, "container": container.get("name"), "probe": probe_kind}
                timeout = int(probe.get("timeoutSeconds", 1))
                if timeout < self.min_timeout_seconds:
                    return Outcome.fail(
                        "check.probes_sane.timeout", **where, timeout=timeout, min=self.min_timeout_seconds
                    )
                action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                port = (action or {}).get("port")
                if port is not None and declared and not port_declared(port, numbers, names):
                    return Outcome.fail(
                        "check.probes_sane.port",
                        **where,
                        port=port,
                        ports=", ".join(str(n) for n in sorted(numbers)),
                    )
                http = probe.get("httpGet")
                if http and self.paths is not None and http.get("path", "/") not in self.paths:
                    return Outcome.fail(
                        "check.probes_sane.path", **where, path=http.get("path", "/"), paths=", ".join(self.paths)
                    )
        return Outcome.ok("check.probes_sane.pass", name=self.name)


@register("resource_requests_within", "Deployment")
class ResourceRequestsWithin(NamedCheck):
    max_cpu: str | None = None
    max_memory: str | None = None

    _quantities = field_validator("max_cpu", "max_memory")(quantity_arg)

    def run(self, snapshot: Snapshot) -> Outcome:
        template = require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        limits = {"cpu": self.max_cpu, "memory": self.max_memory}
        for container in template_containers(template):
            requests = (container.get("resources") or {}).get("requests") or {}
            for resource, bound in limits.items():
                if bound is None or resource not in requests:
                    continue
                if parse_quantity(requests[resource]) > parse_quantity(bound):
                    return Outcome.fail(
                        "check.resource_requests_within.fail",
                        name=self.name,
                        container=container.get("name"),
                        resource=resource,
                        requested=requests[resource],
                        max=bound,
                    )
        return Outcome.ok("check.resource_requests_within.pass", name=self.name)
