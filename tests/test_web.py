"""Health and readiness over real HTTP."""

from __future__ import annotations

import aiohttp

from bot.web import WebServer, make_app


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("gateway not connected")


async def test_healthz_and_readyz_name_what_is_not_ready() -> None:
    server = WebServer(make_app(probes={"store": ok, "discord": broken}), host="127.0.0.1", port=0)
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
    server = WebServer(make_app(probes={"store": ok}), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{server.port}/readyz") as r:
            assert (r.status, (await r.json())["status"]) == (200, "ready")
    finally:
        await server.stop()
