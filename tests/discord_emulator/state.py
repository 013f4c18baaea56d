"""The emulated world: users, guilds, roles, members, channels, threads, messages, commands — and their payloads.

Payload builders follow https://discord.com/developers/docs/resources (ids as strings, ISO timestamps).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from .core import (
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_ROLE,
    UNKNOWN_USER,
    ApiError,
    Clock,
    Permissions,
    Snowflakes,
    iso,
    not_found,
)
from .validation import FLAG_COMPONENTS_V2, FLAG_EPHEMERAL, FLAG_LOADING, walk_components

CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_CATEGORY = 4
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
THREAD_TYPES = (10, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)

MESSAGE_DEFAULT = 0
MESSAGE_THREAD_CREATED = 18
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_THREAD_STARTER = 21
MESSAGE_CONTEXT_MENU_COMMAND = 23
#: Messages somebody wrote (the rest are system messages: "started a thread", thread starters, pins…).
REGULAR_MESSAGE_TYPES = (MESSAGE_DEFAULT, MESSAGE_REPLY, MESSAGE_CHAT_INPUT_COMMAND, MESSAGE_CONTEXT_MENU_COMMAND)

#: Discord's upload limit for a server without boosts (what ``attachment_size_limit`` reports).
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    #: False: the user turned off DMs from server members; the bot's DMs fail with 50007.
    accepts_dms: bool = True

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
            data["discriminator"] = "0001"
        return data


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int]
    joined_at: dt.datetime
    nick: str | None = None


@dataclass
class Overwrite:
    """A permission overwrite: ``type`` 0 is a role, 1 a member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    """A guild text channel, a thread (``type`` 11 public, 12 private) or a DM with the bot (``type`` 1)."""

    id: int
    guild_id: int | None
    type: int
    name: str
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    nsfw: bool = False
    # Threads only.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: dt.datetime | None = None
    create_timestamp: dt.datetime | None = None
    message_count: int = 0
    total_message_sent: int = 0
    thread_members: dict[int, dt.datetime] = field(default_factory=dict)
    starter_message_id: int | None = None
    # DMs only.
    recipient_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        return self.type == CHANNEL_DM


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None
    url: str
    description: str | None = None
    ephemeral: bool = False
    title: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.description is not None:
            data["description"] = self.description
        if self.title is not None:
            data["title"] = self.title
        if self.ephemeral:
            data["ephemeral"] = True
        size = png_size(self.data)
        if size is not None:
            data["width"], data["height"] = size
        return data


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None


