"""Bursts of 429 and 5xx from Discord while a class is busy: every message arrives, none twice.

The real App (tests.discord.live) runs a class: two teams start challenge 2 and verify, and three alert
groups fire, change and resolve through the webhook. Meanwhile the Discord emulator answers bursts of
429 (per route and global, with ``Retry-After``, ``Via`` and Discord's body) and 500/502/503, some
before handling the request and some after (Discord did it, the answer was lost). Afterwards Discord
holds exactly what the outbox says it sent — each part of each entry once, by its nonce, with its
content; the last edit of each starter; each thread renamed and archived — and the invalid requests
the bot caused are the 429s forced on it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from benchmarks.notifications import Group
from bot.limits import fit_message, fit_thread_name
from bot.outbox import OutboxStore, nonce_for
from bot.store.models import OutboxEntry, OutboxKind
from tests.discord.live import Class, answer, deliver, open_class, slash
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.ratelimit import Fault
from tests.discord_emulator.state import Message, normalise_embeds
from tests.emulators.kube import KubeCluster

pytestmark = [pytest.mark.every_database, pytest.mark.reliability]

MESSAGES = "POST /channels/{channel_id}/messages"
THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"
THREAD_UPDATES = "PATCH /channels/{channel_id}"
#: A per-channel bucket like Discord's for posting messages: discord.py must read the bucket headers and
#: wait, or it runs into 429s nobody injected.
CHANNEL_BUCKET = (5, 2.0)
#: Short, so that an alert group's changes become several edits and lines rather than one.
EDIT_INTERVAL = 0.3
#: 429s the bot may meet on its own besides the injected ones: discord.py learns each bucket from its first
#: answer, so at most a request per route and channel in flight before that could hit an empty bucket.
OWN_429_MARGIN = 5
DRAIN = 40.0

GROUPS = {  # alert group → the channel its incident thread belongs in
    "KubecampPodNotReady/kubecamp-blue": "team-blue",
    "KubecampImagePullFailing/kubecamp-red": "team-red",
    "KubecampCrashLooping/kubecamp-green": "alerts",  # no team owns the namespace
}
#: Each group's episode: (firing, resolved) alert indexes, one notification per step.
EPISODE = [((0, 1), ()), ((0, 1, 2), ()), ((0, 2), (1,)), ((), (0, 1, 2))]


def _burst(discord: DiscordEmulator, *faults: dict[str, Any]) -> list[Fault]:
    return [discord.inject(**fault) for fault in faults]


async def test_bursts_of_429_and_5xx_lose_nothing_and_post_nothing_twice(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    db_url: str,
) -> None:
    discord = discord_emulator
    discord.set_rate_limit(MESSAGES, *CHANNEL_BUCKET)
    async with open_class(
        discord, discord_classroom, kube_cluster, tmp_path, edit_interval=EDIT_INTERVAL, database_url=db_url
    ) as live:
        faults: list[Fault] = []
        # Both teams start while posting is rate limited and briefings' answers get lost.
        faults += _burst(
            discord,
            {"status": 429, "route": MESSAGES, "times": 3, "retry_after": 0.4},
            {"status": 500, "route": MESSAGES, "after": True},
            {"status": 502, "route": THREADS, "after": True},
        )
        for team in ("blue", "red"):
            started = await slash(live, f"{team}-1", f"team-{team}", "challenge", "start", challenge=2)
            assert "Challenge 2 started" in await answer(started)

        # Three alert groups fire behind a global rate limit, 5xx before and after Discord acted, and a
        # 429 burst longer than discord.py's five attempts (the outbox retries it after Retry-After).
        faults += _burst(
            discord,
            {"status": 429, "route": MESSAGES, "global_": True, "times": 2, "retry_after": 0.3},
            {"status": 500, "route": MESSAGES, "times": 2},
            {"status": 502, "route": MESSAGES, "after": True, "times": 2},
            {"status": 429, "route": THREADS, "times": 6, "retry_after": 0.2},
        )
        groups = _groups()
        await _notify_step(live, groups, 0)

        # The groups change (starter edits, change lines) and the teams verify (results in the run threads).
        faults += _burst(
            discord,
            {"status": 429, "route": EDITS, "times": 3, "retry_after": 0.2},
            {"status": 502, "route": EDITS, "after": True},
            {"status": 503, "route": MESSAGES, "after": True},
            {"status": 500, "route": MESSAGES, "after": True},
        )
        for step in range(1, len(EPISODE) - 1):
            await asyncio.sleep(EDIT_INTERVAL * 1.5)  # each step its own version of the starter
            await _notify_step(live, groups, step)
        for team in ("blue", "red"):
            verified = await slash(live, f"{team}-2", f"team-{team}", "challenge", "verify")
            assert "of 4 pass" in await answer(verified)

        # Everything resolves: resolution lines, threads renamed and archived.
        faults += _burst(
            discord,
            {"status": 429, "route": THREAD_UPDATES, "times": 2, "retry_after": 1.0},
            {"status": 500, "route": THREAD_UPDATES, "after": True},
            {"status": 502, "route": MESSAGES},
        )
        await asyncio.sleep(EDIT_INTERVAL * 1.5)
        await _notify_step(live, groups, len(EPISODE) - 1)

        await discord.wait_until(lambda: _resolved_threads(live) == len(GROUPS), DRAIN, "every incident resolved")
        assert await live.app.outbox.drain(DRAIN)
        assert await live.app.outbox.backlog() == (0, None)
        assert await OutboxStore(live.app.store.db).failed() == []
        assert [f.remaining for f in faults] == [0] * len(faults), "every burst was met"

        entries = await _outbox_entries(live)
        _assert_discord_holds_each_part_once(live, entries)
        _assert_last_edits_and_thread_updates_landed(live, entries)
        await _assert_every_run_and_incident_has_its_thread(live)

        # Discord bans at 10 000 invalid requests in 10 minutes; each injected 429 is one by construction.
        injected_429 = sum(f.times for f in faults if f.status == 429)
        assert injected_429 <= discord.invalid_request_count <= injected_429 + OWN_429_MARGIN


def _groups() -> dict[str, Group]:
    started = datetime.now(UTC) - timedelta(minutes=5)
    return {key: Group(*key.split("/"), started=started) for key in GROUPS}


async def _notify_step(live: Class, groups: dict[str, Group], step: int) -> None:
    firing, resolved = EPISODE[step]
    at = datetime.now(UTC)
    for group in groups.values():
        assert await deliver(live, group.notification(firing, resolved, at=at)) == 200


async def _outbox_entries(live: Class) -> list[OutboxEntry]:
    async with live.app.store.db.reading() as session:
        return list((await session.exec(select(OutboxEntry).order_by(OutboxEntry.id))).all())  # type: ignore[arg-type]


def _bot_messages(live: Class) -> list[Message]:
    """What the bot posted on its own (no interaction answers) in every channel and thread of the class."""
    room, bot = live.room, live.discord.world.bot.id
    channels = [room.alerts, *room.team_channels.values(), *live.discord.threads()]
    return [
        m
        for channel in channels
        for m in live.discord.messages(channel, include_ephemeral=False)
        if m.author_id == bot and m.interaction_metadata is None and m.webhook_id is None
    ]


def _first_version(message: Message) -> dict[str, Any]:
    return message.history[0] if message.history else {"content": message.content, "embeds": message.embeds}


def _parts(entry: OutboxEntry) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(nonce, channel it lands in, payload) of each message an entry posts."""
    if entry.kind == OutboxKind.message:
        return [
            (nonce_for(entry.dedupe_key, i), entry.discord_channel_id, part)
            for i, part in enumerate(fit_message(entry.payload))
        ]
    if entry.kind == OutboxKind.thread:
        # The first part starts the thread in the channel; the rest go into the thread.
        parts = fit_message(entry.payload["message"])
        return [
            (nonce_for(entry.dedupe_key, i), entry.channel_id if i == 0 else entry.discord_channel_id, part)
            for i, part in enumerate(parts)
        ]
    return []


