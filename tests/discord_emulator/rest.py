"""REST endpoints. Route templates are discord.py's own (``discord.http.Route.path``), so recorded requests
can be matched with the strings a reader finds in discord.py's source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import interactions as ix
from . import validation as v
from .core import (
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
    FormErrors,
    Permissions,
    iso,
    missing_access,
    not_found,
)
from .state import (
    CHANNEL_DM,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    MESSAGE_THREAD_CREATED,
    Channel,
    Command,
    Message,
    Overwrite,
    UploadedFile,
    World,
)

if TYPE_CHECKING:
    from .emulator import DiscordEmulator


@dataclass
class RecordedRequest:
    """One REST request as the emulator saw it, and how it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    route: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    status: int | None = None
    response: Any = None
    fault: bool = False

    @property
    def key(self) -> str:
        """``"POST /channels/{channel_id}/messages"`` — discord.py's ``Route.key``."""
        return f"{self.method} {self.route or self.path}"

    @property
    def body(self) -> Any:
        """The JSON body, or the ``payload_json`` of a multipart body."""
        return self.json


@dataclass
class Reply:
    status: int = 200
    body: Any = None


Handler = Callable[..., Awaitable[Any]]


@dataclass
class RouteSpec:
    method: str
    template: str
    handler: str
    auth: bool = True
    #: Interaction and webhook-token routes do not count toward the bot's global rate limit.
    global_limit: bool = True

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        self.regex = re.compile(f"^{pattern}$")
        self.literals = sum(1 for part in self.template.split("/") if part and not part.startswith("{"))

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


ROUTES: list[RouteSpec] = []


def route(method: str, template: str, *, auth: bool = True, global_limit: bool = True) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, template, fn.__name__, auth=auth, global_limit=global_limit))
        return fn

    return register


def match_route(method: str, path: str) -> tuple[RouteSpec | None, dict[str, str], bool]:
    """(route, path parameters, whether the path exists for another method)."""
    candidates = []
    other_method = False
    for spec in ROUTES:
        m = spec.regex.match(path)
        if m is None:
            continue
        if spec.method != method:
            other_method = True
            continue
        candidates.append((spec.literals, spec, m.groupdict()))
    if not candidates:
        return None, {}, other_method
    candidates.sort(key=lambda c: -c[0])
    _, spec, params = candidates[0]
    return spec, params, False


def major_parameters(spec: RouteSpec, params: dict[str, str]) -> str:
    keys = ("channel_id", "guild_id", "webhook_id", "webhook_token")
    return "+".join(params[k] for k in keys if k in params)


INTERACTION_TOKEN_TTL = 15 * 60.0
#: How far back ``enforce_nonce`` looks ("the past few minutes" in Discord's documentation).
NONCE_WINDOW = dt.timedelta(minutes=5)


