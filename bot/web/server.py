"""A listener of the bot's HTTP side: the limits that keep any client from making the bot hold much for long.

Each listener serves only its own clients (`bot.web` lists them): Alertmanager, Prometheus and the kubelet send
a request line and a few short headers, at once.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


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
