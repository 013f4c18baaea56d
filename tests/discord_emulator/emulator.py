"""``DiscordEmulator``: REST + gateway on 127.0.0.1 for an unmodified discord.py client, and a test-side API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from . import interactions as ix
from .core import ApiError, Clock, Intents, Permissions, iso
from .gateway import OP_RECONNECT, PRIVILEGED_INTENTS, Gateway
from .ratelimit import Fault, InvalidRequests, Limit, RateLimiter, rate_limited_body
from .rest import RecordedRequest, Reply, RestApi, RouteSpec, major_parameters, match_route
from .state import (
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    UploadedFile,
    User,
    World,
)

log = logging.getLogger(__name__)

API_PATH = re.compile(r"^/api(?:/v(?P<version>\d+))?(?P<path>/.*)$")


class DiscordEmulator:
    """An emulated Discord for one bot application.

    ``async with DiscordEmulator() as emulator:`` serves REST under ``emulator.api_url`` and the gateway at
    ``emulator.gateway_url``; ``patch_discord_endpoints(emulator)`` (in ``fixtures``) points discord.py at them.
    Build the world with ``add_guild`` / ``add_role`` / ``add_user`` / ``add_member`` / ``add_text_channel``, act
    as users with ``slash`` / ``autocomplete`` / ``click`` / ``submit_modal`` / ``post_message``, and read what
    the bot did with ``messages`` / ``threads`` / ``commands`` / ``requests``.
    """

    #: How often ``wait_until`` re-checks its predicate between emulator events (seconds).
    POLL_INTERVAL = 0.02

    def __init__(
        self,
        *,
        token: str | None = None,
        application_name: str = "kubecamp-bot",
        heartbeat_interval: float = 41.25,
        rate_limit: tuple[int, float] = (50, 1.0),
        global_rate_limit: int | None = None,
        invalid_request_limit: int = 10_000,
        interaction_ack_timeout: float = 3.0,
        interaction_token_ttl: float = 15 * 60.0,
        compress_gateway: bool = False,
        privileged_intents: int = PRIVILEGED_INTENTS,
        rename_limit: tuple[int, float] | None = None,
    ) -> None:
        self.clock = Clock()
        self.world = World(self.clock, application_name=application_name)
        self._token = token or self._make_token()
        self.interaction_ack_timeout = interaction_ack_timeout
        self.interaction_token_ttl = interaction_token_ttl
        #: (count, seconds): Discord lets a channel or thread be renamed twice per 10 minutes — ``(2, 600)``
        #: turns that sub-limit on (its window runs on ``clock``, so a test can ``clock.advance`` past it).
        self.rename_limit = rename_limit
        self.renames: dict[int, list[float]] = {}
        self.ratelimits = RateLimiter(Limit(*rate_limit), global_rate_limit)
        self.invalid_requests = InvalidRequests(invalid_request_limit)
        self.gateway = Gateway(
            self.world,
            token=self._token,
            heartbeat_interval=heartbeat_interval,
            compress=compress_gateway,
            privileged_intents=privileged_intents,
            notify=self._notify,
        )
        self.rest = RestApi(self)
        self.faults: list[Fault] = []
        #: Every REST request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Requests to routes the emulator does not implement (answered 404/405 like Discord).
        self.unhandled: list[RecordedRequest] = []
        self.interactions: dict[int, ix.InteractionRecord] = {}
        self.interactions_by_token: dict[str, ix.InteractionRecord] = {}
        #: Set by ``fixtures.seed_classroom``: the names and objects of the standard test guild.
        self.classroom: Any = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Condition | None = None

    @property
    def token(self) -> str:
        """The bot token REST (``Authorization: Bot …``) and the gateway (IDENTIFY, RESUME) accept."""
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        self._token = value
        self.gateway.token = value

    def _make_token(self) -> str:
        first = base64.b64encode(str(self.world.application_id).encode()).decode().rstrip("=")
        return f"{first}.{secrets.token_urlsafe(5)}.{secrets.token_urlsafe(27)}"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/api/{tail:.*}", self._handle_rest)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_attachment)
        app.router.add_get("/{tail:.*}", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]  # (host, port) of the one site
        self.world.base_url = self.base_url
        self.gateway.base_ws_url = f"ws://127.0.0.1:{self.port}"

    async def close(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``discord.http.Route.BASE`` should be."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` should be."""
        return f"ws://127.0.0.1:{self.port}/"

    # ------------------------------------------------------------------ waiting

    async def _notify(self) -> None:
        if self._changed is None:
            return
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "a condition") -> Any:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy (re-checked after every request and gateway change)."""
        assert self._changed is not None, "start the emulator first"
        changed = self._changed
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    # Woken by every request and gateway change; the short poll also sees client-side effects.
                    async with changed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(changed.wait(), self.POLL_INTERVAL)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}.\n{self.diagnostics()}") from None
        return result

    def diagnostics(self) -> str:
        """What a failing test wants to know: routes the emulator lacks, recent error answers, the gateway."""
        lines = []
        if self.unhandled:
            lines.append(
                "routes the emulator does not implement: " + ", ".join(sorted({r.key for r in self.unhandled}))
            )
        errors = [r for r in self.requests if r.status is not None and r.status >= 400][-8:]
        for r in errors:
            lines.append(f"answered {r.status} to {r.method} {r.path}: {json.dumps(r.response)[:300]}")
        live = self.gateway.live
        lines.append(
            f"gateway: {len(live)} live session(s), {self.gateway.identifies} identify, {self.gateway.resumes} resume"
        )
        return "\n".join(lines)

    async def wait_for_session(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until a client has identified (or resumed) and holds a live gateway connection."""
        await self.wait_until(lambda: self.gateway.live, timeout, "a live gateway session")

    async def wait_for_request(
        self,
        key: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        """Until a request whose ``key`` (``"POST /channels/{channel_id}/messages"``) or path matches arrived."""

        def found() -> RecordedRequest | None:
            for request in self.requests_for(key):
                if request.status is not None and (predicate is None or predicate(request)):
                    return request
            return None

        result: RecordedRequest = await self.wait_until(found, timeout, f"a request {key}")
        return result

    async def wait_for_message(
        self,
        channel: Any,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        channel_id = self._channel_id(channel)

        def found() -> Message | None:
            for message in self.world.channel_history(channel_id):
                if predicate is None or predicate(message):
                    return message
            return None

        result: Message = await self.wait_until(found, timeout, f"a message in channel {channel_id}")
        return result

    # ------------------------------------------------------------------ REST plumbing

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        match = API_PATH.match(request.path)
        path = match.group("path") if match else request.path
        record = RecordedRequest(
            method=request.method, path=path, query=dict(request.query), headers=dict(request.headers)
        )
        self.requests.append(record)
        try:
            try:
                await self._read_body(request, record)
                status, headers, body = await self._process(record)
            except ApiError as error:
                status, headers, body = error.status, {"Content-Type": "application/json"}, error.body()
            record.status = status
            record.response = body
            if status in (401, 403) or (status == 429 and headers.get("X-RateLimit-Scope") != "shared"):
                self.invalid_requests.record(time.monotonic())
            return self._response(status, headers, body)
        finally:
            await self._notify()

    def _response(self, status: int, headers: dict[str, str], body: Any) -> web.Response:
        headers = dict(headers)
        if status == 204 or body is None:
            headers.pop("Content-Type", None)
            return web.Response(status=204 if body is None and status < 300 else status, headers=headers)
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers)
        # Exactly "application/json": discord.py compares the header verbatim (no charset allowed).
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)

    async def _read_body(self, request: web.Request, record: RecordedRequest) -> None:
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                # discord.py sends one flat level of parts; nested multipart is not modelled.
                assert isinstance(part, BodyPartReader), f"nested multipart in {record.method} {record.path}"
                data = await part.read(decode=False)
                name = part.name or ""
                filename = part.filename
                if name == "payload_json":
                    record.json = self._parse_json(bytes(data))
                elif filename is not None:
                    content_type = part.headers.get("Content-Type")
                    record.files.append(UploadedFile(name, filename, content_type, bytes(data)))
                else:
                    record.form[name] = bytes(data).decode()
            if record.json is None and record.form:
                record.json = dict(record.form)
            return
        raw = await request.read()
        if raw:
            record.json = self._parse_json(raw)

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _process(self, record: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        spec, params, other_method = match_route(record.method, record.path)
        if spec is None:
            self.unhandled.append(record)
            if other_method:
                return 405, {"Content-Type": "application/json"}, {"message": "405: Method Not Allowed", "code": 0}
            return 404, {"Content-Type": "application/json"}, {"message": "404: Not Found", "code": 0}
        record.route = spec.template
        record.params = params
        now = time.monotonic()
        if self.invalid_requests.banned(now):
            # Cloudflare's temporary ban: HTML, no Via header — discord.py raises instead of retrying.
            return (
                429,
                {"Content-Type": "text/html", "Retry-After": "600"},
                b"<html>Error 1015: You are being rate limited</html>",
            )
        base_headers = {"Via": "1.1 google"}
        if spec.auth and record.headers.get("Authorization") != f"Bot {self.token}":
            return 401, base_headers, {"message": "401: Unauthorized", "code": 0}
        fault = self._take_fault(record, spec, after=False)
        if fault is not None:
            return self._fault_answer(record, fault)
        if spec.auth and spec.global_limit:
            wait = self.ratelimits.check_global(now)
            if wait is not None:
                headers = {
                    **base_headers,
                    "Retry-After": str(max(1, round(wait))),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                }
                return 429, headers, rate_limited_body(wait, is_global=True)
        allowed, rl_headers, retry_after = self.ratelimits.hit(spec.key, major_parameters(spec, params), now)
        headers = {**base_headers, **rl_headers}
        if not allowed:
            return 429, headers, rate_limited_body(retry_after, is_global=False)
        handler = getattr(self.rest, spec.handler)
        try:
            result = await handler(record)
        except ApiError as error:
            return error.status, {**headers, **error.headers}, error.body()
        fault = self._take_fault(record, spec, after=True)
        if fault is not None:
            return self._fault_answer(record, fault)
        if isinstance(result, Reply):
            return result.status, headers, result.body
        return 200, headers, result

    def _take_fault(self, record: RecordedRequest, spec: RouteSpec, *, after: bool) -> Fault | None:
        for fault in self.faults:
            if fault.after == after and fault.matches(record.method, spec.template, record.path):
                fault.hits.append(record.path)
                return fault
        return None

    def _fault_answer(self, record: RecordedRequest, fault: Fault) -> tuple[int, dict[str, str], Any]:
        record.fault = True
        status, headers, body = fault.response()
        if headers.get("Content-Type") == "application/json":
            return status, headers, json.loads(body)
        return status, headers, body

    async def _handle_attachment(self, request: web.Request) -> web.StreamResponse:
        attachment_id = int(request.match_info["attachment_id"])
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(
                        body=attachment.data,
                        headers={"Content-Type": attachment.content_type or "application/octet-stream"},
                    )
        loose = self.world.loose_attachments.get(attachment_id)
        if loose is not None:
            return web.Response(
                body=loose.data, headers={"Content-Type": loose.content_type or "application/octet-stream"}
            )
        return web.Response(status=404, text="Not Found")

    # ------------------------------------------------------------------ faults and limits

    def inject(
        self,
        status: int = 429,
        *,
        times: int = 1,
        route: str | None = None,
        method: str | None = None,
        retry_after: float = 0.2,
        global_: bool = False,
        cloudflare: bool = False,
        after: bool = False,
        body: Any = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` instead of handling them.

        ``route`` is a discord.py route template (``"POST /channels/{channel_id}/messages"`` or just the path
        template) or a regular expression for the concrete path. 429s carry ``Retry-After``, ``Via: 1.1 google``
        and Discord's JSON body (``cloudflare=True``: a Cloudflare ban without ``Via``). ``after=True``
        handles the request first and then answers the fault (the effect happened, the answer was lost).
        """
        fault = Fault(
            status=status,
            times=times,
            route=route,
            method=method,
            retry_after=retry_after,
            global_=global_,
            cloudflare=cloudflare,
            after=after,
            body=body,
        )
        self.faults.append(fault)
        return fault

    def set_rate_limit(self, route: str, limit: int, window: float) -> None:
        """A bucket size for one route key (``"POST /channels/{channel_id}/messages"``), per major parameter."""
        self.ratelimits.set_limit(route, limit, window)

    @property
    def invalid_request_count(self) -> int:
        """401/403/429 answers in the last 10 minutes (Discord bans the IP at 10 000)."""
        return self.invalid_requests.count(time.monotonic())

    def requests_for(self, key: str, *, method: str | None = None) -> list[RecordedRequest]:
        """Requests by route key (``"PATCH /channels/{channel_id}"``), route template, or concrete path."""
        result = []
        for request in self.requests:
            if key in (request.key, request.route, request.path, f"{request.method} {request.path}") and (
                method is None or request.method == method.upper()
            ):
                result.append(request)
        return result

    # ------------------------------------------------------------------ gateway control

    async def drop_gateway(self, code: int | None = 4000) -> int:
        """Close the bot's websocket(s) (``code=None``: cut TCP without a close frame). The session stays resumable."""
        return await self.gateway.drop(code)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client closes and resumes."""
        await self.gateway.send_op(OP_RECONNECT, None)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (``resumable=False``: the client must identify again)."""
        await self.gateway.invalidate(resumable=resumable)

    def events(self, name: str | None = None) -> list[tuple[str, Any]]:
        """Every dispatch sent to any session (also while disconnected), optionally one event type."""
        result = []
        for session in self.gateway.sessions.values():
            for _, event, data in session.events:
                if name is None or event == name:
                    result.append((event, data))
        return result

    # ------------------------------------------------------------------ dispatch helpers

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> None:
        self.gateway.dispatch(event, data, guild_id=guild_id)

    def dispatch_message(self, event: str, message: Message) -> None:
        if message.ephemeral:
            return
        world = self.world
        payload = world.message_payload(message, gateway=True)
        bot_id = world.bot.id
        in_dm = message.guild_id is None

        def content_for(session: Any, data: dict[str, Any]) -> dict[str, Any]:
            # Without MESSAGE_CONTENT Discord blanks content except in DMs, the bot's own and mentioning messages.
            if (
                in_dm
                or session.intents & Intents.MESSAGE_CONTENT
                or message.author_id == bot_id
                or bot_id in message.mention_ids
            ):
                return data
            return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

        intent = Intents.DIRECT_MESSAGES if in_dm else None
        self.gateway.dispatch(event, payload, guild_id=message.guild_id, intent=intent, transform=content_for)

    def dispatch_reaction(self, event: str, message: Message, user_id: int, emoji: str) -> None:
        from .state import emoji_payload

        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji_payload(emoji),
            "burst": False,
            "type": 0,
        }
        intent = Intents.DIRECT_MESSAGE_REACTIONS if message.guild_id is None else None
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            if event == "MESSAGE_REACTION_ADD":
                data["message_author_id"] = str(message.author_id)
                member = self.world.guild(message.guild_id).members.get(user_id)
                if member is not None:
                    data["member"] = self.world.member_payload(member)
        self.gateway.dispatch(event, data, guild_id=message.guild_id, intent=intent)

    def dispatch_channel(self, event: str, channel: Channel) -> None:
        self.gateway.dispatch(
            event, self.world.channel_payload(channel, for_user=self.world.bot.id), guild_id=channel.guild_id
        )

    def dispatch_thread_create(self, thread: Channel) -> None:
        payload = self.world.channel_payload(thread, for_user=self.world.bot.id)
        payload["newly_created"] = True
        self.gateway.dispatch("THREAD_CREATE", payload, guild_id=thread.guild_id)

    def dispatch_member_update(self, member: Member) -> None:
        payload = self.world.member_payload(member)
        payload["guild_id"] = str(member.guild_id)
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", payload, guild_id=member.guild_id)

    def delete_message(self, message: Message) -> None:
        message.deleted = True
        if not message.ephemeral:
            data = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self.gateway.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id)

    def remove_channel(self, channel: Channel) -> None:
        world = self.world
        guild = world.guild(channel.guild_id)
        children = [c for c in world.channels.values() if c.is_thread and c.parent_id == channel.id]
        for removed in [*children, channel]:
            world.channels.pop(removed.id, None)
            if removed.id in guild.channel_ids:
                guild.channel_ids.remove(removed.id)
            if removed.is_thread:
                data = {
                    "id": str(removed.id),
                    "guild_id": str(removed.guild_id),
                    "parent_id": str(removed.parent_id),
                    "type": removed.type,
                }
                self.gateway.dispatch("THREAD_DELETE", data, guild_id=removed.guild_id)
            else:
                self.gateway.dispatch("CHANNEL_DELETE", world.channel_payload(removed), guild_id=removed.guild_id)

    def add_thread_member(self, thread: Channel, user_id: int) -> None:
        if user_id in thread.thread_members:
            return
        thread.thread_members[user_id] = self.clock.now()
        member = {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": iso(thread.thread_members[user_id]),
            "flags": 0,
        }
        if user_id in self.world.guild(thread.guild_id).members:
            member["member"] = self.world.member_payload(self.world.member(thread.guild_id, user_id))
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.thread_members), 50),
            "added_members": [member],
        }
        self.gateway.dispatch("THREAD_MEMBERS_UPDATE", data, guild_id=thread.guild_id)
        if user_id == self.world.bot.id:
            self.gateway.dispatch(
                "THREAD_MEMBER_UPDATE", {**member, "guild_id": str(thread.guild_id)}, guild_id=thread.guild_id
            )

    def remove_thread_member(self, thread: Channel, user_id: int) -> None:
        if thread.thread_members.pop(user_id, None) is None:
            return
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.thread_members), 50),
            "removed_member_ids": [str(user_id)],
        }
        self.gateway.dispatch("THREAD_MEMBERS_UPDATE", data, guild_id=thread.guild_id)

    # ------------------------------------------------------------------ building the world (test side)

    def _guild_id(self, guild: Any) -> int:
        if guild is None:
            if len(self.world.guilds) != 1:
                raise ValueError(f"say which guild: there are {len(self.world.guilds)}")
            return next(iter(self.world.guilds))
        if isinstance(guild, str) and not guild.isdigit():
            for candidate in self.world.guilds.values():
                if candidate.name == guild:
                    return candidate.id
            raise LookupError(f"no guild named {guild!r}")
        return ix.to_id(guild)

    def _channel_id(self, channel: Any, guild: Any = None) -> int:
        if isinstance(channel, str) and not channel.isdigit():
            return self.find_channel(channel, guild).id
        return ix.to_id(channel)

    def _user_id(self, user: Any) -> int:
        if isinstance(user, str) and not user.isdigit():
            for candidate in self.world.users.values():
                if candidate.username == user:
                    return candidate.id
            raise LookupError(f"no user named {user!r}")
        return ix.to_id(user)

    def find_channel(self, name: str, guild: Any = None) -> Channel:
        """A channel or thread by name (in ``guild``, or in the only guild that has one by that name)."""
        if guild is not None:
            return self.world.channel_by_name(self._guild_id(guild), name)
        found = [c for c in self.world.channels.values() if c.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} channels/threads are named {name!r}; pass guild= or an id")
        return found[0]

    def add_user(
        self, username: str, *, global_name: str | None = None, bot: bool = False, accepts_dms: bool = True
    ) -> User:
        user = self.world.add_user(username, global_name=global_name, bot=bot)
        user.accepts_dms = accepts_dms
        return user

    def add_guild(
        self, name: str, *, owner: Any = None, everyone_permissions: int = Permissions.EVERYONE_DEFAULT
    ) -> Guild:
        owner_id = self._user_id(owner) if owner is not None else None
        guild = self.world.add_guild(name, owner_id=owner_id, everyone_permissions=everyone_permissions)
        for session in self.gateway.sessions.values():
            if session.intents & Intents.GUILDS:
                self.gateway._append(
                    session, "GUILD_CREATE", self.world.guild_create_payload(guild, intents=session.intents)
                )
        return guild

    def add_role(
        self, guild: Any, name: str, *, permissions: int = 0, color: int = 0, mentionable: bool = False
    ) -> Role:
        guild_id = self._guild_id(guild)
        role = self.world.add_role(guild_id, name, permissions=permissions, color=color, mentionable=mentionable)
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.payload()}, guild_id=guild_id)
        return role

    def add_member(self, guild: Any, user: Any, *, roles: Iterable[Any] = (), nick: str | None = None) -> Member:
        guild_id = self._guild_id(guild)
        role_ids = [self._role_id(guild_id, r) for r in roles]
        member = self.world.add_member(guild_id, self._user_id(user), roles=role_ids, nick=nick)
        payload = self.world.member_payload(member)
        payload["guild_id"] = str(guild_id)
        self.dispatch("GUILD_MEMBER_ADD", payload, guild_id=guild_id)
        return member

    def _role_id(self, guild_id: int, role: Any) -> int:
        if isinstance(role, str) and not role.isdigit():
            return self.world.role_by_name(guild_id, role).id
        return ix.to_id(role)

    def set_member_roles(self, guild: Any, user: Any, roles: Iterable[Any]) -> Member:
        guild_id = self._guild_id(guild)
        member = self.world.member(guild_id, self._user_id(user))
        member.roles = [self._role_id(guild_id, r) for r in roles]
        self.dispatch_member_update(member)
        return member

    def add_text_channel(
        self,
        guild: Any,
        name: str,
        *,
        topic: str | None = None,
        overwrites: Iterable[Overwrite] = (),
    ) -> Channel:
        guild_id = self._guild_id(guild)
        channel = self.world.add_text_channel(guild_id, name, topic=topic, overwrites=list(overwrites))
        self.dispatch_channel("CHANNEL_CREATE", channel)
        return channel

    def add_webhook(self, channel: Any, name: str = "Webhook") -> str:
        """An incoming webhook posting into `channel` (what a channel's Integrations page creates): its execute
        URL, ``{api_url}/webhooks/{id}/{token}``."""
        channel_id = self._channel_id(channel)
        user = self.world.add_user(name, bot=True)
        token = secrets.token_urlsafe(51)
        self.world.webhooks[user.id] = (token, channel_id)
        return f"{self.api_url}/webhooks/{user.id}/{token}"

    def post_message(
        self,
        channel: Any,
        user: Any,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        files: Iterable[tuple[str, bytes]] = (),
        reply_to: Any = None,
    ) -> Message:
        """A user writes in a channel or thread (MESSAGE_CREATE to the bot, if its intents ask for it)."""
        channel_id = self._channel_id(channel)
        user_id = self._user_id(user)
        thread = self.world.channel(channel_id)
        needed = Permissions.SEND_MESSAGES_IN_THREADS if thread.is_thread else Permissions.SEND_MESSAGES
        perms = self.world.permissions_in(channel_id, user_id)
        if perms & (Permissions.VIEW_CHANNEL | needed) != Permissions.VIEW_CHANNEL | needed:
            raise PermissionError(f"user {user_id} cannot write in channel {channel_id}")
        if thread.is_thread and thread.archived:
            if thread.locked:
                raise PermissionError(f"thread {channel_id} is archived and locked")
            thread.archived = False
            self.dispatch_channel("THREAD_UPDATE", thread)
        uploads = [UploadedFile(f"files[{i}]", name, None, data) for i, (name, data) in enumerate(files)]
        payload: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            payload["message_reference"] = {"message_id": ix.to_id(reply_to)}
        message = self.world.new_message(channel_id, user_id, payload, uploads)
        if thread.is_thread:
            thread.thread_members.setdefault(user_id, self.clock.now())
        self.dispatch_message("MESSAGE_CREATE", message)
        return message

    def post_dm(self, user: Any, content: str, *, files: Iterable[tuple[str, bytes]] = ()) -> Message:
        """A user writes to the bot in a DM (MESSAGE_CREATE needs the DIRECT_MESSAGES intent)."""
        return self.post_message(self.world.open_dm(self._user_id(user)), user, content, files=files)

    def dm_messages(self, user: Any) -> list[Message]:
        """The DM conversation between the bot and a user, oldest first (empty if there is none)."""
        channel = self.world.dm_channels.get(self._user_id(user))
        return [] if channel is None else self.world.channel_history(channel.id)

    def react(self, message: Any, user: Any, emoji: str) -> None:
        """A user adds a reaction (``"✅"`` or ``"name:id"``); MESSAGE_REACTION_ADD if the intents ask for it."""
        msg = message if isinstance(message, Message) else self.message(message)
        user_id = self._user_id(user)
        needed = Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY | Permissions.ADD_REACTIONS
        if self.world.permissions_in(msg.channel_id, user_id) & needed != needed:
            raise PermissionError(f"user {user_id} cannot react in channel {msg.channel_id}")
        users = msg.reactions.setdefault(emoji, [])
        if user_id not in users:
            users.append(user_id)
            self.dispatch_reaction("MESSAGE_REACTION_ADD", msg, user_id, emoji)

    def update_thread(self, thread: Any, **changes: Any) -> Channel:
        """A user (or Discord's auto-archive) changes a thread: ``name``, ``archived``, ``locked``."""
        channel = self.world.channel(self._channel_id(thread))
        for key, value in changes.items():
            if not hasattr(channel, key):
                raise AttributeError(f"threads have no {key!r}")
            setattr(channel, key, value)
        if "archived" in changes:
            channel.archive_timestamp = self.clock.now()
        self.dispatch_channel("THREAD_UPDATE", channel)
        return channel

    # ------------------------------------------------------------------ reading what the bot did

    def messages(self, channel: Any, *, include_ephemeral: bool = True, include_system: bool = False) -> list[Message]:
        """The messages of a channel or thread, oldest first (by id, name or any object with ``.id``).

        System messages are left out unless asked for: the "… started a thread" notice (type 18) and the
        thread starter (type 21) that Discord puts first in a thread started from a message.
        """
        return self.world.channel_history(
            self._channel_id(channel), include_ephemeral=include_ephemeral, include_system=include_system
        )

    def last_message(self, channel: Any) -> Message | None:
        history = self.messages(channel)
        return history[-1] if history else None

    def message(self, message_id: Any) -> Message:
        message = self.world.messages.get(ix.to_id(message_id))
        if message is None:
            raise LookupError(f"no message {message_id}")
        return message

    def threads(self, channel: Any = None, *, include_archived: bool = True) -> list[Channel]:
        """Threads of one parent channel (or all), in creation order."""
        parent = self._channel_id(channel) if channel is not None else None
        return [
            c
            for c in self.world.channels.values()
            if c.is_thread and (parent is None or c.parent_id == parent) and (include_archived or not c.archived)
        ]

    def commands(self, guild: Any = None, *, global_: bool = False) -> list[dict[str, Any]]:
        """The application commands the bot registered (payload dicts, as Discord returns them)."""
        if global_:
            return [c.to_payload() for c in self.world.global_commands.values()]
        return [c.to_payload() for c in self.world.commands_for(self._guild_id(guild)).values()]

    # ------------------------------------------------------------------ acting as users: interactions

    def _new_interaction(
        self,
        type: int,
        guild_id: int,
        channel_id: int,
        user_id: int,
        *,
        locale: str,
        data: dict[str, Any] | None,
        message: Message | None = None,
        command: Any = None,
        custom_id: str | None = None,
    ) -> ix.InteractionRecord:
        world = self.world
        guild = world.guild(guild_id)
        channel = world.channel(channel_id)
        member = world.member(guild_id, user_id)
        interaction_id = world.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        member_payload = world.member_payload(member)
        member_payload["permissions"] = str(world.permissions_in(channel_id, user_id))
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": type,
            "token": token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
            "channel_id": str(channel.id),
            "channel": world.interaction_channel_payload(channel, user_id),
            "member": member_payload,
            "app_permissions": str(world.permissions_in(channel_id, world.bot.id)),
            "locale": locale,
            "guild_locale": guild.preferred_locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": guild.attachment_size_limit,
        }
        if data is not None:
            payload["data"] = data
        if message is not None:
            payload["message"] = world.message_payload(message)
        record = ix.InteractionRecord(
            emulator=self,
            id=interaction_id,
            token=token,
            type=type,
            guild_id=guild.id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            created_at=self.clock.monotonic(),
            command=command,
            custom_id=custom_id,
            source_message_id=message.id if message is not None else None,
        )
        self.interactions[interaction_id] = record
        self.interactions_by_token[token] = record
        return record

    async def _send_interaction(
        self,
        record: ix.InteractionRecord,
        *,
        wait: bool,
        timeout: float | None,  # noqa: ASYNC109
    ) -> ix.InteractionRecord:
        """Dispatch the interaction to the bot; with `wait`, until it answers (by default a little longer
        than Discord's acknowledgement window)."""
        if not self.gateway.sessions:
            raise RuntimeError("no bot has identified on the gateway; connect the client before acting as users")
        self.gateway.dispatch("INTERACTION_CREATE", record.payload, guild_id=record.guild_id)
        if wait:
            await record.wait_response(timeout if timeout is not None else self.interaction_ack_timeout + 2)
        return record

    def _command_options(
        self,
        command: Any,
        guild_id: int,
        channel_id: int,
        user_id: int,
        options: dict[str, Any] | None,
        subcommand: str | list[str] | None,
        *,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        path = subcommand.split() if isinstance(subcommand, str) else list(subcommand or [])
        definitions = command.find_option_path(path)
        if any(d.get("type") in (ix.OPTION_SUB_COMMAND, ix.OPTION_SUB_COMMAND_GROUP) for d in definitions):
            names = [d["name"] for d in definitions]
            raise ValueError(f"/{' '.join([command.name, *path])} needs a subcommand: one of {names}")
        resolved = ix.ResolvedBuilder(self.world, guild_id, channel_id)
        built = ix.build_options(
            self.world, definitions, dict(options or {}), resolved, user_id=user_id, focused=focused
        )
        for depth in range(len(path) - 1, -1, -1):
            kind = ix.OPTION_SUB_COMMAND if depth == len(path) - 1 else ix.OPTION_SUB_COMMAND_GROUP
            built = [{"name": path[depth], "type": kind, "options": built}]
        return built, resolved.data

    async def slash(
        self,
        guild: Any,
        channel: Any,
        user: Any,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        subcommand: str | list[str] | None = None,
        locale: str = "en-US",
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ix.InteractionRecord:
        """A user runs ``/name [subcommand] options…`` in a channel; returns once the bot acknowledged it.

        Option values: str/int/float/bool, users/roles/channels as ids or objects with ``.id``, attachments
        as ``bytes``, ``(filename, bytes)`` or a ``Path``. Raises if Discord would not offer the command.
        """
        guild_id = self._guild_id(guild)
        channel_id = self._channel_id(channel, guild_id)
        user_id = self._user_id(user)
        command = self.world.find_command(guild_id, name)
        ix.command_visible_to(self.world, command, channel_id, user_id)
        built, resolved = self._command_options(command, guild_id, channel_id, user_id, options, subcommand)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": 1}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = self._new_interaction(
            ix.APPLICATION_COMMAND, guild_id, channel_id, user_id, locale=locale, data=data, command=command
        )
        return await self._send_interaction(record, wait=wait, timeout=timeout)

    async def context_menu(
        self,
        guild: Any,
        channel: Any,
        user: Any,
        name: str,
        target: Any,
        *,
        locale: str = "en-US",
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ix.InteractionRecord:
        """A user or message context-menu command on ``target`` (a user id/object or a ``Message``)."""
        guild_id = self._guild_id(guild)
        channel_id = self._channel_id(channel, guild_id)
        user_id = self._user_id(user)
        is_message = isinstance(target, Message)
        command = self.world.find_command(guild_id, name, 3 if is_message else 2)
        ix.command_visible_to(self.world, command, channel_id, user_id)
        resolved = ix.ResolvedBuilder(self.world, guild_id, channel_id)
        if is_message:
            target_id = target.id
            resolved.data["messages"] = {str(target.id): self.world.message_payload(target)}
        else:
            target_id = self._user_id(target)
            resolved.user(target_id)
        data = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "target_id": str(target_id),
            "resolved": resolved.data,
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = self._new_interaction(
            ix.APPLICATION_COMMAND, guild_id, channel_id, user_id, locale=locale, data=data, command=command
        )
        return await self._send_interaction(record, wait=wait, timeout=timeout)

    async def autocomplete(
        self,
        guild: Any,
        channel: Any,
        user: Any,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        subcommand: str | list[str] | None = None,
        locale: str = "en-US",
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """A user types into option ``focused``; returns the choices the bot offered (``[{name, value}]``)."""
        guild_id = self._guild_id(guild)
        channel_id = self._channel_id(channel, guild_id)
        user_id = self._user_id(user)
        command = self.world.find_command(guild_id, name)
        ix.command_visible_to(self.world, command, channel_id, user_id)
        given = dict(options or {})
        given.setdefault(focused, "")
        built, resolved = self._command_options(
            command, guild_id, channel_id, user_id, given, subcommand, focused=focused
        )
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": 1, "options": built}
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = self._new_interaction(
            ix.APPLICATION_COMMAND_AUTOCOMPLETE,
            guild_id,
            channel_id,
            user_id,
            locale=locale,
            data=data,
            command=command,
        )
        await self._send_interaction(record, wait=True, timeout=timeout)
        return list(record.choices or [])

    async def click(
        self,
        message: Any,
        custom_id: str,
        user: Any,
        *,
        values: list[Any] | None = None,
        locale: str = "en-US",
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
        forged: bool = False,
    ) -> ix.InteractionRecord:
        """A user presses a button (or picks ``values`` in a select menu) on a message the bot sent.

        ``forged``: a button ``custom_id`` the message does not carry, as a modified client can send; the
        bot must not take the custom id's word for what the message is about."""
        msg = message if isinstance(message, Message) else self.message(message)
        if msg.deleted:
            raise LookupError(f"message {msg.id} was deleted")
        user_id = self._user_id(user)
        component = msg.find_component(custom_id)
        if component is None and forged:
            component = {"type": 2, "style": 1, "custom_id": custom_id}
        if component is None:
            raise LookupError(f"message {msg.id} has no component {custom_id!r}; it has {msg.custom_ids()}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord would not let the user use it")
        if msg.ephemeral and msg.interaction_metadata and msg.interaction_metadata["user"]["id"] != str(user_id):
            raise PermissionError(f"message {msg.id} is ephemeral and only visible to its interaction's user")
        if not self.world.permissions_in(msg.channel_id, user_id) & Permissions.VIEW_CHANNEL:
            raise PermissionError(f"user {user_id} cannot see channel {msg.channel_id}")
        assert msg.guild_id is not None
        kind = component["type"]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind, "id": component.get("id")}
        if kind in (3, 5, 6, 7, 8):
            chosen = [str(ix.to_id(v)) if kind != 3 else str(v) for v in (values or [])]
            low, high = component.get("min_values", 1), component.get("max_values", 1)
            if not low <= len(chosen) <= high:
                raise ValueError(f"select {custom_id!r} takes {low}..{high} values, got {len(chosen)}")
            if kind == 3:
                offered = [o["value"] for o in component.get("options") or []]
                if set(chosen) - set(offered):
                    raise ValueError(f"select {custom_id!r} offers {offered}, not {sorted(set(chosen) - set(offered))}")
            else:
                resolved = ix.ResolvedBuilder(self.world, msg.guild_id, msg.channel_id)
                for value in chosen:
                    target = int(value)
                    if target in self.world.users:
                        resolved.user(target)
                    elif target in self.world.channels:
                        resolved.channel(self.world.channels[target], user_id)
                    else:
                        resolved.role(target)
                data["resolved"] = resolved.data
            data["values"] = chosen
        elif kind != 2:
            raise ValueError(f"component {custom_id!r} (type {kind}) cannot be clicked")
        elif component.get("style") == 5:
            raise ValueError(f"{custom_id!r} is a link button; it opens a URL and sends no interaction")
        record = self._new_interaction(
            ix.MESSAGE_COMPONENT,
            msg.guild_id,
            msg.channel_id,
            user_id,
            locale=locale,
            data=data,
            message=msg,
            custom_id=custom_id,
        )
        return await self._send_interaction(record, wait=wait, timeout=timeout)

    async def submit_modal(
        self,
        interaction: ix.InteractionRecord,
        values: dict[str, Any],
        *,
        user: Any = None,
        locale: str = "en-US",
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ix.InteractionRecord:
        """The user fills in the modal the bot answered ``interaction`` with (``values`` by custom_id)."""
        modal = interaction.modal
        if modal is None:
            raise ValueError(
                f"interaction {interaction.describe()} was not answered with a modal ({interaction.callback})"
            )
        components = ix.modal_submission(modal, values)
        data = {"custom_id": modal["custom_id"], "components": components}
        source = self.world.messages.get(interaction.source_message_id) if interaction.source_message_id else None
        user_id = self._user_id(user) if user is not None else interaction.user_id
        assert interaction.guild_id is not None
        record = self._new_interaction(
            ix.MODAL_SUBMIT,
            interaction.guild_id,
            interaction.channel_id,
            user_id,
            locale=locale,
            data=data,
            message=source,
            custom_id=modal["custom_id"],
        )
        return await self._send_interaction(record, wait=wait, timeout=timeout)
