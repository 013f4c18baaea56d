"""Checks on how a namespace is reached and fenced: an Ingress that routes a host to a Service, and a
NetworkPolicy that isolates the namespace from the others."""

from __future__ import annotations

from pydantic import Field

from bot.challenges.checks._base import CheckSpec, Outcome, name_of, register, require
from bot.snapshot import Obj, Snapshot


def _backends(ingress: Obj, host: str) -> set[str]:
    """The Services an Ingress sends `host`'s requests to (its rules for the host, and its default backend)."""
    spec = ingress.get("spec") or {}
    services = set()
    for rule in spec.get("rules") or []:
        if rule.get("host") in (host, None):
            for path in (rule.get("http") or {}).get("paths") or []:
                services.add(str(((path.get("backend") or {}).get("service") or {}).get("name")))
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        services.add(str(default))
    return services


@register("ingress_routes", "Ingress", "Service")
class IngressRoutes(CheckSpec):
    """An Ingress routes `host` to the Service `service`, and that Service exists."""

    host: str = Field(min_length=1)
    service: str = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        require(snapshot, "Service", self.service)
        routing = [name_of(i) for i in snapshot.list("Ingress") if self.service in _backends(i, self.host)]
        if routing:
            return Outcome.ok("check.ingress_routes.pass", ingress=routing[0], host=self.host, service=self.service)
        return Outcome.fail("check.ingress_routes.fail", host=self.host, service=self.service)


def _isolates(policy: Obj) -> bool:
    """Whether the policy covers every Pod of its namespace and admits no traffic from other namespaces: its
    ingress rules allow Pods of this namespace only (a podSelector alone), or nothing at all (deny all)."""
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    types = spec.get("policyTypes") or ["Ingress"]
    if "Ingress" not in types:
        return False
    for rule in spec.get("ingress") or []:
        sources = rule.get("from")
        if not sources or any("podSelector" not in s or "namespaceSelector" in s or "ipBlock" in s for s in sources):
            return False
    return True


@register("network_policy_isolates", "NetworkPolicy")
class NetworkPolicyIsolates(CheckSpec):
    """A NetworkPolicy selects every Pod of the namespace and admits ingress from this namespace's Pods only."""

    def run(self, snapshot: Snapshot) -> Outcome:
        policies = snapshot.list("NetworkPolicy")
        isolating = [name_of(p) for p in policies if _isolates(p)]
        if isolating:
            return Outcome.ok("check.network_policy_isolates.pass", policy=isolating[0])
        return Outcome.fail(
            "check.network_policy_isolates.fail", policies=", ".join(sorted(name_of(p) for p in policies)) or "-"
        )