@dataclass
class UploadedFile:
    """One file part of a multipart request (``files[n]``)."""

    field: str
    filename: str
    content_type: str | None
    data: bytes

    @property
    def index(self) -> int | None:
        match = re.fullmatch(r"files\[(\d+)\]", self.field) or re.fullmatch(r"file(\d*)", self.field)
        if match is None:
            return None
        return int(match.group(1) or 0)


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    timestamp: dt.datetime
    type: int = MESSAGE_DEFAULT
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    edited_timestamp: dt.datetime | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    thread_id: int | None = None
    pinned: bool = False
    deleted: bool = False
    nonce: str | int | None = None
    position: int | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    #: Every earlier version of the message (content, embeds, components, attachments), oldest first.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Reactions: emoji (``"✅"`` or ``"name:id"``) → user ids in the order they reacted.
    reactions: dict[str, list[int]] = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def system(self) -> bool:
        """A system message (type 18 "started a thread", 21 thread starter, …), not one somebody wrote."""
        return self.type not in REGULAR_MESSAGE_TYPES

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    def find_component(self, custom_id: str) -> dict[str, Any] | None:
        for component in walk_components(self.components):
            if component.get("custom_id") == custom_id:
                return component
        return None

    def embed_text(self) -> str:
        """Titles, descriptions, field names/values and footers of all embeds, for easy assertions."""
        parts: list[str] = []
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for f in embed.get("fields") or []:
                parts += [f.get("name") or "", f.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    def text(self) -> str:
        """Content, embed text and text displays (components v2) together."""
        displays = [c.get("content") or "" for c in walk_components(self.components) if c.get("type") == 10]
        return "\n".join(p for p in [self.content, self.embed_text(), *displays] if p)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    preferred_locale: str = "en-US"
    joined_at: dt.datetime | None = None
    attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass
class Command:
    id: int
    application_id: int
    guild_id: int | None
    name: str
    type: int
    payload: dict[str, Any]
    version: int

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "type": self.type,
            "name": self.name,
            "name_localizations": self.payload.get("name_localizations"),
            "description": self.payload.get("description", "") if self.type == 1 else "",
            "description_localizations": self.payload.get("description_localizations"),
            "default_member_permissions": self.payload.get("default_member_permissions"),
            "dm_permission": self.payload.get("dm_permission", True),
            "nsfw": self.payload.get("nsfw", False),
            "contexts": self.payload.get("contexts"),
            "integration_types": self.payload.get("integration_types", [0]),
        }
        if self.payload.get("options"):
            data["options"] = self.payload["options"]
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data

    def find_option_path(self, path: list[str]) -> list[dict[str, Any]]:
        """The option definitions at the end of a subcommand path (``["team", "add"]``)."""
        options = self.payload.get("options") or []
        for name in path:
            match = next((o for o in options if o.get("name") == name and o.get("type") in (1, 2)), None)
            if match is None:
                have = [o["name"] for o in options if o.get("type") in (1, 2)]
                raise LookupError(f"/{self.name} has no subcommand {name!r} (subcommands there: {have})")
            options = match.get("options") or []
        return options


