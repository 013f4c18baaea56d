"""An unmodified discord.py ``commands.Bot`` against the emulator: the client connects and works as on Discord."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.discord_emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom, patch_discord_endpoints, running_client, seed_classroom
from tests.scheduling import SLEEPS_ON_REAL_TIMERS

# Handler exceptions are only logged by discord.py: make them fail the test.
pytestmark = pytest.mark.usefixtures("discord_client_errors")

TEAMS = ["blue", "red", "green", "yellow"]


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 3, 8, 2, 0, 0, 0)
    pixels = zlib.compress(
        b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\xff\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2
    )
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


class ReportModal(discord.ui.Modal, title="Incident report"):
    summary: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(label="Summary", max_length=100)
    details: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
        label="Details", style=discord.TextStyle.paragraph, required=False
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"report: {self.summary.value} / {self.details.value or '-'}")


class AckView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Acknowledge", custom_id="panel:ack", style=discord.ButtonStyle.primary)
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button[AckView]) -> None:
        button.disabled = True
        await interaction.response.edit_message(content=f"acknowledged by {interaction.user.name}", view=self)


class TriageView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.select(
        custom_id="triage:severity",
        options=[
            discord.SelectOption(label="Critical", value="critical"),
            discord.SelectOption(label="Warning", value="warning"),
        ],
    )
    async def severity(self, interaction: discord.Interaction, select: discord.ui.Select[TriageView]) -> None:
        await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: @original is the message with the menu
        await interaction.edit_original_response(content=f"severity {select.values[0]}", view=None)


class Probe:
    """What the bot saw, for the test to check."""

    def __init__(self) -> None:
        self.resumed = asyncio.Event()
        self.release = asyncio.Event()
        self.errors: list[BaseException] = []
        self.original: discord.InteractionMessage | None = None


def build_bot(guild_id: int, probe: Probe) -> commands.Bot:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents(guilds=True))
    guild = discord.Object(guild_id)

    @bot.tree.command(name="ping", description="Answer privately, then publicly", guild=guild)
    async def ping(interaction: discord.Interaction, text: str = "pong") -> None:
        await interaction.response.send_message(f"{text} (only you)", ephemeral=True)
        await interaction.followup.send(f"{interaction.user.name} pinged")

    team = app_commands.Group(name="team", description="Teams", guild_ids=[guild_id])

    @team.command(name="show", description="Show a team")
    async def team_show(interaction: discord.Interaction, name: str, verbose: bool = False) -> None:
        await interaction.response.send_message(f"team {name} verbose={verbose}")

    @team_show.autocomplete("name")
    async def team_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t.title(), value=t) for t in TEAMS if t.startswith(current)]

    bot.tree.add_command(team)

    @bot.tree.command(name="report", description="Open the incident form", guild=guild)
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ReportModal())

    @bot.tree.command(name="panel", description="A message with a button", guild=guild)
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("waiting for an instructor", view=AckView())

    @bot.tree.command(name="slow", description="Defers, then answers when released", guild=guild)
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await probe.release.wait()
        await interaction.followup.send("done")

    @bot.tree.command(name="late", description="Answers only when released", guild=guild)
    async def late(interaction: discord.Interaction) -> None:
        await probe.release.wait()
        try:
            await interaction.response.send_message("too late?")
        except discord.HTTPException as error:
            probe.errors.append(error)

    @bot.tree.command(name="graph", description="Answers with files", guild=guild)
    async def graph(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("graph", file=discord.File(io.BytesIO(tiny_png()), "graph.png"))
        probe.original = await interaction.original_response()
        await interaction.followup.send(
            "raw data", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "data.csv"), ephemeral=True
        )

    @bot.tree.command(name="temp", description="Answers, then deletes the answer", guild=guild)
    async def temp(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("temporary")
        await interaction.delete_original_response()

    @bot.event
    async def on_resumed() -> None:
        probe.resumed.set()

    async def setup_hook() -> None:
        await bot.tree.sync(guild=guild)

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest_asyncio.fixture
async def bot(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> AsyncIterator[commands.Bot]:
    client = build_bot(discord_classroom.id, probe)
    async with running_client(client, discord_emulator):
        yield client


def text_channel(bot: commands.Bot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_the_client_connects_and_caches_the_guild(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    guild = bot.get_guild(discord_classroom.id)
    assert guild is not None and guild.name == "kubecamp-class"
    assert {c.name for c in guild.text_channels} == {"alerts", "team-blue", "team-red"}
    assert {"@everyone", "instructor", "team-blue", "team-red"} <= {r.name for r in guild.roles}
    assert guild.me is not None and guild.me.id == discord_emulator.world.bot.id
    assert guild.member_count == 7
    team_blue = text_channel(bot, discord_classroom.channel("team-blue").id)
    assert not team_blue.permissions_for(guild.default_role).view_channel
    assert team_blue.permissions_for(guild.me).send_messages
    # The tree was synced to the guild; discord.py never asked for /gateway (non-sharded client).
    assert {c["name"] for c in discord_emulator.commands(discord_classroom.guild)} == {
        "ping",
        "team",
        "report",
        "panel",
        "slow",
        "late",
        "graph",
        "temp",
    }
    assert discord_emulator.requests_for("PUT /applications/{application_id}/guilds/{guild_id}/commands")
    assert not discord_emulator.requests_for("GET /gateway/bot")
    assert not discord_emulator.unhandled
    assert discord_emulator.gateway.connects[0][1] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}


async def test_a_slash_command_replies_ephemerally_and_follows_up(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    record = await discord_emulator.slash(discord_classroom.guild, "team-blue", "blue-1", "ping", {"text": "hello"})
    followups = await record.wait_followups(1)
    assert record.callback_type == 4
    assert record.original is not None and record.original.ephemeral
    assert record.original.content == "hello (only you)"
    assert followups[0].content == "blue-1 pinged" and not followups[0].ephemeral
    # Only the public followup is in the channel for everyone.
    channel = discord_classroom.channel("team-blue")
    assert [m.content for m in discord_emulator.messages(channel, include_ephemeral=False)] == ["blue-1 pinged"]


async def test_autocomplete_returns_the_bots_choices_and_the_subcommand_runs(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    choices = await discord_emulator.autocomplete(
        discord_classroom.guild, "alerts", "instructor", "team", {"name": "b"}, focused="name", subcommand="show"
    )
    assert choices == [{"name": "Blue", "value": "blue"}]
    record = await discord_emulator.slash(
        discord_classroom.guild, "alerts", "instructor", "team", {"name": "red", "verbose": True}, subcommand="show"
    )
    assert record.original is not None and record.original.content == "team red verbose=True"


async def test_a_modal_opens_and_its_submission_reaches_the_bot(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    opened = await discord_emulator.slash(discord_classroom.guild, "team-red", "red-2", "report")
    assert opened.callback_type == 9 and opened.modal is not None
    assert opened.modal["title"] == "Incident report"
    with pytest.raises(ValueError, match="required"):
        await discord_emulator.submit_modal(opened, {"Details": "no summary"})
    submitted = await discord_emulator.submit_modal(opened, {"Summary": "pods crash", "Details": "OOMKilled"})
    assert submitted.original is not None
    assert submitted.original.content == "report: pods crash / OOMKilled"


async def test_a_button_click_updates_the_message(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    record = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "panel")
    message = record.original
    assert message is not None and message.custom_ids() == ["panel:ack"]
    click = await discord_emulator.click(message, "panel:ack", "instructor")
    assert click.callback_type == 7
    assert message.content == "acknowledged by instructor"
    assert message.find_component("panel:ack") == {
        "type": 2,
        "id": 2,
        "style": 1,
        "label": "Acknowledge",
        "custom_id": "panel:ack",
        "disabled": True,
    }
    with pytest.raises(ValueError, match="disabled"):
        await discord_emulator.click(message, "panel:ack", "instructor")


async def test_messages_threads_edits_and_files(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    alerts = text_channel(bot, discord_classroom.alerts.id)
    embed = discord.Embed(title="KubePodCrashLooping", description="api-0 restarts", colour=0xE74C3C)
    embed.add_field(name="namespace", value="kubecamp-blue")
    sent = await alerts.send("new incident", embed=embed)
    thread = await sent.create_thread(name="incident-1")
    assert thread.id == sent.id  # Discord: a thread started from a message shares its id
    [starter] = discord_emulator.messages(thread, include_system=True)
    assert (starter.type, starter.id) == (21, thread.id) and discord_emulator.messages(thread) == []
    fetched = await thread.fetch_message(thread.id)  # discord.py's Thread.starter_message id is the thread's
    assert fetched.type is discord.MessageType.thread_starter_message
    assert fetched.reference is not None and fetched.reference.message_id == sent.id
    renamed = await thread.edit(name="incident-1 (CrashLoop)")
    archived = await renamed.edit(archived=True, locked=True)
    await sent.edit(content="incident resolved")
    png = tiny_png()
    with_file = await alerts.send("graph", file=discord.File(io.BytesIO(png), filename="graph.png"))

    stored = discord_emulator.message(sent.id)
    assert stored.content == "incident resolved" and stored.edited_timestamp is not None
    assert stored.history[0]["content"] == "new incident"
    assert stored.embeds[0]["title"] == "KubePodCrashLooping"
    assert stored.embeds[0]["fields"] == [{"name": "namespace", "value": "kubecamp-blue", "inline": True}]
    [emulated_thread] = discord_emulator.threads(discord_classroom.alerts)
    assert (emulated_thread.name, emulated_thread.archived, emulated_thread.locked) == (
        "incident-1 (CrashLoop)",
        True,
        True,
    )
    assert archived.archived and archived.locked
    # THREAD_UPDATE with archived=true removes the thread from the client's active-thread cache.
    await asyncio.sleep(0.05)
    assert bot.get_guild(discord_classroom.id).get_thread(thread.id) is None  # type: ignore[union-attr]

    attachment = discord_emulator.message(with_file.id).attachments[0]
    assert (attachment.filename, attachment.data, attachment.content_type) == ("graph.png", png, "image/png")
    assert with_file.attachments[0].width == 2 and with_file.attachments[0].height == 3
    assert await with_file.attachments[0].read() == png
    assert [m.content for m in discord_emulator.messages(discord_classroom.alerts)] == ["incident resolved", "graph"]


async def test_a_message_over_2000_characters_is_refused_like_discord(
    bot: commands.Bot, discord_classroom: Classroom
) -> None:
    alerts = text_channel(bot, discord_classroom.alerts.id)
    with pytest.raises(discord.HTTPException) as caught:
        await alerts.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "In content: Must be 2000 or fewer in length." in str(caught.value)
    with pytest.raises(discord.HTTPException) as caught:
        await alerts.send(embed=discord.Embed(title="t" * 257))
    assert "In embeds.0.title: Must be 256 or fewer in length." in str(caught.value)


async def test_a_429_burst_is_retried_transparently_and_the_message_arrives_once(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    fault = discord_emulator.inject(429, times=3, route="POST /channels/{channel_id}/messages", retry_after=0.05)
    alerts = text_channel(bot, discord_classroom.alerts.id)
    await alerts.send("after the burst")
    assert fault.remaining == 0
    assert [m.content for m in discord_emulator.messages(discord_classroom.alerts)] == ["after the burst"]
    attempts = discord_emulator.requests_for("POST /channels/{channel_id}/messages")
    assert [r.status for r in attempts] == [429, 429, 429, 200]
    assert discord_emulator.invalid_request_count == 3


@SLEEPS_ON_REAL_TIMERS
async def test_a_502_is_retried(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    discord_emulator.inject(502, times=1, route="POST /channels/{channel_id}/messages")
    alerts = text_channel(bot, discord_classroom.alerts.id)
    await alerts.send("through the bad gateway")  # discord.py sleeps 1 s before the retry
    assert [r.status for r in discord_emulator.requests_for("POST /channels/{channel_id}/messages")] == [502, 200]
    assert len(discord_emulator.messages(discord_classroom.alerts)) == 1


async def test_a_dropped_websocket_reconnects_and_resumes_with_replay(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> None:
    await discord_emulator.drop_gateway()
    # Happens while the bot is disconnected: buffered in the session, replayed on RESUME.
    added = discord_emulator.add_text_channel(discord_classroom.guild, "team-green")
    await asyncio.wait_for(probe.resumed.wait(), timeout=5)
    assert discord_emulator.gateway.resumes == 1 and discord_emulator.gateway.identifies == 1
    assert discord_emulator.gateway.connects[-1][0] == "/resume"  # the client used resume_gateway_url
    await discord_emulator.wait_until(lambda: bot.get_channel(added.id) is not None, what="the replayed channel")
    record = await discord_emulator.slash(discord_classroom.guild, "team-green", "instructor", "ping")
    assert record.acknowledged


async def test_an_answer_after_three_seconds_is_an_unknown_interaction(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> None:
    record = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "late", wait=False)
    discord_emulator.clock.advance(3.5)
    probe.release.set()
    await record.wait_until(lambda r: bool(r.rejected))
    assert record.rejected == [(404, {"message": "Unknown interaction", "code": 10062})]
    await discord_emulator.wait_until(lambda: bool(probe.errors))
    assert isinstance(probe.errors[0], discord.NotFound)


async def test_a_deferred_answer_fills_the_thinking_message(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> None:
    record = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "slow")
    assert record.deferred and record.original is not None and record.original.loading
    probe.release.set()
    message = await record.wait_original()
    assert message.content == "done" and not message.loading
    # The followup filled the "thinking" message: one message, which the followup request returned.
    assert [m.id for m in record.followups] == [message.id] and record.messages == [message]


async def test_a_zlib_stream_gateway_works_too(probe: Probe) -> None:
    async with DiscordEmulator(compress_gateway=True, heartbeat_interval=0.2) as emulator:
        room = seed_classroom(emulator)
        client = build_bot(room.id, probe)
        async with running_client(client, emulator):
            await discord_emulator_heartbeats(emulator, at_least=2)
            record = await emulator.slash(room.guild, "alerts", "instructor", "ping")
            assert record.acknowledged
        assert emulator.gateway.connections[0].compressor is not None


async def discord_emulator_heartbeats(emulator: DiscordEmulator, at_least: int) -> None:
    await emulator.wait_until(
        lambda: sum(c.heartbeats for c in emulator.gateway.connections) >= at_least, what="heartbeats"
    )


async def test_rest_reads_and_channel_edits_through_the_client(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    guild = await bot.fetch_guild(discord_classroom.id)
    assert guild.approximate_member_count == 7
    assert {c.name for c in await guild.fetch_channels()} == {"alerts", "team-blue", "team-red"}
    assert "instructor" in {r.name for r in await guild.fetch_roles()}
    member = await guild.fetch_member(discord_classroom.instructor.id)
    assert [r.name for r in member.roles if r.name != "@everyone"] == ["instructor"]
    channel = await bot.fetch_channel(discord_classroom.channel("team-red").id)
    assert isinstance(channel, discord.TextChannel) and channel.topic == "Team red"
    first = await channel.send("one")
    await channel.send("two")
    assert (await channel.fetch_message(first.id)).content == "one"
    assert [m.content async for m in channel.history(limit=10)] == ["two", "one"]
    await first.delete()
    assert [m.content for m in discord_emulator.messages(channel.id)] == ["two"]
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(first.id)
    await channel.edit(name="team-red-room")
    await discord_emulator.wait_until(
        lambda: text_channel(bot, channel.id).name == "team-red-room", what="CHANNEL_UPDATE"
    )
    assert not discord_emulator.unhandled


async def test_files_and_deletions_in_interaction_responses(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> None:
    record = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "graph")
    [followup] = await record.wait_followups(1)
    assert record.original is not None and record.original.attachments[0].data == tiny_png()
    assert probe.original is not None and probe.original.attachments[0].filename == "graph.png"
    assert followup.ephemeral and followup.attachments[0].data == b"a,b\n1,2\n"
    assert record.callback_files[0].filename == "graph.png"  # the callback itself was multipart
    temp = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "temp")
    await temp.wait_until(lambda r: r.original is None)
    assert [kind for kind, _ in temp.log] == ["callback", "delete_original"]


async def test_a_select_menu_on_a_channel_message_and_a_deferred_update(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    sent = await text_channel(bot, discord_classroom.alerts.id).send("triage", view=TriageView())
    message = discord_emulator.message(sent.id)
    with pytest.raises(ValueError, match="offers"):
        await discord_emulator.click(message, "triage:severity", "instructor", values=["info"])
    record = await discord_emulator.click(message, "triage:severity", "instructor", values=["critical"])
    assert record.callback_type == 6
    await record.wait_until(lambda r: message.content == "severity critical")
    assert message.components == [] and record.original is message


async def test_a_small_bucket_throttles_the_client_without_losing_messages(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    discord_emulator.set_rate_limit("POST /channels/{channel_id}/messages", 2, 0.3)
    alerts = text_channel(bot, discord_classroom.alerts.id)
    await asyncio.gather(*(alerts.send(f"m{i}") for i in range(5)))
    assert sorted(m.content for m in discord_emulator.messages(discord_classroom.alerts)) == [f"m{i}" for i in range(5)]
    statuses = [r.status for r in discord_emulator.requests_for("POST /channels/{channel_id}/messages")]
    assert statuses.count(200) == 5  # any 429 on the way was retried by discord.py


@SLEEPS_ON_REAL_TIMERS
async def test_reconnect_opcode_resumes_and_an_invalid_session_identifies_again(
    bot: commands.Bot, discord_emulator: DiscordEmulator, discord_classroom: Classroom, probe: Probe
) -> None:
    await discord_emulator.request_reconnect()
    await asyncio.wait_for(probe.resumed.wait(), timeout=5)
    assert discord_emulator.gateway.resumes == 1
    await discord_emulator.invalidate_session(resumable=False)
    # discord.py's before_identify_hook sleeps 5 s before every IDENTIFY but the first.
    await discord_emulator.wait_until(
        lambda: discord_emulator.gateway.identifies == 2 and discord_emulator.gateway.live,
        timeout=8,
        what="a new session",
    )
    await bot.wait_until_ready()
    record = await discord_emulator.slash(discord_classroom.guild, "alerts", "instructor", "ping")
    assert record.acknowledged


async def test_the_members_intent_chunks_the_guild(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True, members=True))
    async with running_client(client, discord_emulator):
        guild = client.get_guild(discord_classroom.id)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} >= {"instructor", "blue-1", "blue-2", "red-1", "red-2"}
    assert any(frame.get("op") == 8 for frame in discord_emulator.gateway.connections[0].received)


async def test_direct_messages_and_closed_dms(discord_emulator: DiscordEmulator, discord_classroom: Classroom) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True, dm_messages=True))
    received: list[discord.Message] = []
    client.event(_collect(received))
    shy = discord_emulator.add_user("shy", accepts_dms=False)
    discord_emulator.add_member(discord_classroom.guild, shy)
    async with running_client(client, discord_emulator):
        student = await client.fetch_user(discord_classroom.students["blue"][0].id)
        await student.send("your hint: check the image tag")
        assert [m.content for m in discord_emulator.dm_messages(student.id)] == ["your hint: check the image tag"]
        with pytest.raises(discord.Forbidden) as caught:
            await (await client.fetch_user(shy.id)).send("hello?")
        assert caught.value.code == 50007
        discord_emulator.post_dm(student.id, "thanks!")
        await discord_emulator.wait_until(lambda: any(m.content == "thanks!" for m in received), what="the DM")
        assert isinstance(received[-1].channel, discord.DMChannel)


def _collect(into: list[discord.Message]) -> Callable[[discord.Message], Awaitable[None]]:
    async def on_message(message: discord.Message) -> None:
        into.append(message)

    return on_message


async def test_reactions_both_ways(discord_emulator: DiscordEmulator, discord_classroom: Classroom) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True, guild_reactions=True))
    seen: list[discord.RawReactionActionEvent] = []

    @client.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        seen.append(payload)

    async with running_client(client, discord_emulator):
        channel = client.get_channel(discord_classroom.alerts.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("vote")
        await sent.add_reaction("✅")
        discord_emulator.react(sent.id, discord_classroom.instructor, "✅")
        await discord_emulator.wait_until(lambda: len(seen) == 2, what="two reactions")
        assert [(p.user_id, str(p.emoji)) for p in seen] == [
            (discord_emulator.world.bot.id, "✅"),
            (discord_classroom.instructor.id, "✅"),
        ]
        fetched = await channel.fetch_message(sent.id)
        assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("✅", 2, True)]


async def test_privileged_intents_must_be_enabled_for_the_application() -> None:
    async with DiscordEmulator(privileged_intents=0) as emulator:
        seed_classroom(emulator)
        client = discord.Client(intents=discord.Intents(guilds=True, members=True))
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_client(client, emulator):
                pass


async def test_a_wrong_token_is_a_login_failure(discord_emulator: DiscordEmulator) -> None:
    client = discord.Client(intents=discord.Intents(guilds=True))
    with patch_discord_endpoints(discord_emulator):
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
        await client.close()
    assert discord_emulator.invalid_request_count == 1


async def test_unanswered_heartbeats_make_the_client_reconnect_and_resume(probe: Probe) -> None:
    async with DiscordEmulator(heartbeat_interval=0.1) as emulator:
        room = seed_classroom(emulator)
        client = discord.Client(intents=discord.Intents(guilds=True), heartbeat_timeout=0.4)
        async with running_client(client, emulator):
            emulator.gateway.ack_heartbeats = False
            await emulator.wait_until(lambda: emulator.gateway.resumes >= 1, what="a resume after the zombie socket")
            emulator.gateway.ack_heartbeats = True
            await emulator.wait_until(lambda: bool(emulator.gateway.live), what="a live session")
            assert client.get_guild(room.id) is not None


async def test_the_rename_sub_limit_stops_a_third_rename_within_ten_minutes() -> None:
    async with DiscordEmulator(rename_limit=(2, 600.0)) as emulator:
        room = seed_classroom(emulator)
        client = discord.Client(intents=discord.Intents(guilds=True), max_ratelimit_timeout=30)
        async with running_client(client, emulator):
            channel = client.get_channel(room.alerts.id)
            assert isinstance(channel, discord.TextChannel)
            thread = await channel.create_thread(name="incident-7", type=discord.ChannelType.public_thread)
            thread = await thread.edit(name="incident-7 (firing)")
            thread = await thread.edit(name="incident-7 (acknowledged)")
            with pytest.raises(discord.RateLimited) as caught:
                await thread.edit(name="incident-7 (resolved)")
            assert caught.value.retry_after > 500
            await thread.edit(archived=True)  # not a rename: no sub-limit
            emulator.clock.advance(600)
            await thread.edit(name="incident-7 (resolved)", archived=False)
        assert emulator.world.channel(thread.id).name == "incident-7 (resolved)"
