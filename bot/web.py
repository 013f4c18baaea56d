"""The bot's HTTP side on the shared event loop: health and readiness (the webhook comes next).

`/healthz` says the process is alive. `/readyz` says whether it can do its work, naming each
dependency that is not: the store, the Discord gateway, the Kubernetes API.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[None]]
PROBE_TIMEOUT = 3.0


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def make_app(*, probes: Mapping[str, Probe]) -> web.Application:
    """`probes`: name → a coroutine that returns when that dependency is fine and raises otherwise."""

    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        async def check(probe: Probe) -> str:
            try:
                await asyncio.wait_for(probe(), PROBE_TIMEOUT)
            except TimeoutError:
                return f"no answer within {PROBE_TIMEOUT:g}s"
            except Exception as exc:  # a probe's failure is the answer, whatever it is
                return str(exc) or type(exc).__name__
            return "ok"

        names = list(probes)
        results = dict(zip(names, await asyncio.gather(*(check(probes[n]) for n in names)), strict=True))
        ready = all(result == "ok" for result in results.values())
        return _json({"status": "ready" if ready else "not ready", "checks": results}, 200 if ready else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


class WebServer:
    def __init__(self, app: web.Application, *, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses  # the port actually bound, when 0 asked for any free one
        if addresses:
            self.port = int(addresses[0][1])
        log.info("web server listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
