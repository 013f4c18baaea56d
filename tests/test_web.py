"""Health, readiness and Alertmanager's webhook, over real HTTP against a real SQLite store."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.incidents.publisher import IncidentPublisher
from bot.incidents.service import IncidentService
from bot.metrics import Metrics
from bot.store import Store
from bot.store.incidents import IncidentStore
from bot.web import Webhook, WebhookAuth, WebServer, make_app


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("gateway not connected")


async def test_healthz_and_readyz_name_what_is_not_ready() -> None:
    server = WebServer(make_app(probes={"store": ok, "discord": broken}, metrics=Metrics()), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok"}
            async with session.get(f"http://127.0.0.1:{server.port}/readyz") as response:
                assert response.status == 503
                assert response.content_type == "application/json"
                assert await response.json() == {
                    "status": "not ready",
                    "checks": {"store": "ok", "discord": "gateway not connected"},
                }
    finally:
        await server.stop()


async def test_ready_when_every_probe_passes() -> None:
    server = WebServer(make_app(probes={"store": ok}, metrics=Metrics()), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{server.port}/readyz") as r:
            assert (r.status, (await r.json())["status"]) == (200, "ready")
    finally:
        await server.stop()


# --- the Alertmanager webhook ---------------------------------------------------------------------------------------

TOKEN = "s3cret-token"
HOOK = "/webhooks/alertmanager"


def notification(*, status: str = "firing", fingerprint: str = "a1b2c3", **extra: object) -> dict[str, object]:
    """A version-4 notification as Alertmanager 0.25 sends it."""
    body: dict[str, object] = {
        "receiver": "kubecamp",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "KubecampImagePullFailing", "namespace": "kc-blue-whales", "pod": "web-1"},
                "annotations": {"summary": "web-1 cannot pull its image"},
                "startsAt": "2026-11-22T10:00:00Z",
                "endsAt": "2026-11-22T10:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": fingerprint,
            }
        ],
        "groupLabels": {"alertname": "KubecampImagePullFailing", "namespace": "kc-blue-whales"},
        "commonLabels": {"alertname": "KubecampImagePullFailing", "namespace": "kc-blue-whales", "pod": "web-1"},
        "commonAnnotations": {"summary": "web-1 cannot pull its image"},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="KubecampImagePullFailing", namespace="kc-blue-whales"}',
        "truncatedAlerts": 0,
    }
    body.update(extra)
    return body


@dataclass
class Hook:
    url: str
    store: Store
    incidents: IncidentStore
    session: aiohttp.ClientSession
    metrics: Metrics

    async def post(
        self, body: object, *, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> tuple[int, dict[str, object]]:
        sent = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})}
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.session.post(self.url, data=data, headers=sent) as response:
            return response.status, await response.json()

    async def count(self) -> int:
        return len(await self.incidents.recent(limit=1000))


async def _serve(
    store: Store, auth: WebhookAuth, max_body_bytes: int = 1024 * 1024, metrics: Metrics | None = None
) -> tuple[WebServer, IncidentStore]:
    metrics = metrics or Metrics()
    incidents = IncidentStore(store)
    publisher = IncidentPublisher(
        incidents=incidents, store=store, outbox=_NoOutbox(), lang="en", clock=_now, silences=False
    )
    service = IncidentService(
        incidents=incidents,
        publisher=publisher,
        silencer=None,
        lang="en",
        clock=_now,
        alerts_channel=None,
        metrics=metrics,
    )
    webhook = Webhook(auth=auth, receive=service.receive, max_body_bytes=max_body_bytes)
    app = make_app(probes={}, metrics=metrics, webhook=webhook)
    server = WebServer(app, host="127.0.0.1", port=0)
    await server.start()
    return server, incidents


class _NoOutbox:
    async def enqueue(self, **_: object) -> None:
        raise AssertionError("the webhook posts nothing itself: the publisher does")


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def hook(store: Store) -> AsyncIterator[Hook]:
    metrics = Metrics()
    server, incidents = await _serve(store, WebhookAuth(token=TOKEN), max_body_bytes=4096, metrics=metrics)
    try:
        async with aiohttp.ClientSession() as session:
            yield Hook(f"http://127.0.0.1:{server.port}{HOOK}", store, incidents, session, metrics)
    finally:
        await server.stop()


async def test_a_notification_is_kept_and_the_same_one_again_changes_nothing(hook: Hook) -> None:
    status, answer = await hook.post(notification())
    assert (status, answer["status"], answer["changed"]) == (200, "ok", True)
    [incident] = await hook.incidents.recent()
    assert answer["incident"] == incident.id
    assert incident.common_labels["pod"] == "web-1"
    status, again = await hook.post(notification())
    assert (status, again["incident"], again["changed"]) == (200, incident.id, False)
    assert (await hook.incidents.get(incident.id)).version == incident.version  # type: ignore[union-attr]
    status, resolved = await hook.post(notification(status="resolved"))
    assert (status, resolved["changed"]) == (200, True)
    assert (await hook.incidents.get(incident.id)).status == "resolved"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {base64.b64encode(f'user:{TOKEN}'.encode()).decode()}"},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "wrong", "longer", "basic-instead", "no-scheme"],
)
async def test_missing_or_wrong_credentials_get_401_and_nothing_else(hook: Hook, headers: dict[str, str]) -> None:
    status, answer = await hook.post(notification(), headers=headers)
    assert (status, answer) == (401, {"status": "error", "error": "unauthorized"})
    assert await hook.count() == 0


async def test_basic_auth_when_configured(store: Store) -> None:
    server, incidents = await _serve(store, WebhookAuth(username="am", password="pw"))
    url = f"http://127.0.0.1:{server.port}{HOOK}"
    body = json.dumps(notification()).encode()
    try:
        async with aiohttp.ClientSession() as session:
            for auth, expected in [("am:pw", 200), ("am:no", 401), ("xx:pw", 401), ("am:pw:", 401)]:
                basic = base64.b64encode(auth.encode()).decode()
                headers = {"Content-Type": "application/json", "Authorization": f"Basic {basic}"}
                async with session.post(url, data=body, headers=headers) as r:
                    assert r.status == expected, auth
            async with session.post(url, data=body, headers={"Authorization": "Basic !!notbase64"}) as r:
                assert r.status == 401
    finally:
        await server.stop()
    assert len(await incidents.recent()) == 1


async def test_without_credentials_configured_the_webhook_is_off(store: Store) -> None:
    server, incidents = await _serve(store, WebhookAuth())
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}{HOOK}"
            async with session.post(url, json=notification(), headers={"Authorization": "Bearer "}) as r:
                assert r.status == 404
                assert "no credentials are configured" in (await r.json())["error"]
    finally:
        await server.stop()
    assert await incidents.recent() == []


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "says"),
    [
        (b"{}", "text/plain", 415, "expected Content-Type application/json, got text/plain"),
        (b"{not json", "application/json", 400, "not JSON"),
        (b"[1, 2]", "application/json", 422, "JSON list, not an object"),
        (json.dumps(notification(version="3")).encode(), "application/json", 422, 'version: Value error, expected "4"'),
        (json.dumps(notification(groupKey=None)).encode(), "application/json", 422, "groupKey"),
        (json.dumps(notification(alerts=[])).encode(), "application/json", 422, "alerts:"),
        (json.dumps(notification(alerts=[{"status": "firing"}])).encode(), "application/json", 422, "alerts.0.labels"),
        (b"x" * 5000, "application/json", 413, "over 4096 bytes"),
    ],
    ids=["content-type", "not-json", "array", "version", "group-key", "no-alerts", "alert-shape", "too-large"],
)
async def test_bad_input_gets_a_specific_4xx_and_nothing_is_stored(
    hook: Hook, raw: bytes, content_type: str, status: int, says: str
) -> None:
    got, answer = await hook.post(None, raw=raw, headers={"Content-Type": content_type})
    assert got == status
    assert says in str(answer["error"])
    assert await hook.count() == 0


async def test_a_chunked_body_over_the_limit_is_refused_while_read(hook: Hook) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with hook.session.post(hook.url, data=chunks(), headers=headers) as response:
        assert response.status == 413
    assert await hook.count() == 0


async def test_503_when_the_store_cannot_keep_it_and_alertmanager_retries(hook: Hook, db_url: str) -> None:
    # Another process holds the database's write lock past the store's busy timeout.
    path = make_url(db_url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        status, answer = await hook.post(notification())
        assert status == 503
        assert "retry later" in str(answer["error"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await hook.count() == 0
    status, _ = await hook.post(notification())  # Alertmanager's retry
    assert status == 200
    assert await hook.count() == 1
