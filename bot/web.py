"""The bot's HTTP side on the shared event loop: two listeners, each serving only its own clients.

The probe listener (`make_probe_app`, KUBECAMP_WEB_PROBE_PORT) is for the kubelet and Prometheus: `/healthz`
says the process is alive; `/readyz` whether it can do its work, naming each dependency that is not (the store
and its volume, the Discord gateway, the Kubernetes API), read from `bot.readiness`' last background round;
`/metrics` is Prometheus' text format (bot/metrics.py lists the names).

The webhook listener (`make_webhook_app`, KUBECAMP_WEB_PORT) serves only `POST /webhooks/alertmanager`, which
takes Alertmanager's webhook notifications (format version 4):

* authenticated first, by bearer token or basic auth as configured (Alertmanager's
  ``http_config.authorization`` / ``basic_auth``), compared in constant time; missing or wrong → 401
  and nothing more said. Without credentials configured the webhook is off (404);
* then checked: ``Content-Type: application/json`` (415), a body within the size limit (413) that
  arrives whole within `Webhook.body_timeout` (408; cut off or undecodable: 400), JSON (400), a
  version-4 notification (422 naming the first wrong field). A refused body changes nothing;
* answered 200 only once the notification is committed to the store. When the store cannot take it
  the answer is 503, which Alertmanager retries; a notification delivered twice changes nothing.

Both listeners hold a client to what Alertmanager, Prometheus and the kubelet send — a request line and a
few short headers, at once — so that no client can make the bot keep much for long (`WebServer`).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.errors import StoreUnavailable
from bot.incidents.payload import PayloadInvalid
from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.store.incidents import Recorded

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/alertmanager"
#: Alertmanager sends exactly this (no charset: JSON is UTF-8).
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class WebhookAuth:
    """The credentials Alertmanager must present: a bearer token, or a user name and password."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.token) or bool(self.username and self.password)

    def admits(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the configured credentials (constant time)."""
        if not header or not self.configured:
            return False
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return _same(value.strip(), self.token)
        if scheme == "basic" and self.username and self.password:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
                return False
            user, _, password = decoded.partition(":")
            # Both compared, always: which one was wrong takes no longer to find out.
            return _same(user, self.username) & _same(password, self.password)
        return False


def _same(given: str, expected: str) -> bool:
    # aiohttp decodes header bytes that are not UTF-8 to surrogates: "surrogatepass" encodes any str, so such
    # a header is compared (and refused) rather than raising.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Webhook:
    """Alertmanager's webhook: who may post, how much, and what keeps a notification."""

    auth: WebhookAuth
    receive: Callable[[bytes], Awaitable[Recorded]]
    max_body_bytes: int = 1024 * 1024
    #: Seconds the body may take to arrive after the headers: Alertmanager sends it at once; a client that
    #: stalls would otherwise hold its request open for good.
    body_timeout: float = 10.0


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def make_probe_app(*, readiness: Readiness, metrics: Metrics) -> web.Application:
    """`/healthz`, `/readyz` (from `readiness`' last round: it checks nothing itself) and `/metrics`."""

    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready, results = readiness.state()
        return _json({"status": "ready" if ready else "not ready", "checks": results}, 200 if ready else 503)

    async def scrape(request: web.Request) -> web.Response:
        body, content_type = await metrics.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application(client_max_size=PROBE_MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)
    return app


def make_webhook_app(*, webhook: Webhook | None, metrics: Metrics) -> web.Application:
    """`POST /webhooks/alertmanager` alone."""
    # aiohttp refuses a larger body itself (413) while reading it, before any of it is kept.
    app = web.Application(client_max_size=webhook.max_body_bytes if webhook else PROBE_MAX_BODY_BYTES)
    app.router.add_post(WEBHOOK_PATH, _measured(_webhook_handler(webhook), metrics))
    return app


def _problem(status: int, detail: str, **headers: str) -> web.Response:
    response = _json({"status": "error", "error": detail}, status)
    response.headers.update(headers)
    return response


def _unread(status: int, detail: str) -> web.Response:
    """An answer before the body was read whole: where the next request would begin is unknown, so the
    connection closes after it."""
    response = _problem(status, detail)
    response.force_close()
    return response


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _measured(handler: Handler, metrics: Metrics) -> Handler:
    async def measured(request: web.Request) -> web.Response:
        began = time.perf_counter()
        status = 500  # unless the handler answers: aiohttp's answer to an exception out of it
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            metrics.webhook_seconds.observe(time.perf_counter() - began)
            metrics.webhook_responses.labels(str(status)).inc()

    return measured


def _webhook_handler(webhook: Webhook | None) -> Handler:
    async def receive(request: web.Request) -> web.Response:
        if webhook is None or not webhook.auth.configured:
            return _problem(404, "the Alertmanager webhook is off: no credentials are configured")
        if not webhook.auth.admits(request.headers.get("Authorization")):
            challenge = "Bearer" if webhook.auth.token else 'Basic realm="kubecamp"'
            return _problem(401, "unauthorized", **{"WWW-Authenticate": challenge})
        if request.content_type != JSON_TYPE:
            return _problem(415, f"expected Content-Type {JSON_TYPE}, got {request.content_type or 'none'}")
        if request.content_length is not None and request.content_length > webhook.max_body_bytes:
            return _problem(413, f"the body is over {webhook.max_body_bytes} bytes")
        try:
            async with asyncio.timeout(webhook.body_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _problem(413, f"the body is over {webhook.max_body_bytes} bytes")
        except TimeoutError:
            return _unread(408, f"the body did not arrive within {webhook.body_timeout:g} s")
        except (web.RequestPayloadError, ConnectionResetError) as e:
            # Cut off, or its Content-Encoding undecodable: the client's fault, even if it is gone to hear it.
            return _unread(400, f"the body could not be read: {e}")
        try:
            recorded = await webhook.receive(body)
        except PayloadInvalid as e:
            return _problem(e.status, e.problem)
        except StoreUnavailable as e:
            log.warning("webhook: cannot keep a notification, Alertmanager will retry: %s", e)
            return _problem(503, "the bot cannot store the notification now; retry later")
        incident = recorded.incident.id if recorded.incident is not None else None
        return _json({"status": "ok", "incident": incident, "changed": recorded.changed})

    return receive


#: The probe listener takes no body: GET alone is routed there.
PROBE_MAX_BODY_BYTES = 1024
#: Bytes of the request line: the paths served are short.
MAX_LINE_BYTES = 2048
#: Bytes of one header, name and value (aiohttp's default is 8190): room for a long bearer token.
MAX_FIELD_BYTES = 4096
#: Headers in one request (aiohttp's default is 128). Alertmanager sends six, Prometheus and the kubelet about as
#: many, a service mesh's proxy adds a dozen. With the sizes above a request's headers are under 130 KiB, where
#: aiohttp's defaults let each connection buffer about 1 MiB.
MAX_HEADERS = 32
#: Seconds a connection may go without a whole request's headers: idle between requests (aiohttp's default
#: keep-alive is about an hour) or sending them slowly. aiohttp has no separate header-read timeout: its
#: keep-alive timer runs from the connection's opening and from each answer, and closes the connection if no
#: request has been parsed whole when it fires; the tests hold it to that. Every client here sends a request at
#: once, or reconnects when it next needs to.
IDLE_TIMEOUT = 10.0
#: Seconds aiohttp goes on reading (and dropping) a body the handler did not read before it closes the
#: connection (its default is 10): a client that keeps sending one holds nothing for long.
LINGER_SECONDS = 2.0
#: Connections a listener holds at most; beyond, a new one is answered 503 and closed before anything is read.
#: What the clients of a listener can make the bot hold is then bounded by the limits above times this, whoever
#: reaches the port: measured, about 0.5 MiB a connection at most while it floods (the socket's read buffers
#: and the headers parsed), so some 60 MiB for the webhook. Alertmanager, even highly available, needs a few.
#: The probes' listener takes more: /readyz costs nothing now, and a client that holds every slot of a listener
#: keeps the kubelet out of it; what reaches these ports is for the NetworkPolicy to say.
WEBHOOK_MAX_CONNECTIONS = 128
PROBE_MAX_CONNECTIONS = 256
#: Connections the kernel queues before the bot accepts them (it caps this at net.core.somaxconn).
ACCEPT_BACKLOG = 1024

_REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class WebServer:
    """One listener serving `app`, with the limits above and at most `max_connections` connections."""

    def __init__(
        self,
        app: web.Application,
        *,
        host: str,
        port: int,
        max_connections: int,
        name: str,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self._runner = web.AppRunner(
            app,
            access_log=None,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_FIELD_BYTES,
            max_headers=MAX_HEADERS,
            keepalive_timeout=idle_timeout,
            lingering_time=LINGER_SECONDS,
        )
        self._host = host
        self.port = port
        self.max_connections = max_connections
        self.name = name
        self._listener: asyncio.Server | None = None
        self._full = False

    @property
    def connections(self) -> int:
        """Connections open now."""
        server = self._runner.server
        return len(server.connections) if server is not None else 0

    async def start(self) -> None:
        await self._runner.setup()
        # A listener of our own rather than aiohttp's TCPSite, to count connections before admitting one.
        # A deep accept queue: a connection the kernel could not queue is one its client believes open while
        # the bot never sees it, so it is neither served, refused nor closed on time.
        self._listener = await asyncio.get_running_loop().create_server(
            self._admit, self._host, self.port, backlog=ACCEPT_BACKLOG
        )
        self.port = int(self._listener.sockets[0].getsockname()[1])  # the port bound, when 0 asked for any free one
        log.info("web server (%s) listening on %s:%s", self.name, self._host, self.port)

    def _admit(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        if server is None:  # not set up (start() sets it up before it listens): nothing to hand over to
            return _Refused()
        if len(server.connections) < self.max_connections:
            self._full = False
            return server()
        if not self._full:  # once per time it fills up, not once per connection refused
            log.warning("web server (%s): %d connections open, refusing more", self.name, self.max_connections)
            self._full = True
        return _Refused()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        await self._runner.cleanup()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None


class _Refused(asyncio.Protocol):
    """A connection over the limit: answered 503 at once and closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):  # a TCP server's always is
            transport.write(_REFUSAL)
        transport.close()
