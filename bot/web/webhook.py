"""The webhook listener (KUBECAMP_WEB_PORT) serves only `POST /webhooks/alertmanager`, which takes
Alertmanager's webhook notifications (format version 4):

* authenticated first, by bearer token or basic auth as configured (Alertmanager's
  ``http_config.authorization`` / ``basic_auth``), compared in constant time; missing or wrong → 401
  and nothing more said. Without credentials configured the webhook is off (404);
* then checked: ``Content-Type: application/json`` (415), a body within the size limit (413) that
  arrives whole within `Webhook.body_timeout` (408; cut off or undecodable: 400), JSON (400), a
  version-4 notification (422 naming the first wrong field). A refused body changes nothing;
* answered 200 only once the notification is committed to the store. When the store cannot take it
  the answer is 503, which Alertmanager retries; a notification delivered twice changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.errors import StoreUnavailable
from bot.incidents.payload import PayloadInvalid
from bot.metrics import Metrics
from bot.store.notifications import Recorded
from bot.web.server import PROBE_MAX_BODY_BYTES, json_response

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


def make_webhook_app(*, webhook: Webhook | None, metrics: Metrics) -> web.Application:
    """`POST /webhooks/alertmanager` alone."""
    # aiohttp refuses a larger body itself (413) while reading it, before any of it is kept.
    app = web.Application(client_max_size=webhook.max_body_bytes if webhook else PROBE_MAX_BODY_BYTES)
    app.router.add_post(WEBHOOK_PATH, _measured(_webhook_handler(webhook), metrics))
    return app


def _problem(status: int, detail: str, **headers: str) -> web.Response:
    response = json_response({"status": "error", "error": detail}, status)
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
        return json_response({"status": "ok", "incident": incident, "changed": recorded.changed})

    return receive