class World:
    """All state of the emulated Discord. REST handlers and the test-side API both go through it."""

    def __init__(self, clock: Clock, *, application_name: str = "kubecamp-bot") -> None:
        self.clock = clock
        self.ids = Snowflakes(clock)
        self.base_url = "http://127.0.0.1"
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[int]] = {}
        #: Attachments outside messages (uploads in interaction options), served like message attachments.
        self.loose_attachments: dict[int, Attachment] = {}
        #: The bot's DM channel with each user (user id → channel).
        self.dm_channels: dict[int, Channel] = {}
        #: Thread id → its THREAD_STARTER_MESSAGE (type 21). It has the thread's id, which is also the id of the
        #: parent-channel message the thread was started from, so it lives outside ``messages``.
        self.thread_starters: dict[int, Message] = {}
        #: Incoming webhooks (a channel's Integrations → Webhooks): id → (token, channel id). The id is also the
        #: user id of the messages it posts, as on Discord.
        self.webhooks: dict[int, tuple[str, int]] = {}
        self.global_commands: dict[tuple[str, int], Command] = {}
        self.guild_commands: dict[int, dict[tuple[str, int], Command]] = {}
        self.application_id = self.ids.next()
        self.application_name = application_name
        self.application_flags = 0
        self.verify_key = secrets.token_hex(32)
        self.owner = self.add_user("app-owner", global_name="App Owner")
        self.bot = User(id=self.application_id, username=application_name, global_name=None, bot=True)
        self.users[self.bot.id] = self.bot

    # ------------------------------------------------------------------ building the world

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self, name: str, *, owner_id: int | None = None, everyone_permissions: int = Permissions.EVERYONE_DEFAULT
    ) -> Guild:
        guild_id = self.ids.next()
        guild = Guild(id=guild_id, name=name, owner_id=owner_id or self.owner.id, joined_at=self.clock.now())
        guild.roles[guild_id] = Role(id=guild_id, guild_id=guild_id, name="@everyone", permissions=everyone_permissions)
        self.guilds[guild_id] = guild
        self.add_member(guild_id, guild.owner_id)
        bot_role = self.add_role(guild_id, self.application_name, permissions=Permissions.BOT_DEFAULT, managed=True)
        bot_role.bot_id = self.bot.id
        self.add_member(guild_id, self.bot.id, roles=[bot_role.id])
        return guild

    def add_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        managed: bool = False,
    ) -> Role:
        guild = self.guild(guild_id)
        position = max((r.position for r in guild.roles.values()), default=0) + 1
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            position=position,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
            managed=managed,
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self, guild_id: int, user_id: int, *, roles: list[int] | None = None, nick: str | None = None
    ) -> Member:
        guild = self.guild(guild_id)
        self.user(user_id)
        for role_id in roles or []:
            if role_id not in guild.roles:
                raise not_found("Role", UNKNOWN_ROLE)
        member = Member(
            user_id=user_id, guild_id=guild_id, roles=list(roles or []), joined_at=self.clock.now(), nick=nick
        )
        guild.members[user_id] = member
        return member

    def add_text_channel(
        self,
        guild_id: int,
        name: str,
        *,
        topic: str | None = None,
        overwrites: list[Overwrite] | None = None,
        parent_id: int | None = None,
    ) -> Channel:
        guild = self.guild(guild_id)
        position = sum(1 for cid in guild.channel_ids if not self.channels[cid].is_thread)
        channel = Channel(
            id=self.ids.next(),
            guild_id=guild_id,
            type=CHANNEL_TEXT,
            name=name,
            position=position,
            topic=topic,
            parent_id=parent_id,
            overwrites=list(overwrites or []),
        )
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        guild.channel_ids.append(channel.id)
        return channel

    def add_thread(
        self,
        parent_id: int,
        name: str,
        *,
        owner_id: int,
        type: int = CHANNEL_PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
        thread_id: int | None = None,
        invitable: bool = True,
    ) -> Channel:
        parent = self.channel(parent_id)
        now = self.clock.now()
        thread = Channel(
            id=thread_id or self.ids.next(),
            guild_id=parent.guild_id,
            type=type,
            name=name,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            archive_timestamp=now,
            create_timestamp=now,
            invitable=invitable,
        )
        thread.thread_members[owner_id] = now
        self.channels[thread.id] = thread
        self.channel_messages[thread.id] = []
        assert parent.guild_id is not None, "threads live in guild channels"
        self.guild(parent.guild_id).channel_ids.append(thread.id)
        return thread

    def add_thread_starter(self, thread: Channel, message: Message) -> Message:
        """The system message a thread started from ``message`` begins with (same id as thread and message)."""
        starter = Message(
            id=thread.id,
            channel_id=thread.id,
            guild_id=thread.guild_id,
            author_id=message.author_id,
            content="",
            timestamp=self.clock.now(),
            type=MESSAGE_THREAD_STARTER,
            message_reference={
                "type": 0,
                "message_id": str(message.id),
                "channel_id": str(message.channel_id),
                "guild_id": str(message.guild_id),
            },
        )
        self.thread_starters[thread.id] = starter
        return starter

    def open_dm(self, user_id: int) -> Channel:
        """The bot's DM channel with a user (created on first use, like POST /users/@me/channels)."""
        user = self.user(user_id)
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(id=self.ids.next(), guild_id=None, type=CHANNEL_DM, name="", recipient_id=user.id)
            self.channels[channel.id] = channel
            self.channel_messages[channel.id] = []
            self.dm_channels[user.id] = channel
        return channel

    def shares_guild(self, user_id: int, other_id: int) -> bool:
        return any(user_id in g.members and other_id in g.members for g in self.guilds.values())

    # ------------------------------------------------------------------ lookups (raising Discord's errors)

    def user(self, user_id: int) -> User:
        try:
            return self.users[int(user_id)]
        except (KeyError, ValueError):
            raise not_found("User", UNKNOWN_USER) from None

    def guild(self, guild_id: int | None) -> Guild:
        if guild_id is None:  # a DM channel's: it belongs to no guild
            raise not_found("Guild", UNKNOWN_GUILD)
        try:
            return self.guilds[int(guild_id)]
        except (KeyError, ValueError):
            raise not_found("Guild", UNKNOWN_GUILD) from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise not_found("Channel", UNKNOWN_CHANNEL) from None

    def member(self, guild_id: int | None, user_id: int) -> Member:
        try:
            return self.guild(guild_id).members[int(user_id)]
        except (KeyError, ValueError):
            raise not_found("Member", UNKNOWN_MEMBER) from None

    def message(self, channel_id: int, message_id: int) -> Message:
        starter = self.thread_starters.get(int(channel_id))
        if starter is not None and starter.id == int(message_id):
            return starter
        try:
            message = self.messages[int(message_id)]
        except (KeyError, ValueError):
            raise not_found("Message", UNKNOWN_MESSAGE) from None
        if message.channel_id != int(channel_id) or message.deleted:
            raise not_found("Message", UNKNOWN_MESSAGE)
        return message

    def role_by_name(self, guild_id: int, name: str) -> Role:
        for role in self.guild(guild_id).roles.values():
            if role.name == name:
                return role
        raise LookupError(f"no role {name!r} in guild {guild_id}")

    def channel_by_name(self, guild_id: int, name: str) -> Channel:
        for channel_id in self.guild(guild_id).channel_ids:
            channel = self.channels[channel_id]
            if channel.name == name:
                return channel
        raise LookupError(f"no channel or thread {name!r} in guild {guild_id}")

    def parent_channel(self, channel: Channel) -> Channel:
        if channel.is_thread and channel.parent_id is not None:
            return self.channel(channel.parent_id)
        return channel

    # ------------------------------------------------------------------ permissions

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guild(guild_id)
        if user_id == guild.owner_id:
            return Permissions.ALL
        member = guild.members.get(user_id)
        perms = guild.everyone.permissions
        for role_id in member.roles if member else []:
            perms |= guild.roles[role_id].permissions
        if perms & Permissions.ADMINISTRATOR:
            return Permissions.ALL
        return perms

    def permissions_in(self, channel_id: int, user_id: int) -> int:
        """Discord's algorithm: base permissions, then @everyone, role and member overwrites of the channel."""
        channel = self.parent_channel(self.channel(channel_id))
        if channel.is_dm:
            return DM_PERMISSIONS if user_id in (channel.recipient_id, self.bot.id) else 0
        assert channel.guild_id is not None
        guild = self.guild(channel.guild_id)
        perms = self.base_permissions(guild.id, user_id)
        if perms == Permissions.ALL:
            return perms
        member = guild.members.get(user_id)
        by_id = {o.id: o for o in channel.overwrites}
        everyone = by_id.get(guild.id)
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.roles if member else []:
            overwrite = by_id.get(role_id)
            if overwrite and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        own = by_id.get(user_id)
        if own and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        if not perms & Permissions.VIEW_CHANNEL:
            return 0
        if not perms & Permissions.SEND_MESSAGES:
            perms &= ~(
                Permissions.SEND_TTS_MESSAGES
                | Permissions.MENTION_EVERYONE
                | Permissions.EMBED_LINKS
                | Permissions.ATTACH_FILES
            )
        return perms

    def require(self, channel_id: int, user_id: int, needed: int) -> None:
        perms = self.permissions_in(channel_id, user_id)
        if not perms & Permissions.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if perms & needed != needed:
            raise ApiError(403, 50013, "Missing Permissions")

    # ------------------------------------------------------------------ payloads

    def member_payload(self, member: Member, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in member.roles],
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user(member.user_id).payload()
        return data

    def channel_payload(self, channel: Channel, *, for_user: int | None = None) -> dict[str, Any]:
        if channel.is_dm:
            assert channel.recipient_id is not None
            return {
                "id": str(channel.id),
                "type": CHANNEL_DM,
                "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
                "flags": 0,
                "recipients": [self.user(channel.recipient_id).payload()],
            }
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "parent_id": str(channel.parent_id) if channel.parent_id else None,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "rate_limit_per_user": channel.rate_limit_per_user,
            "flags": 0,
        }
        if channel.is_thread:
            data.update(
                {
                    "owner_id": str(channel.owner_id),
                    "message_count": channel.message_count,
                    "total_message_sent": channel.total_message_sent,
                    "member_count": min(len(channel.thread_members), 50),
                    "thread_metadata": {
                        "archived": channel.archived,
                        "auto_archive_duration": channel.auto_archive_duration,
                        "archive_timestamp": iso(channel.archive_timestamp or self.clock.now()),
                        "locked": channel.locked,
                        "create_timestamp": iso(channel.create_timestamp or self.clock.now()),
                    },
                }
            )
            if channel.type == CHANNEL_PRIVATE_THREAD:
                data["thread_metadata"]["invitable"] = channel.invitable
            if for_user is not None and for_user in channel.thread_members:
                data["member"] = {
                    "id": str(channel.id),
                    "user_id": str(for_user),
                    "join_timestamp": iso(channel.thread_members[for_user]),
                    "flags": 1,
                }
        else:
            data.update(
                {
                    "position": channel.position,
                    "permission_overwrites": [o.payload() for o in channel.overwrites],
                    "topic": channel.topic,
                    "nsfw": channel.nsfw,
                    "last_pin_timestamp": None,
                    "default_auto_archive_duration": 1440,
                    "default_thread_rate_limit_per_user": 0,
                }
            )
        return data

    def interaction_channel_payload(self, channel: Channel, user_id: int) -> dict[str, Any]:
        data = self.channel_payload(channel)
        data["permissions"] = str(self.permissions_in(channel.id, user_id))
        return data

    def guild_payload(self, guild: Guild, *, with_counts: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in sorted(guild.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "public_updates_channel_id": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
        }
        if with_counts:
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return data

    def guild_create_payload(self, guild: Guild, *, intents: int) -> dict[str, Any]:
        """GUILD_CREATE: the guild plus channels, active threads, members (see the note on members)."""
        from .core import Intents

        data = self.guild_payload(guild)
        channels = [self.channels[c] for c in guild.channel_ids]
        # Without GUILD_PRESENCES Discord only sends the bot's own member (and members in voice).
        if intents & Intents.GUILD_PRESENCES:
            members = list(guild.members.values())
        else:
            members = [m for m in guild.members.values() if m.user_id == self.bot.id]
        data.update(
            {
                "joined_at": iso(guild.joined_at or self.clock.now()),
                "large": len(guild.members) > 250,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [self.member_payload(m) for m in members],
                "channels": [
                    {k: v for k, v in self.channel_payload(c).items() if k != "guild_id"}
                    for c in channels
                    if not c.is_thread
                ],
                "threads": [
                    self.channel_payload(c, for_user=self.bot.id)
                    for c in channels
                    if c.is_thread and not c.archived and self.permissions_in(c.id, self.bot.id)
                ],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "activity_instances": [],
                "lazy": True,
                "application_command_counts": {},
            }
        )
        return data

    def message_payload(self, message: Message, *, gateway: bool = False) -> dict[str, Any]:
        author = self.user(message.author_id)
        data: dict[str, Any] = {
            "id": str(message.id),
            "type": message.type,
            "channel_id": str(message.channel_id),
            "author": author.payload(),
            "content": message.content,
            "timestamp": iso(message.timestamp),
            "edited_timestamp": iso(message.edited_timestamp) if message.edited_timestamp else None,
            "tts": message.tts,
            "mention_everyone": message.mention_everyone,
            "mentions": [self.user(u).payload() for u in message.mention_ids if u in self.users],
            "mention_roles": [str(r) for r in message.mention_role_ids],
            "attachments": [a.payload() for a in message.attachments],
            "embeds": message.embeds,
            "pinned": message.pinned,
            "flags": message.flags,
            "components": message.components,
        }
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id is not None:
            data["application_id"] = str(message.application_id)
        if message.interaction_metadata is not None:
            data["interaction_metadata"] = message.interaction_metadata
            legacy = {
                "id": message.interaction_metadata["id"],
                "type": message.interaction_metadata["type"],
                "name": message.interaction_metadata.get("name", ""),
                "user": message.interaction_metadata["user"],
            }
            data["interaction"] = legacy
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
            referenced = self.messages.get(int(message.message_reference.get("message_id") or 0))
            if message.type in (MESSAGE_REPLY, MESSAGE_THREAD_STARTER) and referenced is not None:
                if referenced.deleted:
                    data["referenced_message"] = None
                elif referenced is not message:
                    inner = self.message_payload(referenced)
                    inner.pop("referenced_message", None)
                    data["referenced_message"] = inner
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.position is not None:
            data["position"] = message.position
        if message.reactions:
            data["reactions"] = [
                {
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": self.bot.id in users,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": emoji_payload(emoji),
                }
                for emoji, users in message.reactions.items()
                if users
            ]
        if message.thread_id is not None and message.thread_id in self.channels:
            data["thread"] = self.channel_payload(self.channels[message.thread_id], for_user=self.bot.id)
        if gateway and message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            member = self.guild(message.guild_id).members.get(message.author_id)
            if member is not None and message.webhook_id is None:
                data["member"] = self.member_payload(member, with_user=False)
        return data

    # ------------------------------------------------------------------ messages

    def new_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> Attachment:
        attachment_id = self.ids.next()
        return Attachment(
            id=attachment_id,
            filename=filename,
            data=data,
            # Discord sniffs the type; discord.py labels every upload application/octet-stream.
            content_type=guess_content_type(filename, data) or content_type,
            url=f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}",
            description=description,
            ephemeral=ephemeral,
        )

    def build_attachments(
        self,
        channel_id: int,
        payload: dict[str, Any],
        files: list[UploadedFile],
        *,
        keep_from: list[Attachment] | None = None,
        ephemeral: bool = False,
    ) -> list[Attachment]:
        """Attachments of a create/edit body: ``attachments`` entries point at ``files[n]`` by id or keep old ones."""
        by_index = {f.index: f for f in files if f.index is not None}
        used: set[int] = set()
        result: list[Attachment] = []
        existing = {a.id: a for a in keep_from or []}
        for entry in payload.get("attachments") or []:
            raw_id = entry.get("id")
            try:
                number = int(raw_id)
            except (TypeError, ValueError):
                continue
            if number in existing:
                result.append(existing[number])
                continue
            upload = by_index.get(number)
            if upload is None:
                continue
            used.add(number)
            result.append(
                self.new_attachment(
                    channel_id,
                    entry.get("filename") or upload.filename,
                    upload.data,
                    content_type=upload.content_type,
                    description=entry.get("description"),
                    ephemeral=ephemeral,
                )
            )
        if "attachments" not in payload and keep_from:
            result = list(keep_from)
        for upload in files:
            if upload.index is not None and upload.index not in used:
                result.append(
                    self.new_attachment(
                        channel_id, upload.filename, upload.data, content_type=upload.content_type, ephemeral=ephemeral
                    )
                )
        return result

    def add_message(self, message: Message) -> Message:
        channel = self.channel(message.channel_id)
        self.messages[message.id] = message
        self.channel_messages.setdefault(channel.id, []).append(message.id)
        if not message.ephemeral:
            channel.last_message_id = message.id
        if channel.is_thread and message.type != MESSAGE_THREAD_STARTER:
            message.position = channel.total_message_sent
            channel.message_count += 1
            channel.total_message_sent += 1
        return message

    def new_message(
        self,
        channel_id: int,
        author_id: int,
        payload: dict[str, Any],
        files: list[UploadedFile] | None = None,
        **extra: Any,
    ) -> Message:
        channel = self.channel(channel_id)
        flags = int(payload.get("flags") or 0) | int(extra.pop("flags", 0))
        message = Message(
            id=extra.pop("id", None) or self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=str(payload.get("content") or ""),
            timestamp=self.clock.now(),
            embeds=normalise_embeds(payload.get("embeds")),
            components=number_components(payload.get("components") or []),
            flags=flags,
            tts=bool(payload.get("tts", False)),
            nonce=payload.get("nonce"),
            message_reference=reference_payload(payload.get("message_reference"), channel),
            **extra,
        )
        if message.message_reference is not None and message.type == MESSAGE_DEFAULT:
            message.type = MESSAGE_REPLY
        message.attachments = self.build_attachments(channel.id, payload, files or [], ephemeral=message.ephemeral)
        self._parse_mentions(message)
        return self.add_message(message)

    def edit_message(
        self, message: Message, payload: dict[str, Any], files: list[UploadedFile] | None = None
    ) -> Message:
        message.history.append(
            {
                "content": message.content,
                "embeds": message.embeds,
                "components": message.components,
                "attachments": [a.filename for a in message.attachments],
                "edited_timestamp": message.edited_timestamp,
            }
        )
        if "content" in payload:
            message.content = str(payload["content"] or "")
        if "embeds" in payload:
            message.embeds = normalise_embeds(payload["embeds"])
        if "components" in payload:
            message.components = number_components(payload["components"] or [])
        if "flags" in payload and payload["flags"] is not None:
            keep = message.flags & (FLAG_EPHEMERAL | FLAG_COMPONENTS_V2)
            message.flags = keep | (int(payload["flags"]) & ~FLAG_EPHEMERAL & ~FLAG_LOADING)
        if "attachments" in payload or files:
            message.attachments = self.build_attachments(
                message.channel_id, payload, files or [], keep_from=message.attachments, ephemeral=message.ephemeral
            )
        message.flags &= ~FLAG_LOADING
        message.edited_timestamp = self.clock.now()
        self._parse_mentions(message)
        return message

    def _parse_mentions(self, message: Message) -> None:
        message.mention_ids = [int(u) for u in re.findall(r"<@!?(\d+)>", message.content)]
        message.mention_role_ids = [int(r) for r in re.findall(r"<@&(\d+)>", message.content)]
        message.mention_everyone = "@everyone" in message.content or "@here" in message.content

    def channel_history(
        self, channel_id: int, *, include_ephemeral: bool = True, include_system: bool = True
    ) -> list[Message]:
        result = []
        starter = self.thread_starters.get(int(channel_id))
        if starter is not None and include_system:
            result.append(starter)
        for message_id in self.channel_messages.get(int(channel_id), []):
            message = self.messages[message_id]
            if message.deleted or (message.ephemeral and not include_ephemeral):
                continue
            if message.system and not include_system:
                continue
            result.append(message)
        return result

    # ------------------------------------------------------------------ commands

    def commands_for(self, guild_id: int | None) -> dict[tuple[str, int], Command]:
        if guild_id is None:
            return self.global_commands
        self.guild(guild_id)
        return self.guild_commands.setdefault(int(guild_id), {})

    def overwrite_commands(self, guild_id: int | None, payloads: list[dict[str, Any]]) -> list[Command]:
        """Bulk overwrite: commands with the same name and type keep their id (as on Discord)."""
        old = self.commands_for(guild_id)
        new: dict[tuple[str, int], Command] = {}
        for payload in payloads:
            key = (payload["name"], int(payload.get("type", 1)))
            previous = old.get(key)
            new[key] = Command(
                id=previous.id if previous else self.ids.next(),
                application_id=self.application_id,
                guild_id=guild_id,
                name=payload["name"],
                type=key[1],
                payload=dict(payload),
                version=self.ids.next(),
            )
        if guild_id is None:
            self.global_commands = new
        else:
            self.guild_commands[int(guild_id)] = new
        return list(new.values())

    def upsert_command(self, guild_id: int | None, payload: dict[str, Any]) -> tuple[Command, bool]:
        commands = self.commands_for(guild_id)
        key = (payload["name"], int(payload.get("type", 1)))
        previous = commands.get(key)
        command = Command(
            id=previous.id if previous else self.ids.next(),
            application_id=self.application_id,
            guild_id=guild_id,
            name=payload["name"],
            type=key[1],
            payload=dict(payload),
            version=self.ids.next(),
        )
        commands[key] = command
        return command, previous is None

    def find_command(self, guild_id: int | None, name: str, type: int = 1) -> Command:
        """A command as a Discord client would offer it: the guild's own first, then global ones."""
        if guild_id is not None:
            found = self.guild_commands.get(int(guild_id), {}).get((name, type))
            if found is not None:
                return found
        found = self.global_commands.get((name, type))
        if found is not None:
            return found
        registered = sorted(
            {k[0] for k in self.global_commands} | {k[0] for k in self.guild_commands.get(guild_id or 0, {})}
        )
        raise LookupError(
            f"the bot has not registered a command {name!r} (type {type}) for guild {guild_id} or globally; "
            f"registered: {registered or 'nothing — did the bot sync its command tree?'}"
        )


