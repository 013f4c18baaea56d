"""DiscordTransport and the outbox against the Discord emulator, with a real discord.py client logged in.

What discord.py does itself (a 429 with Via, 500/502/504 retried) and what it lets through (a 429
from Cloudflare, 503, 403, 404) meet the outbox here as they would in production.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.discord.transport import DiscordTransport
from bot.limits import within_limits
from bot.outbox import Outbox, OutboxStore, TransportRejected, TransportRetry, nonce_for
from bot.store import Store, Team
from tests.discord_emulator.core import Permissions
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom, running_client
from tests.discord_emulator.state import Overwrite
from tests.scheduling import SLEEPS_ON_REAL_TIMERS

from .conftest import OutboxFactory

pytestmark = [pytest.mark.every_database, SLEEPS_ON_REAL_TIMERS]

DRAIN = 15.0
MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
async def client(discord_emulator: DiscordEmulator) -> AsyncIterator[discord.Client]:
    bot = discord.Client(intents=discord.Intents(guilds=True))
    async with running_client(bot, discord_emulator):
        yield bot


@pytest.fixture
def transport(client: discord.Client) -> DiscordTransport:
    return DiscordTransport(client)


@pytest.fixture
async def outbox(make_outbox: OutboxFactory, transport: DiscordTransport) -> Outbox:
    outbox = make_outbox(transport=transport)
    outbox.start()
    return outbox


def _texts(emulator: DiscordEmulator, channel: object) -> list[str]:
    return [m.content for m in emulator.messages(channel)]


async def test_send_message_carries_the_nonce(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    alerts = discord_classroom.alerts
    channel_id, message_id = await transport.send_message(alerts.id, {"content": "hello"}, nonce=nonce_for("k"))
    assert channel_id == alerts.id
    [request] = discord_emulator.requests_for(MESSAGES)
    body = request.json
    assert (body["nonce"], body["enforce_nonce"]) == (nonce_for("k"), True)
    assert discord_emulator.message(message_id).content == "hello"


async def test_messages_threads_edits_and_archiving_through_the_outbox(
    outbox: Outbox, store: Store, team: Team, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    channel = discord_classroom.team_channels["blue"]
    now = datetime.now(UTC)
    run = await store.runs.create(team.id, 2, now, now + timedelta(hours=1), ["s1"], {})
    briefing = "\n".join(f"- step {i}: " + "kubectl get pods " * 8 for i in range(40))  # over 2000
    await outbox.enqueue(
        dedupe_key="briefing",
        kind="thread",
        channel_id=channel.id,
        run_id=run.id,
        payload={"name": "Challenge 2 · " + "Blue Whales " * 20, "message": {"content": briefing}},
    )
    embed = {"title": "Results", "fields": [{"name": f"check {i}", "value": "✅ " * 200} for i in range(30)]}
    await outbox.enqueue(dedupe_key="results", run_id=run.id, payload={"embeds": [embed]})
    await outbox.enqueue(dedupe_key="briefing:edit", kind="edit", edit_of="briefing", payload={"content": "(ended)"})
    await outbox.enqueue(dedupe_key="archive", kind="thread_update", run_id=run.id, payload={"archived": True})
    assert await outbox.drain(DRAIN)

    [thread] = discord_emulator.threads(channel)
    assert len(thread.name) == 100 and thread.name.endswith("…")
    assert thread.archived
    stored = await store.runs.get(run.id)
    assert stored is not None and stored.thread_id == thread.id
    [starter] = discord_emulator.messages(channel)
    assert starter.content == "(ended)" and starter.history[0]["content"].endswith("\n(1/4)")
    in_thread = discord_emulator.messages(thread)
    assert [m.content.rsplit("\n", 1)[-1] for m in in_thread[:3]] == ["(2/4)", "(3/4)", "(4/4)"]
    [results] = [m for m in in_thread if m.embeds]
    assert len(results.embeds[0]["fields"]) == 25
    assert results.embeds[0]["fields"][-1]["name"] == "… 6 more"
    for request in discord_emulator.requests_for(MESSAGES):
        assert within_limits(request.json) == []


async def test_a_429_with_via_is_waited_out_by_discord_py(
    outbox: Outbox, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    fault = discord_emulator.inject(429, route=MESSAGES, retry_after=0.1)
    await outbox.enqueue(dedupe_key="k", channel_id=discord_classroom.alerts.id, payload={"content": "x"})
    assert await outbox.drain(DRAIN)
    assert len(fault.hits) == 1
    assert _texts(discord_emulator, discord_classroom.alerts) == ["x"]
    assert outbox.stats.retries == 0  # discord.py retried it itself


async def test_a_cloudflare_429_and_503s_are_retried_by_the_outbox(
    outbox: Outbox, outbox_store: OutboxStore, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    discord_emulator.inject(429, route=MESSAGES, cloudflare=True, retry_after=0.05)
    discord_emulator.inject(503, route=MESSAGES, times=2)
    await outbox.enqueue(dedupe_key="k", channel_id=discord_classroom.alerts.id, payload={"content": "x"})
    assert await outbox.drain(DRAIN)
    assert _texts(discord_emulator, discord_classroom.alerts) == ["x"]
    entry = await outbox_store.get("k")
    assert entry is not None and entry.attempts == 4
    assert outbox.stats.retries == 3


async def test_a_500_is_retried_by_discord_py(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    discord_emulator.inject(500, route=MESSAGES)
    await transport.send_message(discord_classroom.alerts.id, {"content": "x"}, nonce=nonce_for("k"))
    assert _texts(discord_emulator, discord_classroom.alerts) == ["x"]
    assert len(discord_emulator.requests_for(MESSAGES)) == 2


async def test_refusals_are_kept_with_a_readable_reason_and_others_go_on(
    outbox: Outbox, outbox_store: OutboxStore, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    room = discord_classroom
    hidden = discord_emulator.add_text_channel(
        room.guild, "hidden", overwrites=[Overwrite(room.bot_role.id, 0, deny=Permissions.VIEW_CHANNEL)]
    )
    await outbox.enqueue(dedupe_key="hidden", channel_id=hidden.id, payload={"content": "x"})
    await outbox.enqueue(dedupe_key="gone", channel_id=424242, payload={"content": "x"})
    await outbox.enqueue(dedupe_key="alerts", channel_id=room.alerts.id, payload={"content": "ok"})
    assert await outbox.drain(DRAIN)
    assert _texts(discord_emulator, room.alerts) == ["ok"]
    failed = {e.dedupe_key: e.last_error or "" for e in await outbox_store.failed()}
    assert failed["hidden"].startswith(f"missing permission to post in channel {hidden.id}: 403")
    assert failed["gone"].startswith("unknown channel 424242")


async def test_a_thread_created_but_not_answered_is_found_again(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    """The thread was created, the answer lost (500): discord.py retries, Discord says 160004."""
    channel = discord_classroom.team_channels["red"]
    discord_emulator.inject(500, route="POST /channels/{channel_id}/messages/{message_id}/threads", after=True)
    thread_id, message_id = await transport.create_thread(
        channel.id, "run 3", {"content": "briefing"}, nonce=nonce_for("t")
    )
    [thread] = discord_emulator.threads(channel)
    assert thread.id == thread_id
    assert discord_emulator.message(message_id).thread_id == thread_id


@pytest.mark.parametrize("archived_by", ["lost-answer", "discord"])
async def test_archiving_a_thread_that_is_archived_already_renames_it_once(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom, archived_by: str
) -> None:
    """Discord refuses to touch an archived thread (400, 50083): either the archive was done and its answer
    lost (500 after, discord.py retries), or Discord auto-archived the thread before the bot renamed it."""
    channel = discord_classroom.team_channels["red"]
    thread_id, _ = await transport.create_thread(channel.id, "🔥 #1", {"content": "x"}, nonce=nonce_for("a"))
    if archived_by == "discord":
        discord_emulator.update_thread(thread_id, archived=True)
    else:
        discord_emulator.inject(500, route="PATCH /channels/{channel_id}", after=True)
    await transport.update_thread(thread_id, name="✅ #1", archived=True)
    [thread] = discord_emulator.threads(channel)
    assert (thread.name, thread.archived) == ("✅ #1", True)
    # Unarchived to be renamed only when the name is not the one asked for yet.
    patches = discord_emulator.requests_for("PATCH /channels/{channel_id}")
    unarchiving = [r.json for r in patches if r.json.get("archived") is False]
    assert unarchiving == ([] if archived_by == "lost-answer" else [{"name": "✅ #1", "archived": False}])


async def test_files_go_as_multipart_with_the_nonce(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    alerts = discord_classroom.alerts.id
    chart = bytes(range(256))
    payload = {
        "content": "the report",
        "embeds": [{"title": "Scores", "color": 0x3498DB}],
        "allowed_mentions": {"parse": []},
        "files": [
            {"filename": "report.txt", "text": "모두 통과\n"},
            {"filename": "chart.png", "base64": base64.b64encode(chart).decode(), "description": "points by team"},
        ],
    }
    # discord.py tries a 500 again by itself: the files go again from their start.
    discord_emulator.inject(500, times=1, route=MESSAGES)
    _, message_id = await transport.send_message(alerts, payload, nonce=nonce_for("f"))
    assert await transport.send_message(alerts, payload, nonce=nonce_for("f")) == (alerts, message_id)

    message = discord_emulator.message(message_id)
    assert [(a.filename, a.data, a.description) for a in message.attachments] == [
        ("report.txt", "모두 통과\n".encode(), None),
        ("chart.png", chart, "points by team"),
    ]
    assert (message.content, message.embeds[0]["title"]) == ("the report", "Scores")
    assert len(discord_emulator.messages(alerts)) == 1
    requests = discord_emulator.requests_for(MESSAGES)
    assert [r.status for r in requests] == [500, 200, 200]
    for request in requests:
        assert (request.json["nonce"], request.json["enforce_nonce"]) == (nonce_for("f"), True)
        assert request.json["attachments"] == [
            {"id": 0, "filename": "report.txt"},
            {"id": 1, "filename": "chart.png", "description": "points by team"},
        ]
        assert request.json["allowed_mentions"] == {"parse": []}
        assert [(f.field, f.data) for f in request.files] == [("files[0]", "모두 통과\n".encode()), ("files[1]", chart)]


async def test_an_edit_with_files_replaces_the_attachments_and_one_without_keeps_them(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    alerts = discord_classroom.alerts.id
    first = {"content": "v1", "files": [{"filename": "v1.txt", "text": "1"}]}
    _, message_id = await transport.send_message(alerts, first, nonce=nonce_for("e"))
    await transport.edit_message(alerts, message_id, {"content": "v2"})
    assert [a.filename for a in discord_emulator.message(message_id).attachments] == ["v1.txt"]
    await transport.edit_message(alerts, message_id, {"files": [{"filename": "v3.txt", "text": "3"}]})
    message = discord_emulator.message(message_id)
    assert (message.content, [(a.filename, a.data) for a in message.attachments]) == ("v2", [("v3.txt", b"3")])
    edits = discord_emulator.requests_for("PATCH /channels/{channel_id}/messages/{message_id}")
    assert ["nonce" in r.json or "enforce_nonce" in r.json for r in edits] == [False, False]


async def test_a_client_not_logged_in_asks_to_retry() -> None:
    transport = DiscordTransport()
    with pytest.raises(TransportRetry, match="not logged in"):
        await transport.send_message(1, {"content": "x"}, nonce="n")
    transport.bind(discord.Client(intents=discord.Intents.none()))
    with pytest.raises(TransportRetry, match="not logged in"):
        await transport.update_thread(1, archived=True)


async def test_a_crash_after_discord_accepted_does_not_post_twice(
    make_outbox: OutboxFactory,
    outbox_store: OutboxStore,
    transport: DiscordTransport,
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
) -> None:
    """Discord (the emulator) created the message, the answer is lost and the process dies before the
    store records it. The next process (a new client) sends it again with the same nonce: one message."""
    alerts = discord_classroom.alerts
    discord_emulator.inject(503, route=MESSAGES, after=True)  # performed, then the answer is lost
    first = make_outbox(transport=transport)
    first.start()
    await first.enqueue(dedupe_key="incident:1", channel_id=alerts.id, payload={"content": "🔥 node down"})
    await discord_emulator.wait_until(lambda: len(discord_emulator.messages(alerts)) == 1, 10, "the message")
    await first.aclose(grace=0)

    restarted = discord.Client(intents=discord.Intents(guilds=True))
    async with running_client(restarted, discord_emulator):
        second = make_outbox(transport=DiscordTransport(restarted))
        second.start()
        assert await second.drain(DRAIN)
        await second.aclose()
    requests = [r for r in discord_emulator.requests_for(MESSAGES) if r.params["channel_id"] == str(alerts.id)]
    assert len(requests) >= 2
    assert {r.json["nonce"] for r in requests} == {nonce_for("incident:1", 0)}
    assert _texts(discord_emulator, alerts) == ["🔥 node down"]
    entry = await outbox_store.get("incident:1")
    assert entry is not None and entry.sent_at is not None


async def test_a_rejected_thread_start_names_the_missing_permission(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    room = discord_classroom
    no_threads = discord_emulator.add_text_channel(
        room.guild,
        "no-threads",
        overwrites=[
            Overwrite(
                room.bot_role.id,
                0,
                allow=Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES,
                deny=Permissions.CREATE_PUBLIC_THREADS,
            )
        ],
    )
    with pytest.raises(TransportRejected, match=f"missing permission to start a thread in channel {no_threads.id}"):
        await transport.create_thread(no_threads.id, "t", {"content": "x"}, nonce=nonce_for("nt"))


async def test_the_same_nonce_twice_is_one_message(
    transport: DiscordTransport, discord_emulator: DiscordEmulator, discord_classroom: Classroom
) -> None:
    alerts = discord_classroom.alerts
    first = await transport.send_message(alerts.id, {"content": "once"}, nonce=nonce_for("n"))
    second = await transport.send_message(alerts.id, {"content": "once"}, nonce=nonce_for("n"))
    assert first == second
    assert _texts(discord_emulator, alerts) == ["once"]
