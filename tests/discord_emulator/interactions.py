"""Interactions as a Discord client causes them, and what the bot answered to each.

https://discord.com/developers/docs/interactions/receiving-and-responding
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import Permissions
from .state import Attachment, Channel, Command, Message, UploadedFile, World

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
MODAL = 9
LAUNCH_ACTIVITY = 12

#: Which callback types Discord accepts for which interaction type.
ALLOWED_CALLBACKS = {
    PING: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL, LAUNCH_ACTIVITY},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    APPLICATION_COMMAND_AUTOCOMPLETE: {APPLICATION_COMMAND_AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10
OPTION_ATTACHMENT = 11


@dataclass
class InteractionRecord:
    """One interaction the emulator sent, and everything the bot did with its token.

    ``log`` lists what happened in order: ``("callback", body)``, ``("edit_original", body)``,
    ``("delete_original", None)``, ``("followup", body)``, ``("edit_followup", body)`` and
    ``("rejected", (status, error body))`` for every request Discord would have refused.
    """

    emulator: DiscordEmulator = field(repr=False)
    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any] = field(repr=False)
    created_at: float
    command: Command | None = field(default=None, repr=False)
    custom_id: str | None = None
    source_message_id: int | None = None
    callback: dict[str, Any] | None = None
    callback_files: list[UploadedFile] = field(default_factory=list, repr=False)
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = field(default=None, repr=False)
    choices: list[dict[str, Any]] | None = None
    log: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ state

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else int(self.callback["type"])

    @property
    def deferred(self) -> bool:
        return self.callback_type in (DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_UPDATE_MESSAGE)

    @property
    def original(self) -> Message | None:
        if self.original_id is None:
            return None
        message = self.emulator.world.messages.get(self.original_id)
        return None if message is None or message.deleted else message

    @property
    def followups(self) -> list[Message]:
        """The messages the followup endpoint returned, in order. The first followup after a "thinking" defer
        fills the deferred original on Discord, so then ``followups[0]`` *is* ``original`` (same id)."""
        messages = self.emulator.world.messages
        return [messages[m] for m in self.followup_ids if m in messages and not messages[m].deleted]

    @property
    def messages(self) -> list[Message]:
        """Every distinct message of the response: the original (if a message), then the other followups."""
        original = self.original
        others = [m for m in self.followups if m.id != self.original_id]
        return ([original] if original is not None else []) + others

    @property
    def ephemeral(self) -> bool:
        original = self.original
        return original is not None and original.ephemeral

    @property
    def rejected(self) -> list[tuple[int, dict[str, Any]]]:
        return [entry for kind, entry in self.log if kind == "rejected"]

    def text(self) -> str:
        """The text of every message of the response (content, embeds, text displays)."""
        return "\n".join(m.text() for m in self.messages)

    # ------------------------------------------------------------------ waiting

    async def wait_until(
        self,
        predicate: Callable[[InteractionRecord], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionRecord:
        await self.emulator.wait_until(lambda: predicate(self), timeout=timeout, what=f"interaction {self.describe()}")
        return self

    async def wait_response(self, timeout: float = 5.0) -> InteractionRecord:  # noqa: ASYNC109
        """Until the bot acknowledged the interaction (any accepted callback type).

        Fails as soon as Discord would give up: a callback was refused, or 3 s passed on the emulator's clock
        without one (the user sees "The application did not respond").
        """
        emulator = self.emulator
        deadline = emulator.interaction_ack_timeout + 0.25

        def settled(record: InteractionRecord) -> bool:
            late = emulator.clock.monotonic() - record.created_at > deadline
            return record.acknowledged or bool(record.rejected) or late

        await self.wait_until(settled, timeout)
        if not self.acknowledged:
            why = (
                f"Discord refused its answer: {self.rejected}"
                if self.rejected
                else f'no callback within {emulator.interaction_ack_timeout:g} s ("The application did not respond")'
            )
            raise AssertionError(f"the bot did not acknowledge {self.describe()}: {why}.\n{emulator.diagnostics()}")
        return self

    async def wait_original(self, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """Until the original response exists and is no longer "thinking" (deferred and then edited)."""
        await self.wait_until(lambda r: r.original is not None and not r.original.loading, timeout)
        assert self.original is not None
        return self.original

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Message]:  # noqa: ASYNC109
        await self.wait_until(lambda r: len(r.followups) >= count, timeout)
        return self.followups

    def describe(self) -> str:
        what = f"/{self.command.name}" if self.command else (self.custom_id or "")
        return f"#{self.id} type {self.type} {what}".strip()


class ResolvedBuilder:
    """The ``resolved`` map of an interaction, filled while options are converted."""

    def __init__(self, world: World, guild_id: int | None, channel_id: int) -> None:
        self.world = world
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.data: dict[str, dict[str, Any]] = {}

    def user(self, user_id: int) -> None:
        user = self.world.user(user_id)
        self.data.setdefault("users", {})[str(user.id)] = user.payload()
        if self.guild_id is not None and user.id in self.world.guild(self.guild_id).members:
            member = self.world.member_payload(self.world.member(self.guild_id, user.id), with_user=False)
            member["permissions"] = str(self.world.permissions_in(self.channel_id, user.id))
            self.data.setdefault("members", {})[str(user.id)] = member

    def role(self, role_id: int) -> None:
        assert self.guild_id is not None
        role = self.world.guild(self.guild_id).roles[role_id]
        self.data.setdefault("roles", {})[str(role.id)] = role.payload()

    def channel(self, channel: Channel, user_id: int) -> None:
        data: dict[str, Any] = {
            "id": str(channel.id),
            "name": channel.name,
            "type": channel.type,
            "permissions": str(self.world.permissions_in(channel.id, user_id)),
        }
        if channel.is_thread:
            full = self.world.channel_payload(channel)
            data.update({"parent_id": full["parent_id"], "thread_metadata": full["thread_metadata"]})
        self.data.setdefault("channels", {})[str(channel.id)] = data

    def attachment(self, attachment: Attachment) -> None:
        self.data.setdefault("attachments", {})[str(attachment.id)] = attachment.payload()


def to_id(value: Any) -> int:
    """An id from an int, a numeric string or anything with ``.id`` (emulator objects, discord.py objects)."""
    if isinstance(value, bool):
        raise TypeError(f"not an id: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    inner = getattr(value, "id", None)
    if isinstance(inner, int):
        return inner
    raise TypeError(f"not an id: {value!r}")


def build_options(
    world: World,
    definitions: list[dict[str, Any]],
    given: dict[str, Any],
    resolved: ResolvedBuilder,
    *,
    user_id: int,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Convert test-friendly values to the option list a Discord client sends (typed, with resolved data)."""
    by_name = {d["name"]: d for d in definitions if d.get("type") not in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)}
    unknown = set(given) - set(by_name)
    if unknown:
        raise LookupError(f"unknown option(s) {sorted(unknown)}; the command has {sorted(by_name)}")
    if focused is None:
        missing = [n for n, d in by_name.items() if d.get("required") and n not in given]
        if missing:
            raise ValueError(f"required option(s) missing: {missing} (Discord would not let the user send this)")
    elif focused not in by_name:
        raise LookupError(f"cannot focus {focused!r}; the command has {sorted(by_name)}")
    options: list[dict[str, Any]] = []
    for name, definition in by_name.items():
        if name not in given:
            continue
        value = given[name]
        kind = definition["type"]
        entry: dict[str, Any] = {"name": name, "type": kind}
        if name == focused:
            entry["value"] = str(value)
            entry["focused"] = True
            options.append(entry)
            continue
        entry["value"] = _convert_option(world, definition, value, resolved, user_id=user_id)
        options.append(entry)
    return options


