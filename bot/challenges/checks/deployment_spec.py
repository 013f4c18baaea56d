"""Checks on a Deployment's spec: its update strategy, probes and resource requests."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.challenges.checks._base import (
    NamedCheck,
    Outcome,
    diagnosis,
    register,
    require,
    template_containers,
)
from bot.challenges.checks.images import served_ports
from bot.challenges.selectors import scaled_value
from bot.snapshot import Obj, Snapshot
from bot.values import Quantity, parse_quantity


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
            return Outcome.fail(
                "check.rolling_update_safe.recreate",
                name=self.name,
                diagnosis=diagnosis("check.diagnosis.recreate", bound=self.max_unavailable),
            )
        rolling = strategy.get("rollingUpdate") or {}
        declared = rolling.get("maxUnavailable", "25%")
        unavailable = scaled_value(declared, replicas, round_up=False)
        bound = scaled_value(self.max_unavailable, replicas, round_up=False)
        if unavailable > max(bound, 0) or (replicas > 1 and unavailable >= replicas):
            return Outcome.fail(
                "check.rolling_update_safe.fail",
                name=self.name,
                unavailable=min(unavailable, replicas),
                replicas=replicas,
                diagnosis=diagnosis("check.diagnosis.max_unavailable", declared=declared, bound=self.max_unavailable),
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
            for probe_kind in _PROBES:
                probe = container.get(probe_kind)
                if probe:
                    failed = self._judge(container, probe_kind, probe)
                    if failed is not None:
                        return failed
        return Outcome.ok("check.probes_sane.pass", name=self.name)

    def _judge(self, container: Obj, probe_kind: str, probe: Obj) -> Outcome | None:
        where = {"name": self.name, "container": container.get("name"), "probe": probe_kind}
        timeout = int(probe.get("timeoutSeconds", 1))
        if timeout < self.min_timeout_seconds:
            return Outcome.fail(
                "check.probes_sane.timeout",
                **where,
                diagnosis=diagnosis(
                    "check.diagnosis.probe_timeout", probe=probe_kind, timeout=timeout, min=self.min_timeout_seconds
                ),
            )
        action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
        port = (action or {}).get("port")
        listening = served_ports(container)
        names = {str(p["name"]): int(p["containerPort"]) for p in container.get("ports") or [] if p.get("name")}
        number = names.get(port) if isinstance(port, str) and not port.isdigit() else port
        if port is not None and listening and (number is None or int(number) not in listening):
            return Outcome.fail(
                "check.probes_sane.port",
                **where,
                diagnosis=diagnosis(
                    "check.diagnosis.probe_port",
                    probe=probe_kind,
                    port=port,
                    ports=", ".join(str(n) for n in sorted(listening)),
                ),
            )
        http = probe.get("httpGet")
        if http and self.paths is not None and http.get("path", "/") not in self.paths:
            return Outcome.fail(
                "check.probes_sane.path",
                **where,
                diagnosis=diagnosis(
                    "check.diagnosis.probe_path",
                    probe=probe_kind,
                    path=http.get("path", "/"),
                    paths=", ".join(self.paths),
                ),
            )
        return None


@register("resource_requests_within", "Deployment")
class ResourceRequestsWithin(NamedCheck):
    max_cpu: Quantity | None = None
    max_memory: Quantity | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        template = require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        bounds = {"cpu": self.max_cpu, "memory": self.max_memory}
        for container in template_containers(template):
            resources = container.get("resources") or {}
            requests = resources.get("requests") or {}
            where = {"name": self.name, "container": container.get("name")}
            for resource, bound in bounds.items():
                if bound is None or resource not in requests:
                    continue
                if parse_quantity(requests[resource]) > parse_quantity(bound):
                    return Outcome.fail(
                        "check.resource_requests_within.fail",
                        **where,
                        resource=resource,
                        diagnosis=diagnosis(
                            "check.diagnosis.request", resource=resource, requested=requests[resource], max=bound
                        ),
                    )
        return Outcome.ok("check.resource_requests_within.pass", name=self.name)
