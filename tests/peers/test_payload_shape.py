"""The saved webhook bodies in tests/incidents/payloads/ still have the shape the installed Alertmanager sends."""

from __future__ import annotations

import json
from typing import Any

from .capture import ALERTMANAGER_OPTIONS, PAYLOADS_DIR, TOKEN, capture_firing_one
from .fixtures import StartAlertmanager
from .processes import WebhookReceiver

PAYLOAD_FILES = ["firing_one", "firing_three", "resolved_partial", "resolved_all", "truncated", "no_namespace"]


def _saved(stem: str) -> Any:
    return json.loads((PAYLOADS_DIR / f"{stem}.json").read_text(encoding="utf-8"))


async def test_live_body_has_the_keys_of_firing_one(
    webhook_receiver: WebhookReceiver, start_alertmanager: StartAlertmanager
) -> None:
    alertmanager = await start_alertmanager(webhook_receiver, **ALERTMANAGER_OPTIONS)
    notification = await capture_firing_one(alertmanager, webhook_receiver)
    live = notification.json()
    saved = _saved("firing_one")

    assert list(live) == list(saved)  # same keys, in the same order
    assert [list(alert) for alert in live["alerts"]] == [list(alert) for alert in saved["alerts"]]
    assert live["version"] == saved["version"]
    # Everything but the times and the fingerprint is what the capture posted, so it matches exactly.
    for key in ("receiver", "status", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "groupKey"):
        assert live[key] == saved[key], key
    assert notification.headers["Content-Type"] == "application/json"
    assert notification.headers["Authorization"] == f"Bearer {TOKEN}"
    assert notification.headers["User-Agent"].startswith("Alertmanager/")


def test_saved_bodies_share_one_shape() -> None:
    shapes = {stem: (list(_saved(stem)), {tuple(alert) for alert in _saved(stem)["alerts"]}) for stem in PAYLOAD_FILES}
    assert len({(tuple(top), frozenset(alerts)) for top, alerts in shapes.values()}) == 1, shapes