def _convert_option(
    world: World, definition: dict[str, Any], value: Any, resolved: ResolvedBuilder, *, user_id: int
) -> Any:
    kind = definition["type"]
    name = definition["name"]
    if kind == OPTION_STRING:
        value = str(value)
        low, high = definition.get("min_length", 0), definition.get("max_length", 6000)
        if not low <= len(value) <= high:
            raise ValueError(f"option {name!r}: length must be within {low}..{high}")
    elif kind == OPTION_INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"option {name!r} is an integer, got {value!r}")
    elif kind == OPTION_NUMBER:
        value = float(value)
    elif kind == OPTION_BOOLEAN:
        value = bool(value)
    elif kind == OPTION_USER:
        user = to_id(value)
        resolved.user(user)
        return str(user)
    elif kind == OPTION_ROLE:
        role = to_id(value)
        resolved.role(role)
        return str(role)
    elif kind == OPTION_MENTIONABLE:
        target = to_id(value)
        if target in world.users:
            resolved.user(target)
        else:
            resolved.role(target)
        return str(target)
    elif kind == OPTION_CHANNEL:
        channel = world.channel(to_id(value))
        allowed = definition.get("channel_types")
        if allowed and channel.type not in allowed:
            raise ValueError(f"option {name!r} accepts channel types {allowed}, not {channel.type}")
        resolved.channel(channel, user_id)
        return str(channel.id)
    elif kind == OPTION_ATTACHMENT:
        attachment = make_attachment(world, resolved.channel_id, value)
        resolved.attachment(attachment)
        world.loose_attachments[attachment.id] = attachment
        return str(attachment.id)
    if kind in (OPTION_INTEGER, OPTION_NUMBER):
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"option {name!r}: {value} is outside {low}..{high}")
    choices = definition.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"option {name!r} only offers {[c['value'] for c in choices]}, not {value!r}")
    return value


