"""The probe listener (KUBECAMP_WEB_PROBE_PORT), for the kubelet and Prometheus: `/healthz` says the process is
alive; `/readyz` whether it can do its work, naming each dependency that is not (the store and its volume, the
Discord gateway, the Kubernetes API), read from `bot.readiness`' last background round; `/metrics` is
Prometheus' text format (bot/metrics.py lists the names)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.web.server import PROBE_MAX_BODY_BYTES, json_response


def make_probe_app(
    *, readiness: Readiness, metrics: Metrics, leadership: Callable[[], dict[str, object]] | None = None
) -> web.Application:
    """`/healthz`, `/readyz` (from `readiness`' last round: it checks nothing itself; with `leadership`, also
    which replica leads) and `/metrics`."""

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready, results = readiness.state()
        body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
        if leadership is not None:
            body["leader"] = leadership()
        return json_response(body, 200 if ready else 503)

    async def scrape(request: web.Request) -> web.Response:
        body, content_type = await metrics.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application(client_max_size=PROBE_MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)
    return app
