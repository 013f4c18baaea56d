"""bot.discord.gate: with the commands synced globally, every server the bot is in offers them; the bot
answers only the class's. Another server's owner, with a role of their own named `instructor`, is refused
before any command runs, and autocomplete there offers nothing. A button press naming a custom id its message
does not carry, as a modified client can send, is refused too, even to an instructor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.discord.gate import FOREIGN_GUILD, NOT_ON_MESSAGE, InteractionGate
from tests.discord.live import Class, answer, deliver, incident_starter, open_class
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.state import Guild
from tests.emulators.kube import KubeCluster

REFUSED = "This bot answers only in the class's Discord server."
PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"


@pytest.fixture
async def synced_globally(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> AsyncIterator[Class]:
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder, global_sync=True) as live:
        yield live


def other_server(live: Class) -> Guild:
    """A server the bot was also invited to, whose owner made a role named `instructor` and took it."""
    discord = live.discord
    mallory = discord.add_user("mallory", global_name="Mallory")
    guild = discord.add_guild("mallory-server", owner=mallory)
    role = discord.add_role(guild, "instructor")
    discord.set_member_roles(guild, mallory, [role])
    discord.add_text_channel(guild, "general")
    return guild


async def test_another_servers_owner_is_refused(synced_globally: Class) -> None:
    live = synced_globally
    guild = other_server(live)

    announced = await live.discord.slash(
        guild, "general", "mallory", "admin", {"message": "free points"}, subcommand="announce"
    )
    assert announced.ephemeral and await answer(announced) == REFUSED
    listed = await live.discord.slash(guild, "general", "mallory", "team", None, subcommand="list")
    assert listed.ephemeral and await answer(listed) == REFUSED
    board = await live.discord.slash(guild, "general", "mallory", "scoreboard", None, subcommand="show")
    assert board.ephemeral and await answer(board) == REFUSED
    assert await live.app.outbox.drain(5)
    for team in ("blue", "red"):
        assert live.discord.messages(live.room.team_channels[team]) == []

    # In the class's server the same commands answer.
    shown = await live.discord.slash(live.room.guild, "alerts", "instructor", "team", None, subcommand="list")
    assert "blue" in await answer(shown)


async def test_autocomplete_in_another_server_offers_nothing(synced_globally: Class) -> None:
    live = synced_globally
    guild = other_server(live)

    def offered(where: object, channel: str, user: str) -> object:
        return live.discord.autocomplete(
            where, channel, user, "challenge", {"challenge": ""}, focused="challenge", subcommand="start"
        )

    assert await offered(guild, "general", "mallory") == []
    assert await offered(live.room.guild, "team-blue", "blue-1") != []


async def test_a_button_its_message_does_not_carry_is_refused(live_class: Class) -> None:
    live = live_class
    for payload in ("firing_one.json", "no_namespace.json"):
        assert await deliver(live, (PAYLOADS / payload).read_bytes()) == 200
    own, own_id = await incident_starter(live, live.room.team_channels["blue"], "KubecampImagePullFailing")
    _, node_id = await incident_starter(live, live.room.alerts, "KubeNodeNotReady")

    for user in ("blue-1", "instructor"):
        forged = await live.discord.click(own, f"kubecamp:incident:{node_id}:ack", user, forged=True)
        assert forged.ephemeral and forged.text() == "That button is not on this message, so nothing was done."
    for incident_id in (own_id, node_id):
        incident = await live.app.store.incidents.get(incident_id)
        assert incident is not None and incident.acknowledged_by is None


def test_what_the_emulator_cannot_send_is_refused_too() -> None:
    """A direct message and a modal submitted from another guild (the emulator sends interactions in guilds,
    and a modal only after a command the gate let through), on INTERACTION_CREATE payloads as Discord sends them."""
    gate = InteractionGate(guild_ids=[123456789012345678], lang="en")
    dm = {"type": 2, "channel_id": "9", "user": {"id": "7"}, "data": {"name": "scoreboard", "type": 1}}
    assert gate.refusal(dm) == FOREIGN_GUILD
    modal = {"type": 5, "data": {"custom_id": "submit", "components": []}}
    assert gate.refusal({**modal, "guild_id": "223456789012345678"}) == FOREIGN_GUILD
    assert gate.refusal({**modal, "guild_id": "123456789012345678"}) is None
    button = {"type": 2, "style": 1, "custom_id": "kubecamp:incident:1:ack"}
    message = {"id": "5", "components": [{"type": 17, "components": [{"type": 1, "components": [button]}]}]}
    click = {"type": 3, "guild_id": "123456789012345678", "message": message}
    assert gate.refusal({**click, "data": {"custom_id": "kubecamp:incident:1:ack", "component_type": 2}}) is None
    forged = {**click, "data": {"custom_id": "kubecamp:incident:2:ack", "component_type": 2}}
    assert gate.refusal(forged) == NOT_ON_MESSAGE
