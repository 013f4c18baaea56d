"""The peers themselves: real Prometheus scrapes the kube-state-metrics stand-in, evaluates the shipped rules, and
real Alertmanager posts the alert to a webhook, firing then resolved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.scheduling import SLEEPS_ON_REAL_TIMERS

from .fixtures import StartAlertmanager, StartPrometheus
from .processes import (
    ALERT_RULES_DIR,
    Exposition,
    Notification,
    PeerStartFailed,
    PrometheusProcess,
    WebhookReceiver,
    render_exposition,
    shorten_rule_files,
)

TOKEN = "peers-self-test-token"
POD = {
    "namespace": "kubecamp-blue",
    "pod": "frontend-abc",
    "uid": "5f0e3a52-8c1b-4b8e-9d4f-2a7c61e0b913",
    "container": "frontend",
}
# What kube-state-metrics v2 exports for a container that cannot pull its image, and once it runs.
BROKEN = [
    ("kube_pod_container_status_waiting_reason", {**POD, "reason": "ImagePullBackOff"}, 1.0),
    ("kube_pod_container_status_waiting", POD, 1.0),
    ("kube_pod_container_status_running", POD, 0.0),
]
FIXED = [
    ("kube_pod_container_status_waiting", POD, 0.0),
    ("kube_pod_container_status_running", POD, 1.0),
    ("kube_pod_container_status_ready", POD, 1.0),
]
ALERT = "KubecampImagePullFailing"


async def _next_of(receiver: WebhookReceiver, alertname: str, status: str) -> Notification:
    # Other rules may fire on the same series in their own groups: skip their notifications.
    while True:
        notification = await receiver.next(timeout=20)
        body = notification.json()
        if body["groupLabels"].get("alertname") == alertname and body["status"] == status:
            return notification


@SLEEPS_ON_REAL_TIMERS
async def test_image_pull_alert_fires_and_resolves_through_alertmanager(
    exposition: Exposition,
    webhook_receiver: WebhookReceiver,
    start_prometheus: StartPrometheus,
    start_alertmanager: StartAlertmanager,
) -> None:
    exposition.set_samples(BROKEN)
    alertmanager = await start_alertmanager(webhook_receiver, bearer_token=TOKEN)
    prometheus = await start_prometheus(exposition, alertmanager=alertmanager)
    await exposition.wait_scraped()

    alert = await prometheus.wait_for_alert(ALERT, timeout=20)
    # honor_labels kept the series' namespace and pod; the rule aggregated uid and reason away.
    assert alert["labels"] == {
        "alertname": ALERT,
        "namespace": "kubecamp-blue",
        "pod": "frontend-abc",
        "container": "frontend",
        "severity": "warning",
    }

    firing = await _next_of(webhook_receiver, ALERT, "firing")
    assert firing.headers["Authorization"] == f"Bearer {TOKEN}"
    assert firing.headers["Content-Type"] == "application/json"
    assert firing.headers["User-Agent"].startswith("Alertmanager/")
    body = firing.json()
    assert body["groupLabels"] == {"alertname": ALERT, "namespace": "kubecamp-blue"}
    [sent] = body["alerts"]
    assert sent["status"] == "firing"
    assert sent["labels"] == alert["labels"]
    summary = "Container frontend of Pod kubecamp-blue/frontend-abc cannot pull its image."
    assert sent["annotations"]["summary"] == summary
    assert sent["generatorURL"].startswith(prometheus.url)

    exposition.set_samples(FIXED)
    resolved = await _next_of(webhook_receiver, ALERT, "resolved")
    [gone] = resolved.json()["alerts"]
    assert gone["status"] == "resolved"
    assert gone["labels"] == alert["labels"]
    assert gone["endsAt"] > gone["startsAt"]
    await prometheus.wait_for_no_alert(ALERT, timeout=10)


def test_exposition_text_escapes_label_values() -> None:
    text = render_exposition(
        [
            ("m", {"a": 'say "hi"\\ \n bye'}, 1),
            ("n", {}, 0.5),
            ("m", {"a": "b"}, float("nan")),
        ]
    )
    assert text == 'm{a="say \\"hi\\"\\\\ \\n bye"} 1\nm{a="b"} NaN\nn 0.5\n'
    with pytest.raises(ValueError, match="label name"):
        render_exposition([("m", {"bad-name": "x"}, 1)])


def test_rule_copies_have_the_short_for(tmp_path: Path) -> None:
    copies = shorten_rule_files(sorted(ALERT_RULES_DIR.glob("*.yaml")), tmp_path, "3s")
    rules = [rule for path in copies for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    assert rules
    assert {rule["for"] for rule in rules} == {"3s"}


async def test_a_failed_start_names_the_log(start_prometheus: StartPrometheus, tmp_path: Path) -> None:
    broken_rules = tmp_path / "broken.yaml"
    broken_rules.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: 'sum(('\n")
    with pytest.raises(PeerStartFailed, match=r"(?s)exited with 1 while starting.*log:\n.*"):
        await start_prometheus("127.0.0.1:1", rule_files=[broken_rules])


async def test_stop_leaves_no_process(start_prometheus: StartPrometheus, exposition: Exposition) -> None:
    prometheus: PrometheusProcess = await start_prometheus(exposition)
    pid = prometheus.pid
    assert pid is not None
    await prometheus.stop()
    assert not prometheus.running
    with pytest.raises(ProcessLookupError):  # terminated and reaped
        os.kill(pid, 0)
