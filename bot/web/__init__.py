"""The bot's HTTP side on the shared event loop: listeners, each serving only its own clients.

* the probe listener (`bot.web.probes`, KUBECAMP_WEB_PROBE_PORT): `/healthz`, `/readyz`, `/metrics`, for the
  kubelet and Prometheus;
* the webhook listener (`bot.web.webhook`, KUBECAMP_WEB_PORT): Alertmanager's `POST /webhooks/alertmanager`.

`bot.web.server.WebServer` holds each listener's clients to what they send — a request line and a few short
headers, at once — so that no client can make the bot keep much for long.
"""

from bot.web.probes import make_probe_app
from bot.web.server import (
    ACCEPT_BACKLOG,
    IDLE_TIMEOUT,
    LINGER_SECONDS,
    MAX_FIELD_BYTES,
    MAX_HEADERS,
    MAX_LINE_BYTES,
    PROBE_MAX_BODY_BYTES,
    PROBE_MAX_CONNECTIONS,
    WEBHOOK_MAX_CONNECTIONS,
    WebServer,
)
from bot.web.webhook import JSON_TYPE, WEBHOOK_PATH, Webhook, WebhookAuth, make_webhook_app

__all__ = [
    "ACCEPT_BACKLOG",
    "IDLE_TIMEOUT",
    "JSON_TYPE",
    "LINGER_SECONDS",
    "MAX_FIELD_BYTES",
    "MAX_HEADERS",
    "MAX_LINE_BYTES",
    "PROBE_MAX_BODY_BYTES",
    "PROBE_MAX_CONNECTIONS",
    "WEBHOOK_MAX_CONNECTIONS",
    "WEBHOOK_PATH",
    "WebServer",
    "Webhook",
    "WebhookAuth",
    "make_probe_app",
    "make_webhook_app",
]