def make_attachment(world: World, channel_id: int, value: Any) -> Attachment:
    """An upload from ``bytes`` (named ``upload.bin``), ``(filename, bytes)`` or a ``Path``."""
    if isinstance(value, Attachment):
        return value
    if isinstance(value, Path):
        return world.new_attachment(channel_id, value.name, value.read_bytes(), ephemeral=True)
    if isinstance(value, tuple) and len(value) == 2:
        return world.new_attachment(channel_id, str(value[0]), bytes(value[1]), ephemeral=True)
    if isinstance(value, bytes | bytearray):
        return world.new_attachment(channel_id, "upload.bin", bytes(value), ephemeral=True)
    raise TypeError(f"an attachment option takes bytes, (filename, bytes) or a Path, not {type(value).__name__}")


def command_visible_to(world: World, command: Command, channel_id: int, user_id: int) -> None:
    """Raise if a Discord client would not offer the command to this user in this channel."""
    perms = world.permissions_in(channel_id, user_id)
    if not perms & Permissions.VIEW_CHANNEL:
        raise PermissionError(f"user {user_id} cannot see channel {channel_id}")
    if not perms & Permissions.USE_APPLICATION_COMMANDS:
        raise PermissionError(f"user {user_id} may not use application commands in channel {channel_id}")
    needed = command.payload.get("default_member_permissions")
    if needed is not None and not perms & Permissions.ADMINISTRATOR:
        needed_bits = int(needed)
        if perms & needed_bits != needed_bits:
            raise PermissionError(
                f"/{command.name} needs permissions {needed_bits:#x} (default_member_permissions); "
                f"user {user_id} has {perms:#x} in channel {channel_id}, so Discord does not offer it"
            )
    contexts = command.payload.get("contexts")
    if contexts is not None and 0 not in contexts:
        raise PermissionError(f"/{command.name} is not available in guilds (contexts {contexts})")


def modal_submission(modal: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``components`` of a MODAL_SUBMIT for the modal the bot sent.

    ``values`` are keyed by an input's custom_id or by the label the user sees (discord.py gives inputs
    random custom_ids unless the bot sets them).
    """
    by_key: dict[str, dict[str, Any]] = {}

    def inputs(component: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
        if component.get("type") == 1:
            return [(c.get("label"), c) for c in component.get("components") or []]
        if component.get("type") == 18 and isinstance(component.get("component"), dict):
            return [(component.get("label"), component["component"])]
        return []

    for top in modal.get("components") or []:
        for label, child in inputs(top):
            if child.get("custom_id"):
                by_key[child["custom_id"]] = child
                if label:
                    by_key.setdefault(label, child)
    unknown = set(values) - set(by_key)
    if unknown:
        raise KeyError(f"the modal has no input(s) {sorted(unknown)}; it has {sorted(by_key)}")
    given = {by_key[key]["custom_id"]: value for key, value in values.items()}
    values = given

    def answer(child: dict[str, Any]) -> dict[str, Any]:
        custom_id = child["custom_id"]
        kind = child.get("type")
        out: dict[str, Any] = {"type": kind, "id": child.get("id"), "custom_id": custom_id}
        if kind == 4:
            value = values.get(custom_id, child.get("value") or "")
            value = str(value)
            required = child.get("required", True)
            if required and not value:
                raise ValueError(f"text input {custom_id!r} is required (Discord would not submit the modal)")
            low, high = child.get("min_length", 0), child.get("max_length", 4000)
            if value and not low <= len(value) <= high:
                raise ValueError(f"text input {custom_id!r}: length {len(value)} is outside {low}..{high}")
            out["value"] = value
        elif kind in (21, 23):
            out["value"] = values.get(custom_id)
        else:
            chosen = values.get(custom_id, [])
            out["values"] = [str(v) for v in (chosen if isinstance(chosen, list | tuple) else [chosen])]
        return out

    components: list[dict[str, Any]] = []
    for top in modal.get("components") or []:
        kind = top.get("type")
        if kind == 1:
            components.append(
                {"type": 1, "id": top.get("id"), "components": [answer(c) for c in top.get("components") or []]}
            )
        elif kind == 18 and isinstance(top.get("component"), dict):
            components.append({"type": 18, "id": top.get("id"), "component": answer(top["component"])})
        else:
            components.append({"type": kind, "id": top.get("id")})
    return components
