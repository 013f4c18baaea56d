"""Records what Alertmanager POSTs to a webhook into ``tests/incidents/payloads/`` (see the README there).

    python -m tests.peers.capture [DIRECTORY]

Each scenario runs its own Alertmanager (so no group leaks into another's body) and drives it through
``POST /api/v2/alerts`` with the alerts Prometheus would send for the rules in ``alert_rules/``; the bodies are
saved exactly as received, pretty-printed. ``tests/peers/test_payload_shape.py`` reuses ``capture_firing_one`` to
check that the saved files still have the keys the installed Alertmanager sends.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml

from .processes import ALERT_RULES_DIR, ROOT, AlertmanagerProcess, Notification, WebhookReceiver, postable_alert

PAYLOADS_DIR = ROOT / "tests" / "incidents" / "payloads"
TOKEN = "kubecamp-webhook-token"
# Fixed external URLs, as a Prometheus and an Alertmanager in the cluster would have, so that a new capture only
# differs from the saved one by its times and fingerprints.
PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
ALERTMANAGER_URL = "http://alertmanager.monitoring.svc:9093"
NAMESPACE = "kubecamp-blue"
# Prometheus sends a firing alert valid for 4 × max(resend delay, evaluation interval): 4 minutes by default.
VALID_FOR = timedelta(minutes=4)
ALERTMANAGER_OPTIONS: dict[str, Any] = {
    "bearer_token": TOKEN,
    "external_url": ALERTMANAGER_URL,
    "group_wait": "1s",
    "group_interval": "1s",
    "repeat_interval": "1h",
}


def _rule(name: str) -> dict[str, Any]:
    for path in sorted(ALERT_RULES_DIR.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == name:
                    return dict(rule)
    raise LookupError(f"no alert {name} in {ALERT_RULES_DIR}")


def _generator_url(expr: str) -> str:
    # Prometheus links to the expression's table view: /graph?g0.expr=<query-escaped expr>&g0.tab=1.
    return f"{PROMETHEUS_URL}/graph?g0.expr={quote_plus(' '.join(expr.split()))}&g0.tab=1"


def _render(template: str, labels: Mapping[str, str]) -> str:
    # The annotations of the rules only use {{ $labels.<name> }}.
    return re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m.group(1)], template)


def image_pull_alert(pod: str, *, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """KubecampImagePullFailing for container ``frontend`` of `pod` in kubecamp-blue, as Prometheus sends it."""
    rule = _rule("KubecampImagePullFailing")
    labels = {
        "alertname": rule["alert"],
        "container": "frontend",
        "namespace": NAMESPACE,
        "pod": pod,
        **rule["labels"],
    }
    annotations = {key: _render(value, labels) for key, value in rule["annotations"].items()}
    return postable_alert(
        labels, annotations, starts_at=starts_at, ends_at=ends_at, generator_url=_generator_url(rule["expr"])
    )


def node_alert(node: str, *, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """kubernetes-mixin's KubeNodeNotReady: a cluster-scoped alert, without a namespace label."""
    expr = 'kube_node_status_condition{job="kube-state-metrics",condition="Ready",status="true"} == 0'
    labels = {
        "alertname": "KubeNodeNotReady",
        "condition": "Ready",
        "instance": "10.244.0.12:8080",
        "job": "kube-state-metrics",
        "node": node,
        "severity": "warning",
        "status": "true",
    }
    annotations = {
        "description": f"{node} has been unready for more than 15 minutes.",
        "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubenodenotready",
        "summary": "Node is not ready.",
    }
    return postable_alert(labels, annotations, starts_at=starts_at, ends_at=ends_at, generator_url=_generator_url(expr))


def _firing(pod: str, now: datetime) -> dict[str, Any]:
    return image_pull_alert(pod, starts_at=now - timedelta(minutes=1), ends_at=now + VALID_FOR)


def _resolved(pod: str, started: datetime, now: datetime) -> dict[str, Any]:
    return image_pull_alert(pod, starts_at=started, ends_at=now)


PODS = ["frontend-7d9f8b6c5d-x2x7q", "frontend-7d9f8b6c5d-k8m4p", "frontend-7d9f8b6c5d-v9n3w"]


