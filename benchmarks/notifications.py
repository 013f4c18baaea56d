"""Alertmanager webhook notifications (format version 4) as Alertmanager builds them, for load.

A `Group` is one alert group (one incident in the bot): `notification(...)` is what Alertmanager
would post about it with the given alerts firing or resolved. Fingerprints are stable per alert, so
a repeat of a group updates one incident rather than opening a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EXTERNAL_URL = "http://alertmanager.monitoring.svc:9093"
#: Alertmanager's "zero" endsAt for a firing alert.
NEVER = "0001-01-01T00:00:00Z"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Group:
    """Alerts `alertname` in `namespace`, one per pod ``<alertname-lower>-<index>``."""

    alertname: str
    namespace: str
    started: datetime

    @property
    def key(self) -> str:
        return f'{{}}:{{alertname="{self.alertname}", namespace="{self.namespace}"}}'

    def labels(self, index: int) -> dict[str, str]:
        return {
            "alertname": self.alertname,
            "namespace": self.namespace,
            "pod": f"{self.alertname.lower()}-{index}",
            "severity": "warning",
        }

    def fingerprint(self, index: int) -> str:
        return hashlib.sha256(json.dumps(self.labels(index), sort_keys=True).encode()).hexdigest()[:16]

    def annotations(self, index: int) -> dict[str, str]:
        return {"summary": f"Pod {self.namespace}/{self.labels(index)['pod']} is not ready."}

    def alert(self, index: int, *, resolved_at: datetime | None = None) -> dict[str, object]:
        return {
            "status": "resolved" if resolved_at else "firing",
            "labels": self.labels(index),
            "annotations": self.annotations(index),
            "startsAt": _stamp(self.started + timedelta(milliseconds=index)),
            "endsAt": _stamp(resolved_at) if resolved_at else NEVER,
            "generatorURL": "http://prometheus.monitoring.svc:9090/graph",
            "fingerprint": self.fingerprint(index),
        }

    def notification(self, firing: Sequence[int], resolved: Sequence[int] = (), *, at: datetime) -> bytes:
        """The body Alertmanager posts when alerts `firing` fire and `resolved` have resolved (at `at`)."""
        alerts = [self.alert(i) for i in firing] + [self.alert(i, resolved_at=at) for i in resolved]
        body = {
            "receiver": "kubecamp-bot",
            "status": "firing" if firing else "resolved",
            "alerts": alerts,
            "groupLabels": {"alertname": self.alertname, "namespace": self.namespace},
            "commonLabels": {"alertname": self.alertname, "namespace": self.namespace, "severity": "warning"},
            "commonAnnotations": {},
            "externalURL": EXTERNAL_URL,
            "version": "4",
            "groupKey": self.key,
            "truncatedAlerts": 0,
        }
        return json.dumps(body).encode()
