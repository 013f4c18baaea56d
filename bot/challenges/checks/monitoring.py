"""Checks on prometheus-operator objects: which ServiceMonitors a Prometheus selects, and what they scrape."""

from __future__ import annotations

from bot.challenges.checks._base import NamedCheck, Outcome, diagnosis, labels_of, name_of, register, require
from bot.challenges.selectors import format_selector, selector_matches
from bot.snapshot import Snapshot


@register("prometheus_selects_servicemonitors", "Prometheus", "ServiceMonitor")
class PrometheusSelectsServiceMonitors(NamedCheck):
    #: The ServiceMonitor that must be among those selected (another one, or a new one, is no fix).
    servicemonitor: str | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        prometheus = require(snapshot, "Prometheus", self.name)
        if self.servicemonitor is not None:
            require(snapshot, "ServiceMonitor", self.servicemonitor)
        # prometheus-operator: a missing selector selects no ServiceMonitor, an empty one selects all.
        selector = prometheus.get("spec", {}).get("serviceMonitorSelector")
        monitors = snapshot.list("ServiceMonitor")
        selected = [m for m in monitors if selector_matches(selector, labels_of(m))]
        if selected and self.servicemonitor in (None, *(name_of(m) for m in selected)):
            return Outcome.ok(
                "check.prometheus_selects_servicemonitors.pass",
                name=self.name,
                monitors=", ".join(sorted(name_of(m) for m in selected)),
            )
        labels = "; ".join(f"{name_of(m)}: {format_selector(labels_of(m))}" for m in monitors) or "-"
        return Outcome.fail(
            "check.prometheus_selects_servicemonitors.fail",
            name=self.name,
            diagnosis=diagnosis(
                "check.diagnosis.monitor_selector",
                selector=format_selector(selector) if selector is not None else "<none>",
                labels=labels,
            ),
        )


@register("servicemonitor_matches_service", "ServiceMonitor", "Service")
class ServiceMonitorMatchesService(NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        monitor = require(snapshot, "ServiceMonitor", self.name)
        spec = monitor.get("spec", {})
        services = [s for s in snapshot.list("Service") if selector_matches(spec.get("selector") or {}, labels_of(s))]
        if not services:
            return Outcome.fail(
                "check.servicemonitor_matches_service.no_service",
                name=self.name,
                diagnosis=diagnosis("check.diagnosis.monitor_service", selector=format_selector(spec.get("selector"))),
            )
        wanted = {e.get("port") for e in spec.get("endpoints") or [] if e.get("port")}
        named = {p.get("name") for s in services for p in s.get("spec", {}).get("ports") or []}
        missing = sorted(str(p) for p in wanted - named)
        if missing:
            services_named = ", ".join(sorted(name_of(s) for s in services))
            return Outcome.fail(
                "check.servicemonitor_matches_service.no_port",
                name=self.name,
                services=services_named,
                diagnosis=diagnosis("check.diagnosis.monitor_port", ports=", ".join(missing), services=services_named),
            )
        return Outcome.ok(
            "check.servicemonitor_matches_service.pass",
            name=self.name,
            services=", ".join(sorted(name_of(s) for s in services)),
        )
