"""The gateway websocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, dispatch.

https://discord.com/developers/docs/events/gateway
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .core import Intents

if TYPE_CHECKING:
    from .state import World

log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11
OP_REQUEST_SOUNDBOARD_SOUNDS = 31

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

PRIVILEGED_INTENTS = Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES | Intents.MESSAGE_CONTENT

#: Which intent an event needs (None: always sent). Events not listed are always sent.
EVENT_INTENTS: dict[str, int | None] = {
    "GUILD_CREATE": Intents.GUILDS,
    "GUILD_UPDATE": Intents.GUILDS,
    "GUILD_DELETE": Intents.GUILDS,
    "GUILD_ROLE_CREATE": Intents.GUILDS,
    "GUILD_ROLE_UPDATE": Intents.GUILDS,
    "GUILD_ROLE_DELETE": Intents.GUILDS,
    "CHANNEL_CREATE": Intents.GUILDS,
    "CHANNEL_UPDATE": Intents.GUILDS,
    "CHANNEL_DELETE": Intents.GUILDS,
    "THREAD_CREATE": Intents.GUILDS,
    "THREAD_UPDATE": Intents.GUILDS,
    "THREAD_DELETE": Intents.GUILDS,
    "THREAD_LIST_SYNC": Intents.GUILDS,
    "THREAD_MEMBER_UPDATE": Intents.GUILDS,
    "THREAD_MEMBERS_UPDATE": Intents.GUILD_MEMBERS,
    "GUILD_MEMBER_ADD": Intents.GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": Intents.GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": Intents.GUILD_MEMBERS,
    "MESSAGE_CREATE": Intents.GUILD_MESSAGES,
    "MESSAGE_UPDATE": Intents.GUILD_MESSAGES,
    "MESSAGE_DELETE": Intents.GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": Intents.GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": Intents.GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intents.GUILD_MESSAGE_REACTIONS,
}


@dataclass
class GatewaySession:
    id: str
    intents: int
    shard: tuple[int, int] | None
    resume_url: str
    seq: int = 0
    buffer: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=5000))
    connection: GatewayConnection | None = None
    #: Every dispatch of the session, in order: (seq, event name, data).
    events: list[tuple[int, str, Any]] = field(default_factory=list)

    def wants(self, event: str, guild_id: int | None, intent: int | None = None) -> bool:
        needed = intent if intent is not None else EVENT_INTENTS.get(event)
        if needed is not None and not self.intents & needed:
            return False
        if self.shard is not None and guild_id is not None:
            shard_id, count = self.shard
            if (guild_id >> 22) % count != shard_id:
                return False
        return True


@dataclass
class GatewayConnection:
    ws: web.WebSocketResponse
    request: web.Request
    path: str
    query: dict[str, str]
    compressor: Any = None
    session: GatewaySession | None = None
    sent_upto: int = 0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    writer: asyncio.Task[None] | None = None
    #: Frames received from the client (tokens redacted).
    received: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    #: The emulator closed it (a drop or shutdown): the session stays resumable whatever the close code.
    server_closed: bool = False

    async def send(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        async with self.send_lock:
            if self.ws.closed:
                return
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


class Gateway:
    """Serves the gateway on every path outside ``/api``; sessions survive a dropped socket for RESUME."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        heartbeat_interval: float,
        compress: bool,
        privileged_intents: int,
        notify: Callable[[], Awaitable[None]],
    ) -> None:
        self.world = world
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.compress = compress
        self.privileged_intents = privileged_intents
        self.base_ws_url = "ws://127.0.0.1"
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        #: Every connection ever made: (path, query) — shows whether the client used resume_gateway_url.
        self.connects: list[tuple[str, dict[str, str]]] = []
        self.identifies = 0
        self.resumes = 0
        #: False: heartbeats go unanswered (a zombie connection; discord.py reconnects after heartbeat_timeout).
        self.ack_heartbeats = True
        self._notify = notify

    # ------------------------------------------------------------------ state a test can wait for

    @property
    def live(self) -> list[GatewayConnection]:
        return [c for c in self.connections if not c.ws.closed and c.session is not None]

    # ------------------------------------------------------------------ dispatch

    def dispatch(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        transform: Callable[[GatewaySession, Any], Any] | None = None,
    ) -> None:
        """Queue an event for every session that wants it (buffered for replay while disconnected).

        ``intent`` overrides the intent the event type needs (DMs need DIRECT_MESSAGES, not GUILD_MESSAGES).
        """
        for session in list(self.sessions.values()):
            if not session.wants(event, guild_id, intent):
                continue
            payload = transform(session, data) if transform is not None else data
            self._append(session, event, payload)

    def _append(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append((session.seq, frame))
        session.events.append((session.seq, event, data))
        if session.connection is not None:
            session.connection.wakeup.set()

    async def _writer(self, conn: GatewayConnection) -> None:
        while not conn.ws.closed:
            await conn.wakeup.wait()
            conn.wakeup.clear()
            session = conn.session
            if session is None:
                continue
            for seq, frame in list(session.buffer):
                if seq <= conn.sent_upto:
                    continue
                if conn.ws.closed or conn.session is not session:
                    return
                try:
                    await conn.send(frame)
                except (ConnectionError, RuntimeError):
                    return
                conn.sent_upto = seq
            await self._notify()

    # ------------------------------------------------------------------ the websocket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        await ws.prepare(request)
        conn = GatewayConnection(ws=ws, request=request, path=request.path, query=dict(request.query))
        self.connections.append(conn)
        self.connects.append((request.path, dict(request.query)))
        if request.query.get("v") not in (None, "9", "10"):
            await ws.close(code=CLOSE_INVALID_API_VERSION, message=b"Invalid API version")
            return ws
        if self.compress and request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        conn.writer = asyncio.create_task(self._writer(conn), name="discord-emulator-gateway-writer")
        try:
            await conn.send(
                {"op": OP_HELLO, "d": {"heartbeat_interval": int(self.heartbeat_interval * 1000)}, "s": None, "t": None}
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        frame = json.loads(msg.data)
                    except ValueError:
                        await ws.close(code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload.")
                        break
                    await self._on_frame(conn, frame)
                elif msg.type is WSMsgType.BINARY:
                    await ws.close(code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload.")
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            await self._detach(conn)
        return ws

    async def _detach(self, conn: GatewayConnection) -> None:
        if conn.writer is not None:
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.writer
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            # A client that closes with 1000/1001 ends its session; any other way it may RESUME.
            if conn.ws.close_code in (1000, 1001) and not conn.server_closed:
                self.sessions.pop(session.id, None)
        await self._notify()

    async def _on_frame(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        data = frame.get("d")
        redacted = dict(frame)
        if isinstance(data, dict) and "token" in data:
            redacted["d"] = {**data, "token": "<redacted>"}
        conn.received.append(redacted)
        if op == OP_HEARTBEAT:
            conn.heartbeats += 1
            if self.ack_heartbeats:
                await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            await self._notify()
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None and op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE, OP_REQUEST_GUILD_MEMBERS):
            await conn.ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
        elif op == OP_REQUEST_GUILD_MEMBERS:
            self._request_members(conn, data or {})
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE, OP_REQUEST_SOUNDBOARD_SOUNDS):
            pass
        else:
            await conn.ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")

    def _resume_url(self) -> str:
        return f"{self.base_ws_url}/resume"

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=CLOSE_ALREADY_AUTHENTICATED, message=b"Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await conn.ws.close(code=CLOSE_INVALID_INTENTS, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await conn.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        shard_pair: tuple[int, int] | None = None
        if shard is not None:
            if not (isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
                await conn.ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
                return
            shard_pair = (shard[0], shard[1])
        self.identifies += 1
        session = GatewaySession(
            id=secrets.token_hex(16), intents=intents, shard=shard_pair, resume_url=self._resume_url()
        )
        self.sessions[session.id] = session
        conn.session = session
        session.connection = conn
        world = self.world
        user = world.bot.payload()
        user.update({"verified": True, "mfa_enabled": False, "email": None, "flags": 0, "bot": True})
        guilds = [g for g in world.guilds.values() if session.wants("READY", g.id) and self._in_shard(session, g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": session.resume_url,
            "application": {"id": str(world.application_id), "flags": world.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["local"],
            "auth": {},
            "_trace": ['["discord-emulator",{"micros":0}]'],
        }
        if shard_pair is not None:
            ready["shard"] = list(shard_pair)
        self._append(session, "READY", ready)
        for guild in guilds:
            if session.intents & Intents.GUILDS:
                self._append(session, "GUILD_CREATE", world.guild_create_payload(guild, intents=session.intents))
        await self._notify()

    @staticmethod
    def _in_shard(session: GatewaySession, guild_id: int) -> bool:
        if session.shard is None:
            return True
        shard_id, count = session.shard
        return (guild_id >> 22) % count == shard_id

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if data.get("token") != self.token:
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if session is None or not isinstance(seq, int) or seq > session.seq or seq < oldest - 1:
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resumes += 1
        previous = session.connection
        if previous is not None and previous is not conn:
            previous.session = None
            await previous.ws.close(code=CLOSE_UNKNOWN_ERROR)
        conn.session = session
        conn.sent_upto = seq
        session.connection = conn
        self._append(session, "RESUMED", {"_trace": ['["discord-emulator",{"micros":0}]']})
        conn.wakeup.set()
        await self._notify()

    def _request_members(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = conn.session
        assert session is not None
        world = self.world
        try:
            guild = world.guild(int(data.get("guild_id", 0)))
        except Exception:
            return
        members = list(guild.members.values())
        user_ids = data.get("user_ids")
        not_found: list[str] = []
        if user_ids is not None:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            not_found = [str(u) for u in wanted if u not in guild.members]
            members = [m for m in members if m.user_id in wanted]
        else:
            query = (data.get("query") or "").lower()
            members = [m for m in members if world.user(m.user_id).username.lower().startswith(query)]
            limit = data.get("limit") or 0
            if limit:
                members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [world.member_payload(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        if data.get("presences"):
            chunk["presences"] = []
        self._append(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------ faults

    async def drop(self, code: int | None = CLOSE_UNKNOWN_ERROR) -> int:
        """Close every live socket (``code=None``: cut the TCP connection without a close frame)."""
        dropped = 0
        for conn in list(self.connections):
            if conn.ws.closed:
                continue
            dropped += 1
            conn.server_closed = True
            if code is None:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=code, message=b"emulator dropped the connection")
        await self._notify()
        return dropped

    async def send_op(self, op: int, data: Any) -> None:
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.send({"op": op, "d": data, "s": None, "t": None})

    async def invalidate(self, *, resumable: bool) -> None:
        if not resumable:
            for session in list(self.sessions.values()):
                if session.connection is not None:
                    self.sessions.pop(session.id, None)
        await self.send_op(OP_INVALID_SESSION, resumable)

    async def close(self) -> None:
        for conn in list(self.connections):
            if not conn.ws.closed:
                conn.server_closed = True
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1001, message=b"emulator shutting down")
        for conn in list(self.connections):
            if conn.writer is not None and not conn.writer.done():
                conn.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.writer
