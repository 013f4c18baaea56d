"""The bot's Prometheus metrics, served on `GET /metrics`.

One `Metrics` per app, on a registry of its own, passed by keyword to the parts that count. Every
label takes values from a small fixed set or from the scenario catalogue: no team names, no alert
fingerprints, nothing a user types. The names, types and labels (also in docs/ARCHITECTURE.md):

======================================================  =========  ===============================
kubecamp_challenge_runs_started_total                   counter    challenge
kubecamp_challenge_runs_finished_total                  counter    challenge, outcome
kubecamp_challenge_runs_active                          gauge      challenge
kubecamp_verifications_total                            counter    trigger, result
kubecamp_verification_duration_seconds                  histogram  trigger
kubecamp_hints_posted_total                             counter    challenge
kubecamp_scenarios_solved_total                         counter    challenge
kubecamp_submissions_total                              counter    challenge
kubecamp_alerts_received_total                          counter    status
kubecamp_incidents_open                                 gauge
kubecamp_webhook_request_duration_seconds               histogram
kubecamp_webhook_responses_total                        counter    code
kubecamp_outbox_pending                                 gauge
kubecamp_outbox_oldest_pending_age_seconds              gauge
kubecamp_discord_requests_total                         counter    outcome
kubecamp_kubernetes_api_errors_total                    counter    reason
kubecamp_retention_pruned_rows_total                    counter    table
======================================================  =========  ===============================

Gauges that describe the store (active runs, open incidents, the outbox) are read from it when
Prometheus scrapes, so they are right after a restart and cost nothing between scrapes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

log = logging.getLogger(__name__)

RUN_OUTCOMES = ("finished", "expired", "stopped")
VERIFY_TRIGGERS = ("manual", "auto", "final")
#: pass: every check passed; fail: some check failed; unknown: none failed but some could not be
#: checked; error: the verification itself could not run (cluster or store unavailable).
VERIFY_RESULTS = ("pass", "fail", "unknown", "error")
ALERT_STATUSES = ("firing", "resolved")
DISCORD_OUTCOMES = ("ok", "429", "4xx", "5xx", "error")
KUBE_ERROR_REASONS = ("forbidden", "not_found", "invalid", "server_error", "timeout", "unreachable")
#: The tables whose old rows `bot.retention` deletes.
PRUNED_TABLES = ("incidents", "incident_alerts", "outbox", "verifications")
#: The answers the webhook gives (bot/web.py); anything else would be aiohttp's own.
WEBHOOK_CODES = ("200", "400", "401", "404", "413", "415", "422", "503")

#: A refresher reads the store and sets gauges; it runs before each scrape, within this time.
REFRESH_TIMEOUT = 2.0

Refresher = Callable[["Metrics"], Awaitable[None]]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self._refreshers: list[Refresher] = []

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=self.registry)

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), registry=self.registry)

        self.runs_started = counter("kubecamp_challenge_runs_started", "Challenge runs started.", ["challenge"])
        self.runs_finished = counter(
            "kubecamp_challenge_runs_finished", "Challenge runs ended, by how they ended.", ["challenge", "outcome"]
        )
        self.runs_active = gauge("kubecamp_challenge_runs_active", "Challenge runs under way.", ["challenge"])
        self.verifications = counter(
            "kubecamp_verifications", "Verifications of a run against the cluster.", ["trigger", "result"]
        )
        self.verification_seconds = Histogram(
            "kubecamp_verification_duration_seconds",
            "Time to verify one run: reading the cluster, evaluating the checks, recording the result.",
            ["trigger"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.hints_posted = counter("kubecamp_hints_posted", "Hints posted to teams.", ["challenge"])
        self.scenarios_solved = counter(
            "kubecamp_scenarios_solved", "Scenarios solved for the first time in a run.", ["challenge"]
        )
        self.submissions = counter("kubecamp_submissions", "Submissions recorded.", ["challenge"])
        self.alerts_received = counter(
            "kubecamp_alerts_received", "Alerts in the webhook notifications accepted.", ["status"]
        )
        self.incidents_open = gauge("kubecamp_incidents_open", "Incidents not resolved yet.")
        self.webhook_seconds = Histogram(
            "kubecamp_webhook_request_duration_seconds",
            "Time to answer one Alertmanager webhook request.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.webhook_responses = counter(
            "kubecamp_webhook_responses", "Alertmanager webhook answers, by HTTP status.", ["code"]
        )
        self.outbox_pending = gauge("kubecamp_outbox_pending", "Discord messages waiting in the outbox.")
        self.outbox_oldest_age = gauge(
            "kubecamp_outbox_oldest_pending_age_seconds", "Age of the oldest message waiting in the outbox (0: none)."
        )
        self.discord_requests = counter(
            "kubecamp_discord_requests", "Discord REST requests, by outcome (each retry counts).", ["outcome"]
        )
        self.kube_errors = counter(
            "kubecamp_kubernetes_api_errors", "Kubernetes API requests that failed, by reason.", ["reason"]
        )
        self.pruned_rows = counter(
            "kubecamp_retention_pruned_rows", "Rows older than the retention deleted, by table.", ["table"]
        )
        # Series with a fixed label set exist from the start, so rate() and absent() work at once.
        for trigger in VERIFY_TRIGGERS:
            self.verification_seconds.labels(trigger)
            for result in VERIFY_RESULTS:
                self.verifications.labels(trigger, result)
        for status in ALERT_STATUSES:
            self.alerts_received.labels(status)
        for code in WEBHOOK_CODES:
            self.webhook_responses.labels(code)
        for outcome in DISCORD_OUTCOMES:
            self.discord_requests.labels(outcome)
        for reason in KUBE_ERROR_REASONS:
            self.kube_errors.labels(reason)
        for table in PRUNED_TABLES:
            self.pruned_rows.labels(table)

    def know_challenges(self, challenge_ids: Iterable[int]) -> None:
        """Start the per-challenge series at zero for every challenge in the catalogue."""
        for cid in challenge_ids:
            challenge = str(cid)
            for metric in (self.runs_started, self.hints_posted, self.scenarios_solved, self.submissions):
                metric.labels(challenge)
            self.runs_active.labels(challenge)
            for outcome in RUN_OUTCOMES:
                self.runs_finished.labels(challenge, outcome)

    def refresh_with(self, refresher: Refresher) -> None:
        self._refreshers.append(refresher)

    async def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The body and its content type, in the format the scraper accepts (Prometheus' text format, or
        OpenMetrics when asked), after reading the store-backed gauges. A refresher that fails or is
        slow leaves its gauges at their last values: a scrape still answers."""
        results = await asyncio.gather(
            *(asyncio.wait_for(refresh(self), REFRESH_TIMEOUT) for refresh in self._refreshers),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.warning("metrics: a gauge could not be read from the store: %r", result)
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
