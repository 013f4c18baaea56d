"""Health, readiness and Alertmanager's webhook, over real HTTP against a real SQLite store."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url
from yarl import URL

from bot.incidents.publisher import IncidentPublisher
from bot.incidents.service import IncidentService
from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.store import Store
from bot.store.incidents import IncidentStore
from bot.web import WEBHOOK_MAX_CONNECTIONS, Webhook, WebhookAuth, WebServer, make_probe_app, make_webhook_app
from tests.scheduling import SLEEPS_ON_REAL_TIMERS


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("API server unreachable")


def gateway_down() -> None:
    raise ConnectionError("gateway not connected")


@asynccontextmanager
async def serving(app: web.Application, max_connections: int = 8) -> AsyncIterator[str]:
    """`app` served on a free loopback port; its base URL."""
    server = WebServer(app, host="127.0.0.1", port=0, max_connections=max_connections, name="test")
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_healthz_and_readyz_name_what_is_not_ready() -> None:
    readiness = Readiness(checks={"store": ok, "kubernetes": broken}, instant={"discord": gateway_down})
    await readiness.refresh()
    async with serving(make_probe_app(readiness=readiness, metrics=Metrics())) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
        async with s.get(f"{url}/readyz") as response:
            assert response.status == 503
            assert response.content_type == "application/json"
            assert await response.json() == {
                "status": "not ready",
                "checks": {"store": "ok", "kubernetes": "API server unreachable", "discord": "gateway not connected"},
            }


async def test_ready_when_every_check_passes_and_not_before_the_first_round() -> None:
    readiness = Readiness(checks={"store": ok})
    async with serving(make_probe_app(readiness=readiness, metrics=Metrics())) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/readyz") as r:
            assert (r.status, await r.json()) == (503, {"status": "not ready", "checks": {"store": "not checked yet"}})
        await readiness.refresh()
        async with s.get(f"{url}/readyz") as r:
            assert (r.status, (await r.json())["status"]) == (200, "ready")


async def test_readyz_says_which_replica_leads_under_leader_election() -> None:
    readiness = Readiness(checks={"store": ok})
    await readiness.refresh()
    leader = {"identity": "kubecamp-bot-b", "leading": False, "holder": "kubecamp-bot-a"}
    app = make_probe_app(readiness=readiness, metrics=Metrics(), leadership=lambda: leader)
    async with serving(app) as url, aiohttp.ClientSession() as s, s.get(f"{url}/readyz") as r:
        assert (r.status, await r.json()) == (200, {"status": "ready", "checks": {"store": "ok"}, "leader": leader})


async def test_the_listeners_serve_only_their_own_paths(store: Store) -> None:
    async with open_hook(store) as hook:
        probes = URL(hook.health_url)
        webhook = URL(hook.url)
        for path in ("/healthz", "/readyz", "/metrics"):
            async with hook.session.get(webhook.with_path(path)) as response:
                assert response.status == 404, path
        async with hook.session.post(probes.with_path(HOOK), json=notification()) as response:
            assert response.status in (404, 405)
        assert await hook.count() == 0


async def test_a_connection_over_the_limit_is_answered_503_and_closed_before_anything_is_read() -> None:
    readiness = Readiness(checks={})
    async with serving(make_probe_app(readiness=readiness, metrics=Metrics()), max_connections=2) as url:
        target = URL(url)
        held = [await asyncio.open_connection(target.host, target.port) for _ in range(2)]
        try:
            await asyncio.sleep(0.1)  # both accepted
            reader, writer = await asyncio.open_connection(target.host, target.port)
            async with asyncio.timeout(5):
                refused = await reader.read()
            writer.close()
            assert refused.startswith(b"HTTP/1.1 503 ")
        finally:
            for _, held_writer in held:
                held_writer.close()
        async with asyncio.timeout(5), aiohttp.ClientSession() as session:
            while True:  # served again once the held ones are gone
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.05)


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
    #: The base URL of the probe listener beside it.
    health_url: str
    store: Store
    incidents: IncidentStore
    session: aiohttp.ClientSession
    metrics: Metrics

    async def post(
        self,
        body: object,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | AsyncIterable[bytes] | None = None,
    ) -> tuple[int, dict[str, object]]:
        """Post `body` as JSON, or `raw` (an async iterable: sent chunked, as it yields); the status and the
        JSON answer (a body that is not JSON fails)."""
        sent = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})}
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.session.post(self.url, data=data, headers=sent) as response:
            return response.status, await response.json()

    async def count(self) -> int:
        return len(await self.incidents.recent(limit=1000))

    def answered(self) -> Counter[int]:
        """Webhook requests by the status they were answered, as the metrics count them (also those whose
        client was gone by then)."""
        [family] = self.metrics.webhook_responses.collect()
        totals = [s for s in family.samples if s.name.endswith("_total") and s.value]
        return Counter({int(s.labels["code"]): int(s.value) for s in totals})


async def raw_post(
    url: str,
    headers: Mapping[str, bytes],
    body: bytes | Iterable[bytes] = b"",
    *,
    sent: int | None = None,
    hang_up: bool = False,
) -> tuple[int, bytes] | None:
    """POST over a bare socket, for what aiohttp's client will not do: send header bytes that are not UTF-8,
    stop sending a body, or send the rest of one the server has refused already (aiohttp's client hangs up).
    The status and the body of the answer; the socket is read until the server closes it.

    `body` as bytes goes with its Content-Length; as chunks, chunked, each once the one before has drained
    (the client holds one at a time). With `sent`, only the first `sent` bytes go before the answer is
    awaited, then the rest, as a stalled client would. With `hang_up`, the client closes the connection
    after those bytes instead, and hears nothing (None)."""
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        async with asyncio.timeout(10):
            lines = [f"POST {target.raw_path} HTTP/1.1".encode(), f"Host: {target.host}".encode()]
            lines += [b"Connection: close", *(name.encode() + b": " + value for name, value in headers.items())]
            if isinstance(body, bytes):
                lines.append(f"Content-Length: {len(body)}".encode())
                first = len(body) if sent is None else sent
                writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body[:first])
                rest = body[first:]
            else:
                writer.write(b"\r\n".join([*lines, b"Transfer-Encoding: chunked"]) + b"\r\n\r\n")
                for chunk in body:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                rest = b""
            await writer.drain()
            if hang_up:
                return None
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            content = await reader.readexactly(length)
            writer.write(rest)
            await reader.read()
        return status, content
    finally:
        writer.close()
        await writer.wait_closed()


async def _serve(
    store: Store,
    auth: WebhookAuth,
    max_body_bytes: int = 1024 * 1024,
    metrics: Metrics | None = None,
    body_timeout: float = 10.0,
) -> tuple[WebServer, IncidentStore]:
    metrics = metrics or Metrics()
    incidents = store.incidents
    publisher = IncidentPublisher(incidents=incidents, outbox=_NoOutbox(), lang="en", clock=_now, silences=False)
    service = IncidentService(
        incidents=incidents,
        teams=store.teams,
        publisher=publisher,
        silencer=None,
        lang="en",
        clock=_now,
        alerts_channel=None,
        metrics=metrics,
    )
    webhook = Webhook(auth=auth, receive=service.receive, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    app = make_webhook_app(webhook=webhook, metrics=metrics)
    server = WebServer(app, host="127.0.0.1", port=0, max_connections=WEBHOOK_MAX_CONNECTIONS, name="webhook")
    await server.start()
    return server, incidents


class _NoOutbox:
    async def enqueue(self, **_: object) -> None:
        raise AssertionError("the webhook posts nothing itself: the publisher does")


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def open_hook(
    store: Store,
    *,
    auth: WebhookAuth = WebhookAuth(token=TOKEN),  # noqa: B008 (frozen)
    max_body_bytes: int = 4096,
    body_timeout: float = 10.0,
) -> AsyncIterator[Hook]:
    """The webhook served on loopback over `store`, the probe listener beside it, and a client session."""
    metrics = Metrics()
    server, incidents = await _serve(store, auth, max_body_bytes, metrics, body_timeout)
    try:
        probe_app = make_probe_app(readiness=Readiness(checks={}), metrics=metrics)
        async with serving(probe_app) as probes, aiohttp.ClientSession() as session:
            yield Hook(f"http://127.0.0.1:{server.port}{HOOK}", probes, store, incidents, session, metrics)
    finally:
        await server.stop()


@pytest.fixture
async def hook(store: Store) -> AsyncIterator[Hook]:
    async with open_hook(store) as opened:
        yield opened


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


@SLEEPS_ON_REAL_TIMERS
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


# Found by tests/test_webhook_fuzz.py: each of these answered 500 (an exception out of the handler).


async def test_credentials_that_are_not_utf8_are_refused_not_a_crash(store: Store) -> None:
    auth = WebhookAuth(token=TOKEN, username="am", password="pw")
    async with open_hook(store, auth=auth) as hook:
        for credentials in [b"Bearer \xff\xfe", b"Basic \xff", "Basic é".encode()]:
            headers = {"Authorization": credentials, "Content-Type": b"application/json"}
            answered = await raw_post(hook.url, headers, json.dumps(notification()).encode())
            assert answered is not None
            assert (answered[0], json.loads(answered[1])) == (401, {"status": "error", "error": "unauthorized"})
        assert await hook.count() == 0


async def test_a_body_whose_content_encoding_cannot_be_decoded_is_400(hook: Hook) -> None:
    status, answer = await hook.post(None, raw=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"})
    assert status == 400
    assert "the body could not be read" in str(answer["error"])
    compressed = gzip.compress(json.dumps(notification()).encode())
    assert (await hook.post(None, raw=compressed, headers={"Content-Encoding": "gzip"}))[0] == 200  # one that decodes


@SLEEPS_ON_REAL_TIMERS
async def test_a_body_that_stops_arriving_is_408_and_one_cut_off_is_counted_as_400(store: Store) -> None:
    async with open_hook(store, body_timeout=0.2) as hook:
        headers = {"Authorization": f"Bearer {TOKEN}".encode(), "Content-Type": b"application/json"}
        body = json.dumps(notification()).encode()
        answered = await raw_post(hook.url, headers, body, sent=10)
        assert answered is not None
        assert (answered[0], json.loads(answered[1])["error"]) == (408, "the body did not arrive within 0.2 s")

        # A client that goes away mid-body hears nothing; the answer is still the client's fault.
        assert await raw_post(hook.url, headers, body, sent=10, hang_up=True) is None
        async with asyncio.timeout(5):
            while hook.answered()[400] == 0:  # noqa: ASYNC110 (a counter: nothing to wait on)
                await asyncio.sleep(0.01)
        assert hook.answered()[500] == 0
        assert await hook.count() == 0