DM_PERMISSIONS = (
    Permissions.VIEW_CHANNEL
    | Permissions.SEND_MESSAGES
    | Permissions.EMBED_LINKS
    | Permissions.ATTACH_FILES
    | Permissions.READ_MESSAGE_HISTORY
    | Permissions.ADD_REACTIONS
)


def emoji_payload(emoji: str) -> dict[str, Any]:
    """``"✅"`` → ``{"id": None, "name": "✅"}``; ``"party:123"`` → ``{"id": "123", "name": "party"}``."""
    name, _, emoji_id = emoji.partition(":")
    return {"id": emoji_id or None, "name": name}


def guess_content_type(filename: str, data: bytes = b"") -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    lowered = filename.lower()
    for suffix, kind in (
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".gif", "image/gif"),
        (".txt", "text/plain; charset=utf-8"),
        (".log", "text/plain; charset=utf-8"),
        (".md", "text/markdown; charset=utf-8"),
        (".json", "application/json; charset=utf-8"),
        (".yaml", "application/x-yaml"),
        (".yml", "application/x-yaml"),
        (".csv", "text/csv; charset=utf-8"),
        (".pdf", "application/pdf"),
    ):
        if lowered.endswith(suffix):
            return kind
    return None


def normalise_embeds(embeds: Any) -> list[dict[str, Any]]:
    result = []
    for embed in embeds or []:
        embed = dict(embed)
        embed.setdefault("type", "rich")
        if "fields" in embed and not embed["fields"]:
            del embed["fields"]
        result.append(embed)
    return result


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Discord gives every component without an ``id`` a sequential one (unique within the message)."""
    components = [dict(c) for c in components]

    def copy_children(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        copied = []
        for item in items:
            item = dict(item)
            if isinstance(item.get("components"), list):
                item["components"] = copy_children(item["components"])
            for key in ("accessory", "component"):
                if isinstance(item.get(key), dict):
                    item[key] = copy_children([item[key]])[0]
            copied.append(item)
        return copied

    components = copy_children(components)
    taken = {c["id"] for c in walk_components(components) if isinstance(c.get("id"), int)}
    counter = 1
    for component in walk_components(components):
        if not isinstance(component.get("id"), int):
            while counter in taken:
                counter += 1
            component["id"] = counter
            taken.add(counter)
    return components


def reference_payload(reference: Any, channel: Channel) -> dict[str, Any] | None:
    if not isinstance(reference, dict) or not reference.get("message_id"):
        return None
    return {
        "type": reference.get("type", 0),
        "message_id": str(reference["message_id"]),
        "channel_id": str(reference.get("channel_id") or channel.id),
        "guild_id": str(reference.get("guild_id") or channel.guild_id),
    }