async def capture_firing_one(alertmanager: AlertmanagerProcess, receiver: WebhookReceiver) -> Notification:
    """One KubecampImagePullFailing alert, firing."""
    await alertmanager.post_alerts([_firing(PODS[0], datetime.now(UTC))])
    return await receiver.next()


async def capture_group(
    alertmanager: AlertmanagerProcess, receiver: WebhookReceiver
) -> tuple[Notification, Notification, Notification]:
    """Three Pods of one group firing; then one resolved; then all resolved."""
    now = datetime.now(UTC)
    started = now - timedelta(minutes=1)
    await alertmanager.post_alerts([_firing(pod, now) for pod in PODS])
    firing_three = await receiver.next()

    now = datetime.now(UTC)
    # Prometheus goes on sending the alerts that still fire along with the one that resolved.
    first_resolved_at = now
    await alertmanager.post_alerts([_resolved(PODS[0], started, now), *(_firing(pod, now) for pod in PODS[1:])])
    resolved_partial = await receiver.next()

    now = datetime.now(UTC)
    # Prometheus resends a resolved alert for 15 minutes: the first one is in this batch again.
    await alertmanager.post_alerts(
        [_resolved(PODS[0], started, first_resolved_at), *(_resolved(pod, started, now) for pod in PODS[1:])]
    )
    resolved_all = await receiver.next()
    return firing_three, resolved_partial, resolved_all


async def capture_truncated(alertmanager: AlertmanagerProcess, receiver: WebhookReceiver) -> Notification:
    """Five alerts of one group, to a receiver with ``max_alerts: 2``."""
    now = datetime.now(UTC)
    pods = [f"frontend-7d9f8b6c5d-{suffix}" for suffix in ("a1b2c", "d3e4f", "g5h6i", "j7k8l", "m9n0p")]
    await alertmanager.post_alerts([_firing(pod, now) for pod in pods])
    return await receiver.next()


async def capture_no_namespace(alertmanager: AlertmanagerProcess, receiver: WebhookReceiver) -> Notification:
    """A node alert: no namespace label, so the group key has none either."""
    now = datetime.now(UTC)
    alert = node_alert("worker-2", starts_at=now - timedelta(minutes=15), ends_at=now + VALID_FOR)
    await alertmanager.post_alerts([alert])
    return await receiver.next()


@asynccontextmanager
async def _peers(workdir: Path, **options: Any) -> AsyncIterator[tuple[AlertmanagerProcess, WebhookReceiver]]:
    receiver = WebhookReceiver()
    await receiver.start()
    alertmanager = AlertmanagerProcess(workdir, webhook_url=receiver.url, **{**ALERTMANAGER_OPTIONS, **options})
    try:
        await alertmanager.start()
        yield alertmanager, receiver
    finally:
        await alertmanager.stop()
        await receiver.stop()


async def capture_all(workdir: Path) -> dict[str, Notification]:
    """Every payload, by file stem."""
    captured: dict[str, Notification] = {}
    async with _peers(workdir / "one") as (alertmanager, receiver):
        captured["firing_one"] = await capture_firing_one(alertmanager, receiver)
    async with _peers(workdir / "group") as (alertmanager, receiver):
        captured["firing_three"], captured["resolved_partial"], captured["resolved_all"] = await capture_group(
            alertmanager, receiver
        )
    async with _peers(workdir / "truncated", max_alerts=2) as (alertmanager, receiver):
        captured["truncated"] = await capture_truncated(alertmanager, receiver)
    async with _peers(workdir / "node") as (alertmanager, receiver):
        captured["no_namespace"] = await capture_no_namespace(alertmanager, receiver)
    return captured


def pretty(notification: Notification) -> str:
    """The body as saved: the same keys in the same order, indented."""
    return json.dumps(notification.json(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else PAYLOADS_DIR
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kubecamp-capture-") as workdir:
        captured = asyncio.run(capture_all(Path(workdir)))
    for stem, notification in captured.items():
        (dest / f"{stem}.json").write_text(pretty(notification), encoding="utf-8")
        headers = {k: v for k, v in notification.headers.items() if k.lower() != "host"}
        print(f"{stem}.json: {len(notification.body)} bytes, headers {headers}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
