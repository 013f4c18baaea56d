"""The outbox's transport (`bot.outbox.Transport`) over discord.py's own HTTP client.

Requests go through the running client's `discord.http.HTTPClient` (``client.http``), so that they
share its token, its rate-limit buckets and its REST base (`bot.discord.endpoints`), using
`discord.http.Route` for the few calls the outbox makes:

* ``POST /channels/{id}/messages`` with the outbox's nonce and ``enforce_nonce: true`` — Discord
  answers a nonce it saw from the bot in the last few minutes with the message it created then, so a
  message re-sent after a crash is not posted twice. JSON, or multipart when the payload has files, as
  discord.py builds its own messages (`discord.http.handle_message_parameters`);
* ``POST /channels/{cid}/messages/{mid}/threads`` — a public thread from the starter message; if the
  message has a thread already (400, code 160004: an earlier attempt got that far), the message is
  read and its thread used;
* ``PATCH /channels/{cid}/messages/{mid}`` and ``PATCH /channels/{id}`` (thread name, archived); a
  thread already archived (400, code 50083: an earlier attempt did it) is read, and renamed only if
  its name is not the one asked for.

What discord.py does itself, and what is left to the outbox: it waits out a 429 that carries a
``Via`` header and retries (up to 5 attempts), and retries 500/502/504/524 with 1, 3, 5, 7 s pauses.
What escapes — `discord.RateLimited` (when the client's ``max_ratelimit_timeout`` is exceeded), a
429 without ``Via`` (Cloudflare), a 5xx after the retries, 503 at once, a connection error or a
timeout — becomes `TransportRetry`; 403 and 404 become `TransportRejected` with a sentence an
instructor can act on; any other 4xx too (400 50035 "Invalid Form Body" should never happen:
`bot.limits.fit_message` keeps payloads within Discord's limits).

The requests are not wrapped in a timeout of ours: cancelling discord.py inside its wait for a
global rate limit would leave the client's global lock closed for good. aiohttp's own timeouts apply.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, MultipartParameters, Route, handle_message_parameters
from discord.utils import MISSING

from bot.outbox import TransportRejected, TransportRetry

#: Discord's error codes the transport names.
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083
THREAD_ALREADY_CREATED = 160004

#: While the client is not logged in (the outbox starts before Discord), try again after this long.
NOT_CONNECTED_RETRY = 2.0


class DiscordTransport:
    """`bot.outbox.Transport` for a discord.py client; `bind()` it to the client before it logs in
    (or give the client here). Until the client has logged in, every call asks to be retried."""

    def __init__(self, client: discord.Client | None = None) -> None:
        self._client = client

    def bind(self, client: discord.Client) -> None:
        self._client = client

    def _http(self) -> HTTPClient:
        client = self._client
        if client is None or client.http.token is None or client.is_closed():
            raise TransportRetry(NOT_CONNECTED_RETRY, "the Discord client is not logged in (yet)")
        return client.http

    # -- bot.outbox.Transport ----------------------------------------------------------------------

    async def send_message(self, channel_id: int, payload: Mapping[str, Any], *, nonce: str) -> tuple[int, int]:
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        with _message(payload, nonce=nonce) as params:
            data = await self._request(route, params, what=f"post in channel {channel_id}", channel_id=channel_id)
        return int(data["channel_id"]), int(data["id"])

    async def create_thread(
        self, channel_id: int, name: str, payload: Mapping[str, Any], *, nonce: str
    ) -> tuple[int, int]:
        _, message_id = await self.send_message(channel_id, payload, nonce=nonce)
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel_id,
            message_id=message_id,
        )
        try:
            data = await self._request(
                route, {"name": name}, what=f"start a thread in channel {channel_id}", channel_id=channel_id
            )
        except TransportRejected as e:
            if _code(e) != THREAD_ALREADY_CREATED:
                raise
            return await self._existing_thread(channel_id, message_id), message_id
        return int(data["id"]), message_id

    async def edit_message(self, channel_id: int, message_id: int, payload: Mapping[str, Any]) -> None:
        route = Route(
            "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id, message_id=message_id
        )
        with _message(payload) as params:
            await self._request(
                route,
                params,
                what=f"edit message {message_id} in channel {channel_id}",
                channel_id=channel_id,
                message_id=message_id,
            )

    async def update_thread(self, thread_id: int, *, name: str | None = None, archived: bool | None = None) -> None:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if archived is not None:
            body["archived"] = archived
        if not body:
            return
        route = Route("PATCH", "/channels/{channel_id}", channel_id=thread_id)
        what = f"update thread {thread_id}"
        try:
            await self._request(route, body, what=what, channel_id=thread_id)
        except TransportRejected as e:
            if archived is not True or _code(e) != THREAD_ARCHIVED:
                raise
            # Archived already: an earlier attempt did it and its answer was lost, or Discord archived it
            # itself. Only a request that unarchives may rename it; then it is archived again.
            if name is not None and await self._thread_name(thread_id) != name:
                await self._request(route, {"name": name, "archived": False}, what=what, channel_id=thread_id)
                await self._request(route, {"archived": True}, what=what, channel_id=thread_id)

    # -- requests ----------------------------------------------------------------------------------

    async def _existing_thread(self, channel_id: int, message_id: int) -> int:
        """The thread started from a message: the message says so (on Discord its id is the message's)."""
        route = Route(
            "GET", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id, message_id=message_id
        )
        data = await self._request(
            route, None, what=f"read message {message_id} in channel {channel_id}", channel_id=channel_id
        )
        thread = data.get("thread") if isinstance(data, dict) else None
        if isinstance(thread, dict) and thread.get("id") is not None:
            return int(thread["id"])
        return message_id

    async def _thread_name(self, thread_id: int) -> str | None:
        route = Route("GET", "/channels/{channel_id}", channel_id=thread_id)
        data = await self._request(route, None, what=f"read thread {thread_id}", channel_id=thread_id)
        name = data.get("name") if isinstance(data, dict) else None
        return name if isinstance(name, str) else None

    async def _request(
        self,
        route: Route,
        body: MultipartParameters | dict[str, Any] | None,
        *,
        what: str,
        channel_id: int,
        message_id: int | None = None,
    ) -> Any:
        http = self._http()
        try:
            if body is None:
                return await http.request(route)
            if isinstance(body, MultipartParameters):
                # As discord.py's HTTPClient.send_message sends them: the files go along, to be rewound on a retry.
                if body.files:
                    return await http.request(route, files=body.files, form=body.multipart)
                return await http.request(route, json=body.payload)
            return await http.request(route, json=body)
        except discord.RateLimited as e:
            raise TransportRetry(e.retry_after, f"rate limited for {e.retry_after:.1f} s") from e
        except discord.HTTPException as e:
            raise _translate(e, what=what, channel_id=channel_id, message_id=message_id) from e
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            raise TransportRetry(None, f"cannot reach Discord: {type(e).__name__}: {e}") from e


def _code(error: TransportRejected) -> int | None:
    """Discord's error code behind a refusal, if Discord gave one."""
    cause = error.__cause__
    return cause.code if isinstance(cause, discord.HTTPException) else None


def _message(payload: Mapping[str, Any], *, nonce: str | None = None) -> MultipartParameters:
    """A message's request as discord.py's `handle_message_parameters` builds it: the nonce with
    ``enforce_nonce``; with files, the multipart form (``payload_json`` whose ``attachments`` name
    ``files[i]``, then each file) and the files as `discord.File`.

    The builder takes a message's other fields only as discord.py objects (Embed, View, AllowedMentions,
    Poll), and the outbox keeps Discord's JSON, which those do not give back unchanged: components have no
    public way into a View, an embed comes back with ``flags`` and its timestamp written differently, a field
    the builder does not know is dropped. So the stored fields go into the body as they are, beside the
    builder's.
    """
    fields = dict(payload)
    files = [_file(spec) for spec in fields.pop("files", None) or ()]
    params = handle_message_parameters(nonce=nonce, tts=bool(fields.pop("tts", False)), files=files or MISSING)
    if params.payload is not None:
        return params._replace(payload={**fields, **params.payload})
    # With files the builder has written its part of the body already, as the form's payload_json.
    payload_json, *file_parts = params.multipart or []
    body = {**fields, **json.loads(payload_json["value"])}
    return params._replace(multipart=[{**payload_json, "value": json.dumps(body, ensure_ascii=False)}, *file_parts])


def _file(spec: Mapping[str, Any]) -> discord.File:
    """A file of an outbox payload ({"filename", "text" | "base64", "description"?}) as discord.py's."""
    data = base64.b64decode(spec["base64"]) if "base64" in spec else str(spec.get("text", "")).encode()
    return discord.File(io.BytesIO(data), filename=spec["filename"], description=spec.get("description") or None)


def _translate(
    error: discord.HTTPException, *, what: str, channel_id: int, message_id: int | None
) -> TransportRetry | TransportRejected:
    status, code = error.status, error.code
    detail = f"{status} {error.text or error.response.reason}".strip() + (f" (code {code})" if code else "")
    if status == 429:
        header = error.response.headers.get("Retry-After")
        try:
            retry_after = float(header) if header is not None else None
        except ValueError:
            retry_after = None
        return TransportRetry(retry_after, f"rate limited: {detail}")
    if status >= 500 or status in (401, 408):
        # 401: the token was refused; nothing is lost by waiting until it is fixed.
        return TransportRetry(None, f"Discord could not {what} now: {detail}")
    if status == 403:
        return TransportRejected(f"missing permission to {what}: {detail}")
    if status == 404:
        if code == UNKNOWN_CHANNEL:
            return TransportRejected(f"unknown channel {channel_id}: it was deleted or the bot cannot see it")
        if code == UNKNOWN_MESSAGE:
            return TransportRejected(f"unknown message {message_id} in channel {channel_id}: it was deleted")
        return TransportRejected(f"not found when trying to {what}: {detail}")
    if code == INVALID_FORM_BODY:
        return TransportRejected(f"Discord refused the body as invalid when trying to {what}: {detail}")
    return TransportRejected(f"Discord refused to {what}: {detail}")