def _assert_discord_holds_each_part_once(live: Class, entries: Iterable[OutboxEntry]) -> None:
    expected = {nonce: (channel, part) for entry in entries for nonce, channel, part in _parts(entry)}
    posted = _bot_messages(live)
    counts = Counter(m.nonce for m in posted)
    assert {n: c for n, c in counts.items() if c > 1} == {}, "posted twice"
    assert set(counts) == set(expected), "posted without an outbox entry, or an entry's part missing"
    for message in posted:
        channel, part = expected[str(message.nonce)]
        first = _first_version(message)
        assert message.channel_id == channel
        assert (first["content"], first["embeds"]) == (part.get("content", ""), normalise_embeds(part.get("embeds")))


def _assert_last_edits_and_thread_updates_landed(live: Class, entries: list[OutboxEntry]) -> None:
    by_id = {e.id: e for e in entries}
    last_edit: dict[int, OutboxEntry] = {}
    for entry in entries:
        if entry.kind == OutboxKind.edit and entry.target_id is not None:
            last_edit[entry.target_id] = entry  # ids ascend: the last one wins, as on Discord
    assert last_edit, "the incidents' starters were edited"
    for target_id, edit in last_edit.items():
        target = by_id[target_id]
        assert target.discord_message_id is not None
        message = live.discord.message(target.discord_message_id)
        [payload] = fit_message(edit.payload, split=False)
        assert message.embeds == normalise_embeds(payload["embeds"])
    updates = [e for e in entries if e.kind == OutboxKind.thread_update]
    assert len(updates) == len(GROUPS)
    threads = {t.id: t for t in live.discord.threads()}
    for update in updates:
        thread = threads[update.discord_channel_id]  # type: ignore[index]
        assert (thread.name, thread.archived) == (fit_thread_name(update.payload["name"]), True)


def _resolved_threads(live: Class) -> int:
    return sum(t.archived and t.name.startswith("✅") for t in live.discord.threads())


async def _assert_every_run_and_incident_has_its_thread(live: Class) -> None:
    room, store = live.room, live.app.store
    for team in ("blue", "red"):
        [run] = await store.runs.of_team((await store.teams.get(team)).id)  # type: ignore[union-attr]
        assert run.thread_id is not None
        titles = [m.embeds[0]["title"] for m in live.discord.messages(run.thread_id) if m.embeds]
        assert sum(t.startswith("🔍 Verification") for t in titles) == 1, f"{team}'s results, once"
    for key, where in GROUPS.items():
        alertname, namespace = key.split("/")
        [thread] = [t for t in live.discord.threads(room.channel(where)) if f"{alertname} · {namespace}" in t.name]
        assert thread.archived and thread.name.startswith("✅")
        assert any("has resolved" in m.content for m in live.discord.messages(thread))