class RestApi:
    """The handlers. Each returns a JSON-able body (200), a ``Reply``, or raises ``ApiError``."""

    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emu = emulator
        self.world = emulator.world

    # ------------------------------------------------------------------ helpers

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    def _check_application(self, application_id: str) -> None:
        if application_id != str(self.world.application_id):
            raise ApiError(403, 50001, "Missing Access")

    def _message_body(self, req: RecordedRequest) -> dict[str, Any]:
        body = req.json
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return body

    def _check_upload_size(self, req: RecordedRequest, guild_id: int | None) -> None:
        limit = self.world.guild(guild_id).attachment_size_limit if guild_id else 10 * 1024 * 1024
        if any(len(f.data) > limit for f in req.files):
            raise ApiError(413, 40005, "Request entity too large")

    def _dispatch_message(self, event: str, message: Message) -> None:
        if message.ephemeral:
            return
        self.emu.dispatch_message(event, message)

    def _text_or_thread(self, channel_id: str) -> Channel:
        channel = self.world.channel(int(channel_id))
        if channel.type not in (CHANNEL_TEXT, CHANNEL_DM, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return channel

    # ------------------------------------------------------------------ users, application, gateway

    @route("GET", "/users/@me")
    async def get_me(self, req: RecordedRequest) -> Any:
        user = self.world.bot.payload()
        user.update({"verified": True, "mfa_enabled": False, "email": None, "flags": 0, "locale": "en-US"})
        return user

    @route("GET", "/users/{user_id}")
    async def get_user(self, req: RecordedRequest) -> Any:
        return self.world.user(int(req.params["user_id"])).payload()

    def _application(self) -> dict[str, Any]:
        world = self.world
        return {
            "id": str(world.application_id),
            "name": world.application_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": world.verify_key,
            "owner": world.owner.payload(),
            "team": None,
            "flags": world.application_flags,
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": len(world.guilds),
            "integration_types_config": {"0": {}},
            "bot": world.bot.payload(),
        }

    @route("GET", "/oauth2/applications/@me")
    async def get_oauth_application(self, req: RecordedRequest) -> Any:
        return self._application()

    @route("GET", "/applications/@me")
    async def get_application(self, req: RecordedRequest) -> Any:
        return self._application()

    @route("PATCH", "/applications/@me")
    async def edit_application(self, req: RecordedRequest) -> Any:
        body = self._message_body(req)
        if "flags" in body and body["flags"] is not None:
            self.world.application_flags = int(body["flags"])
        return self._application()

    @route("GET", "/gateway", auth=False)
    async def get_gateway(self, req: RecordedRequest) -> Any:
        return {"url": self.emu.gateway_url.rstrip("/")}

    @route("GET", "/gateway/bot")
    async def get_gateway_bot(self, req: RecordedRequest) -> Any:
        return {
            "url": self.emu.gateway_url.rstrip("/"),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
        }

    # ------------------------------------------------------------------ application commands

    @route("GET", "/applications/{application_id}/commands")
    async def get_global_commands(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        return [c.to_payload() for c in self.world.global_commands.values()]

    @route("PUT", "/applications/{application_id}/commands")
    async def put_global_commands(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        v.check_commands(req.json)
        return [c.to_payload() for c in self.world.overwrite_commands(None, req.json)]

    @route("POST", "/applications/{application_id}/commands")
    async def post_global_command(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        v.check_commands([req.json])
        command, created = self.world.upsert_command(None, req.json)
        return Reply(201 if created else 200, command.to_payload())

    def _commands_guild(self, req: RecordedRequest) -> int:
        """The guild of a guild-commands route. Discord answers 403 Missing Access, not 404, for a guild the
        application is not installed in, whether the guild exists or not."""
        self._check_application(req.params["application_id"])
        guild_id = int(req.params["guild_id"])
        if guild_id not in self.world.guilds or self.bot_id not in self.world.guilds[guild_id].members:
            raise missing_access()
        return guild_id

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def get_guild_commands(self, req: RecordedRequest) -> Any:
        return [c.to_payload() for c in self.world.commands_for(self._commands_guild(req)).values()]

    @route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def put_guild_commands(self, req: RecordedRequest) -> Any:
        guild_id = self._commands_guild(req)
        v.check_commands(req.json)
        return [c.to_payload() for c in self.world.overwrite_commands(guild_id, req.json)]

    @route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def post_guild_command(self, req: RecordedRequest) -> Any:
        guild_id = self._commands_guild(req)
        v.check_commands([req.json])
        command, created = self.world.upsert_command(guild_id, req.json)
        return Reply(201 if created else 200, command.to_payload())

    def _command(self, guild_id: int | None, command_id: str) -> tuple[tuple[str, int], Command]:
        for key, command in self.world.commands_for(guild_id).items():
            if str(command.id) == command_id:
                return key, command
        raise not_found("application command", 10063)

    @route("GET", "/applications/{application_id}/commands/{command_id}")
    async def get_global_command(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        return self._command(None, req.params["command_id"])[1].to_payload()

    @route("DELETE", "/applications/{application_id}/commands/{command_id}")
    async def delete_global_command(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        key, _ = self._command(None, req.params["command_id"])
        del self.world.global_commands[key]
        return Reply(204)

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def get_guild_command(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        return self._command(int(req.params["guild_id"]), req.params["command_id"])[1].to_payload()

    @route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def delete_guild_command(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        guild_id = int(req.params["guild_id"])
        key, _ = self._command(guild_id, req.params["command_id"])
        del self.world.commands_for(guild_id)[key]
        return Reply(204)

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
    async def get_command_permissions(self, req: RecordedRequest) -> Any:
        self._check_application(req.params["application_id"])
        return []

    # ------------------------------------------------------------------ interactions

    def _interaction_by_token(self, application_id: str, token: str) -> ix.InteractionRecord:
        if application_id != str(self.world.application_id):
            raise not_found("Webhook", UNKNOWN_WEBHOOK)
        record = self.emu.interactions_by_token.get(token)
        if record is None:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if self.emu.clock.monotonic() - record.created_at > self.emu.interaction_token_ttl:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return record

    def _reject(self, record: ix.InteractionRecord | None, error: ApiError) -> ApiError:
        if record is not None:
            record.log.append(("rejected", (error.status, error.body())))
        return error

    @route("POST", "/interactions/{webhook_id}/{webhook_token}/callback", auth=False, global_limit=False)
    async def interaction_callback(self, req: RecordedRequest) -> Any:
        record = (
            self.emu.interactions.get(int(req.params["webhook_id"])) if req.params["webhook_id"].isdigit() else None
        )
        if record is None or record.token != req.params["webhook_token"]:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        if record.acknowledged:
            raise self._reject(record, ApiError(400, 40060, "Interaction has already been acknowledged."))
        if self.emu.clock.monotonic() - record.created_at > self.emu.interaction_ack_timeout:
            raise self._reject(record, ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction"))
        body = self._message_body(req)
        kind = body.get("type")
        data = body.get("data") or {}
        try:
            if kind not in ix.ALLOWED_CALLBACKS.get(record.type, set()):
                errors = FormErrors()
                errors.add(
                    ["type"],
                    "INTERACTION_CALLBACK_TYPE_INVALID",
                    f"Callback type {kind} is not valid for this interaction",
                )
                errors.raise_if_any()
            if kind in (ix.UPDATE_MESSAGE, ix.DEFERRED_UPDATE_MESSAGE) and record.source_message_id is None:
                raise ApiError(400, 40060, "Interaction has no message to update")
            if kind in (ix.CHANNEL_MESSAGE_WITH_SOURCE, ix.UPDATE_MESSAGE):
                v.check_message(data, n_files=len(req.files), creating=kind == ix.CHANNEL_MESSAGE_WITH_SOURCE)
                self._check_upload_size(req, record.guild_id)
            elif kind == ix.MODAL:
                v.check_modal(data)
            elif kind == ix.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
                v.check_choices({"data": data} if "choices" in data else {"data": {"choices": []}})
        except ApiError as error:
            raise self._reject(record, error) from None

        resource_message: Message | None = None
        world = self.world
        if kind == ix.CHANNEL_MESSAGE_WITH_SOURCE:
            resource_message = self._interaction_message(record, data, req.files)
            record.original_id = resource_message.id
            self._dispatch_message("MESSAGE_CREATE", resource_message)
        elif kind == ix.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = v.FLAG_LOADING | (int(data.get("flags") or 0) & v.FLAG_EPHEMERAL)
            resource_message = self._interaction_message(record, {"content": ""}, [], flags=flags)
            record.original_id = resource_message.id
            self._dispatch_message("MESSAGE_CREATE", resource_message)
        elif kind == ix.DEFERRED_UPDATE_MESSAGE:
            record.original_id = record.source_message_id
        elif kind == ix.UPDATE_MESSAGE:
            assert record.source_message_id is not None
            resource_message = world.messages[record.source_message_id]
            world.edit_message(resource_message, data, req.files)
            record.original_id = resource_message.id
            self._dispatch_message("MESSAGE_UPDATE", resource_message)
        elif kind == ix.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            record.choices = list(data.get("choices") or [])
        elif kind == ix.MODAL:
            from .state import number_components

            record.modal = {**data, "components": number_components(data.get("components") or [])}
        record.callback = body
        record.callback_files = list(req.files)
        record.log.append(("callback", body))
        if req.query.get("with_response") not in ("1", "true", "True"):
            return Reply(204)
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        if resource_message is not None:
            interaction.update(
                {
                    "response_message_id": str(resource_message.id),
                    "response_message_loading": resource_message.loading,
                    "response_message_ephemeral": resource_message.ephemeral,
                }
            )
        result: dict[str, Any] = {"interaction": interaction}
        if kind != ix.DEFERRED_UPDATE_MESSAGE:
            resource: dict[str, Any] = {"type": kind}
            if resource_message is not None:
                resource["message"] = world.message_payload(resource_message)
            result["resource"] = resource
        return result

    def _interaction_message(
        self,
        record: ix.InteractionRecord,
        data: dict[str, Any],
        files: list[UploadedFile],
        *,
        flags: int = 0,
        channel_id: int | None = None,
    ) -> Message:
        world = self.world
        user = world.user(record.user_id)
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": user.payload(),
            "authorizing_integration_owners": {"0": str(record.guild_id)} if record.guild_id else {"1": str(user.id)},
        }
        if record.command is not None:
            metadata["name"] = record.command.name
            metadata["command_type"] = record.command.type
        if record.source_message_id is not None:
            metadata["interacted_message_id"] = str(record.source_message_id)
        kind = MESSAGE_CHAT_INPUT_COMMAND if record.type == ix.APPLICATION_COMMAND else MESSAGE_DEFAULT
        return world.new_message(
            channel_id or record.channel_id,
            self.bot_id,
            data,
            files,
            type=kind,
            flags=flags,
            webhook_id=world.application_id,
            application_id=world.application_id,
            interaction_metadata=metadata,
        )

    def _interaction_message_for(self, record: ix.InteractionRecord, message_id: str) -> Message:
        if message_id == "@original":
            if record.original_id is None:
                raise not_found("Message", UNKNOWN_MESSAGE)
            target = record.original_id
        else:
            target = int(message_id) if message_id.isdigit() else -1
            if target != record.original_id and target not in record.followup_ids:
                raise not_found("Message", UNKNOWN_MESSAGE)
        message = self.world.messages.get(target)
        if message is None or message.deleted:
            raise not_found("Message", UNKNOWN_MESSAGE)
        return message

    @route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False, global_limit=False)
    async def get_original(self, req: RecordedRequest) -> Any:
        record = self._interaction_by_token(req.params["webhook_id"], req.params["webhook_token"])
        return self.world.message_payload(self._interaction_message_for(record, "@original"))

    @route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False, global_limit=False)
    async def edit_original(self, req: RecordedRequest) -> Any:
        return await self._edit_webhook_message(req, "@original")

    @route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False, global_limit=False)
    async def delete_original(self, req: RecordedRequest) -> Any:
        return await self._delete_webhook_message(req, "@original")

    @route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False, global_limit=False)
    async def get_followup(self, req: RecordedRequest) -> Any:
        record = self._interaction_by_token(req.params["webhook_id"], req.params["webhook_token"])
        return self.world.message_payload(self._interaction_message_for(record, req.params["message_id"]))

    @route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False, global_limit=False)
    async def edit_followup(self, req: RecordedRequest) -> Any:
        return await self._edit_webhook_message(req, req.params["message_id"])

    @route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False, global_limit=False)
    async def delete_followup(self, req: RecordedRequest) -> Any:
        return await self._delete_webhook_message(req, req.params["message_id"])

    async def _edit_webhook_message(self, req: RecordedRequest, message_id: str) -> Any:
        record = None
        try:
            record = self._interaction_by_token(req.params["webhook_id"], req.params["webhook_token"])
            message = self._interaction_message_for(record, message_id)
            body = self._message_body(req)
            v.check_message(body, n_files=len(req.files), creating=False)
            self._check_upload_size(req, record.guild_id)
        except ApiError as error:
            raise self._reject(record, error) from None
        self.world.edit_message(message, body, req.files)
        record.log.append(("edit_original" if message_id == "@original" else "edit_followup", body))
        self._dispatch_message("MESSAGE_UPDATE", message)
        return self.world.message_payload(message)

    async def _delete_webhook_message(self, req: RecordedRequest, message_id: str) -> Any:
        record = None
        try:
            record = self._interaction_by_token(req.params["webhook_id"], req.params["webhook_token"])
            message = self._interaction_message_for(record, message_id)
        except ApiError as error:
            raise self._reject(record, error) from None
        self.emu.delete_message(message)
        record.log.append(("delete_original" if message_id == "@original" else "delete_followup", message.id))
        return Reply(204)

    @route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth=False, global_limit=False)
    async def execute_webhook(self, req: RecordedRequest) -> Any:
        webhook_id = int(req.params["webhook_id"]) if req.params["webhook_id"].isdigit() else 0
        if webhook_id in self.world.webhooks:
            return self._execute_incoming_webhook(req, webhook_id)
        record = None
        try:
            record = self._interaction_by_token(req.params["webhook_id"], req.params["webhook_token"])
            if not record.acknowledged:
                raise not_found("Webhook", UNKNOWN_WEBHOOK)
            body = self._message_body(req)
            v.check_message(body, n_files=len(req.files), creating=True)
            self._check_upload_size(req, record.guild_id)
        except ApiError as error:
            raise self._reject(record, error) from None
        world = self.world
        original = record.original
        if (
            original is not None
            and original.loading
            and record.callback_type == ix.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            and not record.followup_ids
        ):
            # The first followup after a "thinking" defer fills the deferred message (its ephemerality wins).
            world.edit_message(original, {k: val for k, val in body.items() if k != "flags"}, req.files)
            original.edited_timestamp = None
            message = original
            record.followup_ids.append(original.id)  # what the followup request returned: the same message
            record.log.append(("followup", body))
            self._dispatch_message("MESSAGE_UPDATE", message)
        else:
            thread_id = req.query.get("thread_id")
            channel_id = int(thread_id) if thread_id else record.channel_id
            message = self._interaction_message(record, body, req.files, channel_id=channel_id)
            record.followup_ids.append(message.id)
            record.log.append(("followup", body))
            self._dispatch_message("MESSAGE_CREATE", message)
        if req.query.get("wait") in ("1", "true", "True"):
            return world.message_payload(message)
        return Reply(204)

    def _execute_incoming_webhook(self, req: RecordedRequest, webhook_id: int) -> Any:
        token, channel_id = self.world.webhooks[webhook_id]
        if req.params["webhook_token"] != token:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        body = self._message_body(req)
        v.check_message(body, n_files=len(req.files), creating=True)
        thread_id = req.query.get("thread_id")
        target = int(thread_id) if thread_id else channel_id
        message = self.world.new_message(target, webhook_id, body, req.files, webhook_id=webhook_id)
        self._dispatch_message("MESSAGE_CREATE", message)
        if req.query.get("wait") in ("1", "true", "True"):
            return self.world.message_payload(message)
        return Reply(204)

    # ------------------------------------------------------------------ channels

    @route("GET", "/channels/{channel_id}")
    async def get_channel(self, req: RecordedRequest) -> Any:
        channel = self.world.channel(int(req.params["channel_id"]))
        self.world.require(channel.id, self.bot_id, Permissions.VIEW_CHANNEL)
        return self.world.channel_payload(channel, for_user=self.bot_id)

    @route("PATCH", "/channels/{channel_id}")
    async def edit_channel(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = world.channel(int(req.params["channel_id"]))
        body = self._message_body(req)
        errors = FormErrors()
        if "name" in body:
            if channel.is_thread:
                v.check_thread_name(body["name"], errors)
            else:
                errors.bad_length(["name"], body["name"] or "", 1, v.CHANNEL_NAME_MAX)
        if "topic" in body:
            errors.max_length(["topic"], body["topic"], 1024)
        if "auto_archive_duration" in body and body["auto_archive_duration"] not in (60, 1440, 4320, 10080):
            errors.add(["auto_archive_duration"], "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
        errors.raise_if_any()
        perms = world.permissions_in(channel.id, self.bot_id)
        if not perms & Permissions.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        self._count_rename(channel, body)
        if channel.is_thread:
            manage = bool(perms & Permissions.MANAGE_THREADS)
            if not manage and (channel.owner_id != self.bot_id or body.get("locked") is not None):
                raise ApiError(403, 50013, "Missing Permissions")
            if channel.archived and body.get("archived") is not False:
                raise ApiError(400, 50083, "Thread is archived")
            if channel.locked and not manage:
                raise ApiError(403, 50013, "Missing Permissions")
            was_archived = channel.archived
            for key in ("name", "locked", "invitable", "auto_archive_duration", "rate_limit_per_user"):
                if key in body and body[key] is not None:
                    setattr(channel, key, body[key])
            if "archived" in body and body["archived"] is not None:
                channel.archived = bool(body["archived"])
            if channel.archived != was_archived:
                channel.archive_timestamp = world.clock.now()
            self.emu.dispatch_channel("THREAD_UPDATE", channel)
        else:
            if not perms & Permissions.MANAGE_CHANNELS:
                raise ApiError(403, 50013, "Missing Permissions")
            for key in ("name", "topic", "nsfw", "rate_limit_per_user", "position"):
                if key in body:
                    setattr(channel, key, body[key])
            if "parent_id" in body:
                channel.parent_id = int(body["parent_id"]) if body["parent_id"] else None
            if "permission_overwrites" in body:
                channel.overwrites = [
                    Overwrite(int(o["id"]), int(o["type"]), int(o.get("allow") or 0), int(o.get("deny") or 0))
                    for o in body["permission_overwrites"]
                ]
            self.emu.dispatch_channel("CHANNEL_UPDATE", channel)
        return world.channel_payload(channel, for_user=self.bot_id)

    def _count_rename(self, channel: Channel, body: dict[str, Any]) -> None:
        """Discord's hidden sub-limit: a channel's (or thread's) name and topic change twice per 10 minutes."""
        limit = self.emu.rename_limit
        renames = ("name" in body and body["name"] != channel.name) or (
            "topic" in body and body["topic"] != channel.topic
        )
        if limit is None or not renames:
            return
        count, window = limit
        now = self.emu.clock.monotonic()
        history = [t for t in self.emu.renames.get(channel.id, []) if now - t < window]
        if len(history) >= count:
            retry_after = round(window - (now - history[0]), 3)
            raise ApiError(
                429,
                0,
                "You are being rate limited.",
                headers={"Retry-After": str(max(1, int(retry_after))), "X-RateLimit-Scope": "user"},
                raw_body={"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            )
        self.emu.renames[channel.id] = [*history, now]

    @route("DELETE", "/channels/{channel_id}")
    async def delete_channel(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = world.channel(int(req.params["channel_id"]))
        if channel.is_dm:
            return world.channel_payload(channel)  # "closing" a DM changes nothing for the bot
        needed = Permissions.MANAGE_THREADS if channel.is_thread else Permissions.MANAGE_CHANNELS
        world.require(channel.id, self.bot_id, needed)
        payload = world.channel_payload(channel)
        self.emu.remove_channel(channel)
        return payload

    @route("POST", "/channels/{channel_id}/typing")
    async def typing(self, req: RecordedRequest) -> Any:
        channel = self._text_or_thread(req.params["channel_id"])
        self.world.require(channel.id, self.bot_id, Permissions.SEND_MESSAGES)
        return Reply(204)

    @route("GET", "/channels/{channel_id}/messages")
    async def get_messages(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        world.require(channel.id, self.bot_id, Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(req.query.get("limit", 50))))
        messages = [m for m in world.channel_history(channel.id) if not m.ephemeral]
        messages.sort(key=lambda m: m.id, reverse=True)
        if "before" in req.query:
            messages = [m for m in messages if m.id < int(req.query["before"])]
        if "after" in req.query:
            messages = [m for m in messages if m.id > int(req.query["after"])]
            messages = sorted(messages, key=lambda m: m.id)[:limit]
            messages.sort(key=lambda m: m.id, reverse=True)
        if "around" in req.query:
            around = int(req.query["around"])
            older = [m for m in messages if m.id <= around][: (limit + 1) // 2]
            newer = sorted((m for m in messages if m.id > around), key=lambda m: m.id)[: limit // 2]
            messages = sorted(older + newer, key=lambda m: m.id, reverse=True)
        return [world.message_payload(m) for m in messages[:limit]]

    @route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def get_message(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        world.require(channel.id, self.bot_id, Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY)
        message = world.message(channel.id, int(req.params["message_id"]) if req.params["message_id"].isdigit() else -1)
        if message.ephemeral:
            raise not_found("Message", UNKNOWN_MESSAGE)
        return world.message_payload(message)

    @route("POST", "/channels/{channel_id}/messages")
    async def send_message(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        body = self._message_body(req)
        v.check_message(body, n_files=len(req.files), creating=True)
        needed = Permissions.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permissions.SEND_MESSAGES
        if req.files:
            needed |= Permissions.ATTACH_FILES
        world.require(channel.id, self.bot_id, needed)
        if channel.is_dm:
            assert channel.recipient_id is not None
            recipient = world.user(channel.recipient_id)
            if not recipient.accepts_dms or recipient.bot or not world.shares_guild(recipient.id, self.bot_id):
                raise ApiError(403, 50007, "Cannot send messages to this user")
        self._check_upload_size(req, channel.guild_id)
        if body.get("flags") and int(body["flags"]) & v.FLAG_EPHEMERAL:
            errors = FormErrors()
            errors.add(
                ["flags"], "MESSAGE_FLAGS_INVALID", "Ephemeral messages can only be sent in interaction responses"
            )
            errors.raise_if_any()
        if channel.is_thread and channel.archived:
            if channel.locked and not world.permissions_in(channel.id, self.bot_id) & Permissions.MANAGE_THREADS:
                raise ApiError(400, 50083, "Thread is archived")
            channel.archived = False
            channel.archive_timestamp = world.clock.now()
            self.emu.dispatch_channel("THREAD_UPDATE", channel)
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            target = world.messages.get(int(reference["message_id"]))
            if target is None or target.deleted:
                if reference.get("fail_if_not_exists", True):
                    errors = FormErrors()
                    errors.add(["message_reference"], "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
                    errors.raise_if_any()
                body = {k: val for k, val in body.items() if k != "message_reference"}
        earlier = self._same_nonce(body)
        if earlier is not None:
            return world.message_payload(earlier)
        message = world.new_message(channel.id, self.bot_id, body, req.files)
        self.emu.dispatch_message("MESSAGE_CREATE", message)
        return world.message_payload(message)

    def _same_nonce(self, body: dict[str, Any]) -> Message | None:
        """``enforce_nonce``: a message the same author created with this nonce in the last minutes.

        Discord then returns that message and creates none, which is what makes a resend after a lost
        answer (or a crash) safe.
        """
        nonce = body.get("nonce")
        if not body.get("enforce_nonce") or nonce is None:
            return None
        since = self.world.clock.now() - NONCE_WINDOW
        for message in reversed(list(self.world.messages.values())):
            if message.timestamp < since:
                break
            if message.author_id == self.bot_id and message.nonce == nonce and not message.deleted:
                return message
        return None

    @route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def edit_message(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        message = world.message(channel.id, int(req.params["message_id"]) if req.params["message_id"].isdigit() else -1)
        body = self._message_body(req)
        v.check_message(body, n_files=len(req.files), creating=False)
        if message.author_id != self.bot_id or message.webhook_id is not None:
            if set(body) - {"flags"}:
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            world.require(channel.id, self.bot_id, Permissions.MANAGE_MESSAGES)
        if channel.is_thread and channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
        self._check_upload_size(req, channel.guild_id)
        world.edit_message(message, body, req.files)
        self.emu.dispatch_message("MESSAGE_UPDATE", message)
        return world.message_payload(message)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def delete_message(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        message = world.message(channel.id, int(req.params["message_id"]) if req.params["message_id"].isdigit() else -1)
        if message.author_id != self.bot_id:
            world.require(channel.id, self.bot_id, Permissions.MANAGE_MESSAGES)
        self.emu.delete_message(message)
        return Reply(204)

    @route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
    async def pin_message(self, req: RecordedRequest) -> Any:
        return self._set_pinned(req, pinned=True)

    @route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
    async def unpin_message(self, req: RecordedRequest) -> Any:
        return self._set_pinned(req, pinned=False)

    def _set_pinned(self, req: RecordedRequest, *, pinned: bool) -> Reply:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        world.require(channel.id, self.bot_id, Permissions.MANAGE_MESSAGES)
        message = world.message(channel.id, int(req.params["message_id"]))
        message.pinned = pinned
        self.emu.dispatch_message("MESSAGE_UPDATE", message)
        return Reply(204)

    @route("GET", "/channels/{channel_id}/messages/pins")
    async def get_pins(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        pinned = [m for m in world.channel_history(channel.id) if m.pinned]
        return {
            "items": [{"pinned_at": iso(m.timestamp), "message": world.message_payload(m)} for m in reversed(pinned)],
            "has_more": False,
        }

    @route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def add_reaction(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        world.require(channel.id, self.bot_id, Permissions.READ_MESSAGE_HISTORY | Permissions.ADD_REACTIONS)
        message = world.message(channel.id, int(req.params["message_id"]))
        users = message.reactions.setdefault(req.params["emoji"], [])
        if self.bot_id not in users:
            users.append(self.bot_id)
            self.emu.dispatch_reaction("MESSAGE_REACTION_ADD", message, self.bot_id, req.params["emoji"])
        return Reply(204)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def remove_reaction(self, req: RecordedRequest) -> Any:
        channel = self._text_or_thread(req.params["channel_id"])
        message = self.world.message(channel.id, int(req.params["message_id"]))
        users = message.reactions.get(req.params["emoji"], [])
        if self.bot_id in users:
            users.remove(self.bot_id)
            self.emu.dispatch_reaction("MESSAGE_REACTION_REMOVE", message, self.bot_id, req.params["emoji"])
        return Reply(204)

    # ------------------------------------------------------------------ direct messages

    @route("POST", "/users/@me/channels")
    async def open_dm(self, req: RecordedRequest) -> Any:
        body = self._message_body(req)
        recipient = body.get("recipient_id")
        if recipient is None:
            errors = FormErrors()
            errors.required(["recipient_id"])
            errors.raise_if_any()
        return self.world.channel_payload(self.world.open_dm(int(str(recipient))))

    # ------------------------------------------------------------------ threads

    def _thread_body(self, body: dict[str, Any]) -> None:
        errors = FormErrors()
        v.check_thread_name(body.get("name"), errors)
        duration = body.get("auto_archive_duration")
        if duration is not None and duration not in (60, 1440, 4320, 10080):
            errors.add(["auto_archive_duration"], "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
        errors.raise_if_any()

    @route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def start_thread_from_message(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        if channel.is_thread or channel.is_dm:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = self._message_body(req)
        self._thread_body(body)
        message = world.message(channel.id, int(req.params["message_id"]))
        world.require(channel.id, self.bot_id, Permissions.CREATE_PUBLIC_THREADS | Permissions.READ_MESSAGE_HISTORY)
        if message.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        if message.ephemeral:
            raise not_found("Message", UNKNOWN_MESSAGE)
        thread = world.add_thread(
            channel.id,
            body["name"],
            owner_id=self.bot_id,
            type=CHANNEL_PUBLIC_THREAD,
            auto_archive_duration=body.get("auto_archive_duration") or 1440,
            thread_id=message.id,
        )
        thread.rate_limit_per_user = body.get("rate_limit_per_user") or 0
        thread.starter_message_id = message.id
        message.thread_id = thread.id
        world.add_thread_starter(thread, message)
        self.emu.dispatch_thread_create(thread)
        self.emu.dispatch_message("MESSAGE_UPDATE", message)
        return world.channel_payload(thread, for_user=self.bot_id)

    @route("POST", "/channels/{channel_id}/threads")
    async def start_thread(self, req: RecordedRequest) -> Any:
        world = self.world
        channel = self._text_or_thread(req.params["channel_id"])
        if channel.is_thread or channel.is_dm:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = self._message_body(req)
        self._thread_body(body)
        kind = int(body.get("type") or CHANNEL_PRIVATE_THREAD)
        if kind not in (CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD):
            errors = FormErrors()
            errors.add(["type"], "BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")
            errors.raise_if_any()
        needed = (
            Permissions.CREATE_PUBLIC_THREADS if kind == CHANNEL_PUBLIC_THREAD else Permissions.CREATE_PRIVATE_THREADS
        )
        world.require(channel.id, self.bot_id, needed)
        thread = world.add_thread(
            channel.id,
            body["name"],
            owner_id=self.bot_id,
            type=kind,
            auto_archive_duration=body.get("auto_archive_duration") or 1440,
            invitable=body.get("invitable", True),
        )
        thread.rate_limit_per_user = body.get("rate_limit_per_user") or 0
        self.emu.dispatch_thread_create(thread)
        if kind == CHANNEL_PUBLIC_THREAD:
            notice = world.new_message(channel.id, self.bot_id, {"content": thread.name}, type=MESSAGE_THREAD_CREATED)
            notice.message_reference = {
                "type": 0,
                "channel_id": str(thread.id),
                "guild_id": str(channel.guild_id),
            }
            self.emu.dispatch_message("MESSAGE_CREATE", notice)
        return Reply(201, world.channel_payload(thread, for_user=self.bot_id))

    def _thread(self, channel_id: str) -> Channel:
        channel = self.world.channel(int(channel_id))
        if not channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return channel

    def _thread_member_payload(self, thread: Channel, user_id: int, with_member: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": iso(thread.thread_members[user_id]),
            "flags": 0,
        }
        if with_member and user_id in self.world.guild(thread.guild_id).members:
            data["member"] = self.world.member_payload(self.world.member(thread.guild_id, user_id))
        return data

    @route("PUT", "/channels/{channel_id}/thread-members/@me")
    async def join_thread(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        self.world.require(thread.id, self.bot_id, Permissions.VIEW_CHANNEL)
        self.emu.add_thread_member(thread, self.bot_id)
        return Reply(204)

    @route("DELETE", "/channels/{channel_id}/thread-members/@me")
    async def leave_thread(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        self.emu.remove_thread_member(thread, self.bot_id)
        return Reply(204)

    @route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def add_thread_member(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        self.world.require(thread.id, self.bot_id, Permissions.SEND_MESSAGES_IN_THREADS)
        self.world.member(thread.guild_id, int(req.params["user_id"]))
        self.emu.add_thread_member(thread, int(req.params["user_id"]))
        return Reply(204)

    @route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
    async def remove_thread_member(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        if thread.owner_id != self.bot_id:
            self.world.require(thread.id, self.bot_id, Permissions.MANAGE_THREADS)
        self.emu.remove_thread_member(thread, int(req.params["user_id"]))
        return Reply(204)

    @route("GET", "/channels/{channel_id}/thread-members")
    async def get_thread_members(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        with_member = req.query.get("with_member") in ("1", "true", "True")
        return [self._thread_member_payload(thread, u, with_member) for u in thread.thread_members]

    @route("GET", "/channels/{channel_id}/thread-members/{user_id}")
    async def get_thread_member(self, req: RecordedRequest) -> Any:
        thread = self._thread(req.params["channel_id"])
        user_id = int(req.params["user_id"])
        if user_id not in thread.thread_members:
            raise not_found("Member", 10007)
        return self._thread_member_payload(thread, user_id, req.query.get("with_member") in ("1", "true", "True"))

    @route("GET", "/channels/{channel_id}/threads/archived/public")
    async def archived_public_threads(self, req: RecordedRequest) -> Any:
        world = self.world
        parent = world.channel(int(req.params["channel_id"]))
        world.require(parent.id, self.bot_id, Permissions.READ_MESSAGE_HISTORY)
        threads = [
            c
            for c in world.channels.values()
            if c.parent_id == parent.id and c.type == CHANNEL_PUBLIC_THREAD and c.archived
        ]
        threads.sort(key=lambda c: c.archive_timestamp or world.clock.now(), reverse=True)
        limit = int(req.query.get("limit", 50))
        return {
            "threads": [world.channel_payload(c) for c in threads[:limit]],
            "members": [
                self._thread_member_payload(c, self.bot_id) for c in threads[:limit] if self.bot_id in c.thread_members
            ],
            "has_more": len(threads) > limit,
        }

    @route("GET", "/guilds/{guild_id}/threads/active")
    async def active_threads(self, req: RecordedRequest) -> Any:
        world = self.world
        guild = world.guild(int(req.params["guild_id"]))
        threads = [world.channels[c] for c in guild.channel_ids if world.channels[c].is_thread]
        threads = [t for t in threads if not t.archived and world.permissions_in(t.id, self.bot_id)]
        return {
            "threads": [world.channel_payload(t) for t in threads],
            "members": [
                self._thread_member_payload(t, self.bot_id) for t in threads if self.bot_id in t.thread_members
            ],
        }

    # ------------------------------------------------------------------ guilds

    @route("GET", "/guilds/{guild_id}")
    async def get_guild(self, req: RecordedRequest) -> Any:
        guild = self.world.guild(int(req.params["guild_id"]))
        return self.world.guild_payload(guild, with_counts=req.query.get("with_counts") in ("1", "true", "True"))

    @route("GET", "/guilds/{guild_id}/channels")
    async def get_guild_channels(self, req: RecordedRequest) -> Any:
        world = self.world
        guild = world.guild(int(req.params["guild_id"]))
        return [world.channel_payload(world.channels[c]) for c in guild.channel_ids if not world.channels[c].is_thread]

    @route("POST", "/guilds/{guild_id}/channels")
    async def create_guild_channel(self, req: RecordedRequest) -> Any:
        world = self.world
        guild = world.guild(int(req.params["guild_id"]))
        body = self._message_body(req)
        errors = FormErrors()
        if not body.get("name"):
            errors.required(["name"])
        errors.bad_length(["name"], body.get("name"), 1, v.CHANNEL_NAME_MAX)
        if body.get("type", 0) != CHANNEL_TEXT:
            errors.add(["type"], "BASE_TYPE_CHOICES", "The emulator only creates text channels (type 0).")
        errors.raise_if_any()
        if not world.base_permissions(guild.id, self.bot_id) & Permissions.MANAGE_CHANNELS:
            raise ApiError(403, 50013, "Missing Permissions")
        overwrites = [
            Overwrite(int(o["id"]), int(o["type"]), int(o.get("allow") or 0), int(o.get("deny") or 0))
            for o in body.get("permission_overwrites") or []
        ]
        channel = world.add_text_channel(
            guild.id,
            body["name"],
            topic=body.get("topic"),
            overwrites=overwrites,
            parent_id=int(body["parent_id"]) if body.get("parent_id") else None,
        )
        self.emu.dispatch_channel("CHANNEL_CREATE", channel)
        return Reply(201, world.channel_payload(channel))

    @route("GET", "/guilds/{guild_id}/roles")
    async def get_roles(self, req: RecordedRequest) -> Any:
        guild = self.world.guild(int(req.params["guild_id"]))
        return [r.payload() for r in sorted(guild.roles.values(), key=lambda r: r.position)]

    @route("GET", "/guilds/{guild_id}/roles/{role_id}")
    async def get_role(self, req: RecordedRequest) -> Any:
        guild = self.world.guild(int(req.params["guild_id"]))
        role = guild.roles.get(int(req.params["role_id"]) if req.params["role_id"].isdigit() else -1)
        if role is None:
            raise not_found("Role", 10011)
        return role.payload()

    @route("GET", "/guilds/{guild_id}/members/{member_id}")
    async def get_member(self, req: RecordedRequest) -> Any:
        member = self.world.member(int(req.params["guild_id"]), int(req.params["member_id"]))
        return self.world.member_payload(member)

    @route("GET", "/guilds/{guild_id}/members")
    async def get_members(self, req: RecordedRequest) -> Any:
        guild = self.world.guild(int(req.params["guild_id"]))
        after = int(req.query.get("after", 0))
        limit = max(1, min(1000, int(req.query.get("limit", 1))))
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return [self.world.member_payload(m) for m in members[:limit]]

    def _role_change(self, req: RecordedRequest) -> tuple[World, int, int, int]:
        world = self.world
        guild = world.guild(int(req.params["guild_id"]))
        member = world.member(guild.id, int(req.params["user_id"]))
        role_id = int(req.params["role_id"]) if req.params["role_id"].isdigit() else -1
        role = guild.roles.get(role_id)
        if role is None:
            raise not_found("Role", 10011)
        if not world.base_permissions(guild.id, self.bot_id) & Permissions.MANAGE_ROLES:
            raise ApiError(403, 50013, "Missing Permissions")
        bot_member = guild.members[self.bot_id]
        top = max((guild.roles[r].position for r in bot_member.roles), default=0)
        if role.position >= top or role.managed or role.id == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")
        return world, guild.id, member.user_id, role.id

    @route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    async def add_member_role(self, req: RecordedRequest) -> Any:
        world, guild_id, user_id, role_id = self._role_change(req)
        member = world.member(guild_id, user_id)
        if role_id not in member.roles:
            member.roles.append(role_id)
            self.emu.dispatch_member_update(member)
        return Reply(204)

    @route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    async def remove_member_role(self, req: RecordedRequest) -> Any:
        world, guild_id, user_id, role_id = self._role_change(req)
        member = world.member(guild_id, user_id)
        if role_id in member.roles:
            member.roles.remove(role_id)
            self.emu.dispatch_member_update(member)
        return Reply(204)


def _bind(api: RestApi) -> dict[str, Handler]:
    return {spec.handler: getattr(api, spec.handler) for spec in ROUTES}


__all__ = ["ROUTES", "RecordedRequest", "Reply", "RestApi", "RouteSpec", "major_parameters", "match_route"]
