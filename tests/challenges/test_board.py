"""The instructors' board: `/admin board 2` posts one message in the instructors' channel that the bot keeps
current by editing it, as teams start and solve (through the simulator and verification), a stuck marker once a
team has not verified for the set minutes, the same message after a restart, edits within Discord's rate limits;
and a board of 30 teams within one message's limits.

The real App against the Discord emulator and the emulated cluster (tests/discord/live.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.challenges.board import WATCH_SECONDS, BoardService
from bot.challenges.render_board import BoardLine, board
from bot.limits import within_limits
from bot.outbox import Outbox, OutboxStore
from bot.store import Store
from bot.values import TEAM_NAME_MAX
from tests.challenges.test_announcements import fix
from tests.discord.live import Class, answer, open_class, quiet, slash
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.state import Channel, Message
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"


def the_board(live: Class, channel: Channel) -> Message:
    (message,) = live.discord.messages(channel)
    return message


def lines(message: Message) -> list[str]:
    return str(message.embeds[0]["description"]).splitlines()


#: The boards' look at the class, a tenth of the bot's: the test waits for three redraws, not fifteen seconds.
WATCH = WATCH_SECONDS / 10


async def shows(live: Class, channel: Channel, team: str, start: str, what: str) -> str:
    """Wait until the board's line of `team` starts with `start`; that line."""

    def line() -> str | None:
        found = [x for x in lines(the_board(live, channel)) if f"**{team}**" in x]
        return found[0] if found and found[0].startswith(start) else None

    return str(await live.discord.wait_until(line, 20, what))


