"""pytest plugin: ``pytest_plugins = ["tests.discord_emulator.fixtures"]``.

Fixtures (function-scoped, async):

* ``discord_emulator`` — a started ``DiscordEmulator`` holding the guild "kubecamp-class" (see
  ``seed_classroom``); ``discord_emulator.classroom`` names everything in it;
* ``discord_classroom`` — that ``Classroom``;
* ``discord_endpoints`` — ``discord_emulator`` with discord.py's REST base and gateway pointed at it for the
  test (restored afterwards);
* ``discord_client_errors`` (sync) — fails the test if discord.py logged an error (exceptions in handlers).

Helpers: ``patch_discord_endpoints(emulator)`` (a context manager doing what ``discord_endpoints`` does) and
``running_client(client, emulator)`` (login + connect as a task + wait for ready; closes everything after).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from .core import Permissions
from .emulator import DiscordEmulator
from .state import Channel, Guild, Overwrite, Role, User

if TYPE_CHECKING:
    import discord

GUILD_NAME = "kubecamp-class"
TEAMS = ("blue", "red")

INSTRUCTOR_PERMISSIONS = (
    Permissions.KICK_MEMBERS
    | Permissions.MANAGE_CHANNELS
    | Permissions.MANAGE_GUILD
    | Permissions.MANAGE_MESSAGES
    | Permissions.MENTION_EVERYONE
    | Permissions.MANAGE_ROLES
    | Permissions.MANAGE_THREADS
    | Permissions.MODERATE_MEMBERS
    | Permissions.CREATE_PRIVATE_THREADS
)


@dataclass
class Classroom:
    """The standard test guild: an instructor, two students per team, one channel per team plus #alerts.

    Team channels are private to their team (and the instructor and the bot); in #alerts everybody reads and
    only the instructor and the bot write. The server owner is a separate user (``owner``), so the
    instructor's permissions come from the "instructor" role alone.
    """

    guild: Guild
    owner: User
    everyone: Role
    bot_role: Role
    instructor_role: Role
    team_roles: dict[str, Role]
    alerts: Channel
    team_channels: dict[str, Channel]
    instructor: User
    students: dict[str, list[User]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.guild.id

    def role(self, name: str) -> Role:
        """``"instructor"``, ``"team-blue"``, ``"team-red"``, ``"@everyone"``."""
        for role in [self.everyone, self.bot_role, self.instructor_role, *self.team_roles.values()]:
            if role.name == name:
                return role
        raise LookupError(name)

    def channel(self, name: str) -> Channel:
        """``"alerts"``, ``"team-blue"``, ``"team-red"``."""
        for channel in [self.alerts, *self.team_channels.values()]:
            if channel.name == name:
                return channel
        raise LookupError(name)

    def team_of(self, user: User) -> str:
        for team, members in self.students.items():
            if user in members:
                return team
        raise LookupError(user.username)


def seed_classroom(emulator: DiscordEmulator, name: str = GUILD_NAME) -> Classroom:
    world = emulator.world
    owner = emulator.add_user("server-owner", global_name="Server Owner")
    instructor = emulator.add_user("instructor", global_name="Instructor Kim")
    guild = emulator.add_guild(name, owner=owner)
    everyone = guild.everyone
    bot_role = next(r for r in guild.roles.values() if r.bot_id == world.bot.id)
    instructor_role = emulator.add_role(guild, "instructor", permissions=INSTRUCTOR_PERMISSIONS, color=0xE67E22)
    team_roles = {
        team: emulator.add_role(guild, f"team-{team}", color=0x3498DB if team == "blue" else 0xE74C3C) for team in TEAMS
    }
    # The bot's managed role sits above everything it may hand out, as after a normal invite.
    bot_role.position = max(r.position for r in guild.roles.values()) + 1
    emulator.add_member(guild, instructor, roles=[instructor_role])
    students: dict[str, list[User]] = {}
    for team in TEAMS:
        students[team] = []
        for number in (1, 2):
            user = emulator.add_user(f"{team}-{number}", global_name=f"{team.title()} Student {number}")
            emulator.add_member(guild, user, roles=[team_roles[team]])
            students[team].append(user)
    view = Permissions.VIEW_CHANNEL
    send = Permissions.SEND_MESSAGES
    alerts = emulator.add_text_channel(
        guild,
        "alerts",
        topic="Alertmanager incidents",
        overwrites=[
            Overwrite(everyone.id, 0, deny=send),
            Overwrite(instructor_role.id, 0, allow=send),
            Overwrite(bot_role.id, 0, allow=view | send),
        ],
    )
    team_channels = {
        team: emulator.add_text_channel(
            guild,
            f"team-{team}",
            topic=f"Team {team}",
            overwrites=[
                Overwrite(everyone.id, 0, deny=view),
                Overwrite(team_roles[team].id, 0, allow=view),
                Overwrite(instructor_role.id, 0, allow=view),
                Overwrite(bot_role.id, 0, allow=view),
            ],
        )
        for team in TEAMS
    }
    classroom = Classroom(
        guild=guild,
        owner=owner,
        everyone=everyone,
        bot_role=bot_role,
        instructor_role=instructor_role,
        team_roles=team_roles,
        alerts=alerts,
        team_channels=team_channels,
        instructor=instructor,
        students=students,
    )
    emulator.classroom = classroom
    return classroom


@contextlib.contextmanager
def patch_discord_endpoints(emulator: DiscordEmulator) -> Iterator[DiscordEmulator]:
    """Point discord.py's REST base (``Route.BASE``) and gateway (``DEFAULT_GATEWAY``) at the emulator."""
    import discord.gateway
    import discord.http
    import yarl

    route = discord.http.Route
    socket = discord.gateway.DiscordWebSocket
    old_base, old_gateway = route.BASE, socket.DEFAULT_GATEWAY
    route.BASE = emulator.api_url
    socket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    try:
        yield emulator
    finally:
        route.BASE = old_base
        socket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_client(
    client: discord.Client,
    emulator: DiscordEmulator,
    *,
    ready_timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
    settle_timeout: float = 1.0,
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in against the emulator, run ``client.connect()`` as a task and wait for on_ready.

    On exit it gives handlers still at work up to ``settle_timeout`` seconds, stops the client's views (discord.py's
    ``close()`` leaves their timeout tasks running), closes the client, awaits the connect task and cancels
    handlers that are still blocked. ``guild_ready_timeout`` shortens discord.py's wait after
    the last GUILD_CREATE before on_ready (2 s by default; ``None`` keeps the client's own setting).
    """
    before = set(asyncio.all_tasks())
    with patch_discord_endpoints(emulator):
        if guild_ready_timeout is not None:
            client._connection.guild_ready_timeout = guild_ready_timeout
        task: asyncio.Task[None] | None = None
        try:
            await client.login(emulator.token)
            task = asyncio.create_task(client.connect(reconnect=True), name="discord-client-connect")
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
                if task in done:
                    task.result()
                raise AssertionError(f"the client was not ready within {ready_timeout}s.\n{emulator.diagnostics()}")
            yield client
        finally:
            await _settle(before, settle_timeout)
            _stop_views(client)
            await client.close()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, timeout=5.0)
            await _cancel_client_tasks(before)
            # A READY after a re-identify starts a wait for GUILD_CREATEs that close() does not cancel.
            ready_task = getattr(client._connection, "_ready_task", None)
            if ready_task is not None and not ready_task.done():
                ready_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready_task


def _stop_views(client: discord.Client) -> None:
    """discord.py's ``close()`` keeps views and their timeout tasks alive; a test must not leak them."""
    store = client._connection._view_store
    views = {id(item.view): item.view for items in store._views.values() for item in items.values() if item.view}
    views.update({id(v): v for v in store._synced_message_views.values()})
    views.update({id(m): m for m in store._modals.values()})
    for view in views.values():
        view.stop()


CLIENT_TASK_PREFIXES = ("discord.py: ", "CommandTree-invoker", "discord-ui-")


def _client_tasks(before: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Event handlers, command invocations and view callbacks the client started since ``before``."""
    return [
        t
        for t in asyncio.all_tasks() - before
        if t is not asyncio.current_task() and not t.done() and t.get_name().startswith(CLIENT_TASK_PREFIXES)
    ]


async def _settle(before: set[asyncio.Task[Any]], grace: float) -> None:
    """Let handlers that are still answering (a followup after the acknowledgement) finish before closing."""
    pending = _client_tasks(before)
    if pending and grace > 0:
        await asyncio.wait(pending, timeout=grace)


async def _cancel_client_tasks(before: set[asyncio.Task[Any]]) -> None:
    """Handlers still running when the test ends (blocked on something the test never released)."""
    pending = _client_tasks(before)
    for leftover in pending:
        leftover.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


@pytest.fixture
def discord_client_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Fails the test if discord.py logged an error: exceptions in event handlers, commands and views are only
    logged by the client, so a test would otherwise pass over them. Yields a list: append a substring of an
    error you expect (``discord_client_errors.append("kaboom")``) to let matching records through."""
    expected: list[str] = []
    yield expected
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [r for r in records if r.levelno >= logging.ERROR and r.name.startswith("discord")]
    texts = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in errors]
    unexpected = [t for t in texts if not any(e in t for e in expected)]
    if unexpected:
        pytest.fail(f"discord.py logged {len(unexpected)} error(s):\n" + "\n".join(unexpected))


@pytest_asyncio.fixture
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(heartbeat_interval=5.0) as emulator:
        seed_classroom(emulator)
        yield emulator


@pytest_asyncio.fixture
async def discord_classroom(discord_emulator: DiscordEmulator) -> Classroom:
    classroom: Classroom = discord_emulator.classroom
    return classroom


@pytest_asyncio.fixture
async def discord_endpoints(discord_emulator: DiscordEmulator) -> AsyncIterator[DiscordEmulator]:
    with patch_discord_endpoints(discord_emulator):
        yield discord_emulator


__all__ = [
    "GUILD_NAME",
    "Classroom",
    "discord_classroom",
    "discord_client_errors",
    "discord_emulator",
    "discord_endpoints",
    "patch_discord_endpoints",
    "running_client",
    "seed_classroom",
]