async def test_the_board_follows_the_class_and_survives_a_restart(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    room = discord_classroom
    channel = discord_emulator.add_text_channel(room.guild, "instructors")
    discord_emulator.set_rate_limit(EDITS, 5, 5.0)  # Discord's own for a channel's message edits
    async with open_class(
        discord_emulator,
        room,
        kube_cluster,
        class_folder,
        instructors_channel=channel.id,
        board_stuck_minutes=15,
        board_watch_interval=WATCH,
    ) as live:
        posted = await slash(live, "instructor", "alerts", "admin", "board", challenge=2)
        assert await answer(posted) == f"The board of Challenge 2 goes to <#{channel.id}>; the bot keeps it current."
        await live.discord.wait_until(lambda: live.discord.messages(channel), 10, "the board")
        message = the_board(live, channel)
        assert message.embeds[0]["title"] == "📋 Challenge 2 board — Deployment disaster"
        assert lines(message) == ["⬜ **blue** not started", "⬜ **red** not started"]
        assert "1. Image deployment failure" in message.embeds[0]["footer"]["text"]

        await live.app.flow.start("blue", 2)
        line = await shows(
            live, channel, "blue", "▶️ **blue** ⏳⏳⏳⏳ · 0 min in · 💡 0 · 🔍 not verified yet", "the start"
        )
        assert "⚠️" not in line

        await fix(live, "blue", "image-pull")
        await live.app.flow.verify("blue", cooldown=False)
        verified = await live.app.store.runs.latest_verification(
            (await live.app.store.runs.active((await live.app.store.teams.get("blue")).id)).id  # type: ignore[union-attr]
        )
        assert verified is not None
        await shows(
            live,
            channel,
            "blue",
            f"▶️ **blue** ✅❌❌❌ · 0 min in · 💡 0 · 🔍 <t:{int(verified.at.timestamp())}:R>",
            "the solve",
        )

        # Sixteen minutes without a verification: the minute-by-minute redraw marks blue, not red (not started).
        live.clock.offset = timedelta(minutes=16)
        assert await live.app.boards.refresh() == 1
        line = await shows(live, channel, "blue", "▶️ **blue** ✅❌❌❌ · 16 min in", "the stuck marker")
        assert line.endswith("⚠️ no verification for 16 min"), line
        assert lines(the_board(live, channel))[1] == "⬜ **red** not started"
        assert await live.app.boards.refresh() == 0  # nothing changed: no edit
        await quiet(live)
        edits = len(live.discord.requests_for(EDITS))
        message_id = the_board(live, channel).id

    # A restart: the board is the same message, edited as the class goes on.
    async with open_class(
        discord_emulator,
        room,
        kube_cluster,
        class_folder,
        instructors_channel=channel.id,
        create_teams=False,
        board_watch_interval=WATCH,
    ) as live:
        live.clock.offset = timedelta(minutes=16)
        await live.app.flow.start("red", 2)
        await shows(live, channel, "red", "▶️ **red** ⏳⏳⏳⏳ · 0 min in", "red's start")
        await quiet(live)
        assert [m.id for m in live.discord.messages(channel)] == [message_id]
        assert lines(the_board(live, channel))[0].startswith("▶️ **blue** ✅❌❌❌ · 16 min in")
        assert len(live.discord.requests_for(EDITS)) > edits
        assert await OutboxStore(live.app.store.db).failed() == []
        assert not [r for r in live.discord.requests_for(EDITS) if r.status == 429]  # paced, never refused


async def test_without_an_instructors_channel_the_board_is_refused(live_class: Class) -> None:
    refused = await slash(live_class, "instructor", "alerts", "admin", "board", challenge=2)
    assert await answer(refused) == (
        "No instructors' channel is set, so the board has nowhere to go (KUBECAMP_DISCORD_INSTRUCTORS_CHANNEL)."
    )
    assert await live_class.app.store.boards.all() == []


async def test_a_board_of_thirty_teams_fits_one_message(store: Store) -> None:
    """Thirty teams with the longest names, every one running with a scenario skipped and stuck: every line
    shows, within Discord's limits, in both languages."""
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    names = [f"{i:02d}-" + "x" * (TEAM_NAME_MAX - 3) for i in range(30)]
    for name in names:
        team = await store.teams.create(name, f"kc-{name}")
        await store.runs.create(
            team.id,
            2,
            start,
            start + timedelta(hours=2),
            ["image-pull", "unschedulable", "rolling-update"],
            {"node-affinity": "run.skipped_cluster_scope"},
        )
    for lang in ("en", "ko"):
        outbox = Outbox(store=OutboxStore(store.db), transport=None)  # type: ignore[arg-type]  # never started: nothing is sent
        boards = BoardService(
            store=store,
            catalog=CATALOG,
            outbox=outbox,
            lang=lang,
            channel_id=1,
            stuck_after=timedelta(minutes=15),
            clock=lambda: start + timedelta(minutes=99),
        )
        posted = await boards.post(2, by="instructor")
        entry = await outbox.get(posted.message_key)
        assert entry is not None
        assert within_limits(entry.payload) == []
        shown = str(entry.payload["embeds"][0]["description"]).splitlines()
        assert len(shown) == 30 and all(f"**{name}**" in line for name, line in zip(names, shown, strict=True))
        assert all("⚠️" in line and "⏭️" in line for line in shown)


def test_a_team_that_has_not_started_has_no_marks() -> None:
    payload = board(
        CATALOG.get(2), [BoardLine(team="blue")], now=datetime.now(UTC), stuck_after=timedelta(minutes=1), lang="ko"
    )
    assert payload["embeds"][0]["description"] == "⬜ **blue** 시작 전"


async def test_a_builds_board_shows_its_rubric_points(store: Store) -> None:
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    team = await store.teams.create("blue", "kubecamp-blue")
    build = CATALOG.get(4)
    await store.runs.create(team.id, build.id, start, start + timedelta(hours=4), [c.id for c in build.checked], {})
    outbox = Outbox(store=OutboxStore(store.db), transport=None)  # type: ignore[arg-type]  # never started
    boards = BoardService(
        store=store,
        catalog=CATALOG,
        outbox=outbox,
        lang="en",
        channel_id=1,
        stuck_after=timedelta(minutes=15),
        clock=lambda: start + timedelta(minutes=5),
    )
    entry = await outbox.get((await boards.post(build.id, by="instructor")).message_key)
    assert entry is not None
    embed = entry.payload["embeds"][0]
    assert embed["description"] == "▶️ **blue** 0/100 pts · 5 min in · 💡 0 · 🔍 not verified yet"
    assert embed["footer"]["text"].startswith("Points: the rubric's points met so far")
