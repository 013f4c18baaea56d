"""The outbox against a real SQLite store and FakeDiscord: once, in order, within limits, across crashes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.limits import CONTENT_MAX, within_limits
from bot.outbox import Outbox, OutboxItem, OutboxStore, TransportRejected, TransportRetry, nonce_for
from bot.store import InvalidValue, Store, Team
from bot.store.db import WriteStep

from .conftest import FakeDiscord, OutboxFactory

pytestmark = pytest.mark.every_database

A, B, C = 111, 222, 333
DRAIN = 10.0


async def _run_id(store: Store, team: Team) -> int:
    now = datetime.now(UTC)
    run = await store.runs.create(team.id, 1, now, now + timedelta(hours=1), ["s1"], {})
    return run.id


async def test_the_same_key_twice_is_one_row_and_one_message(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    first = await outbox.enqueue(dedupe_key="announce:1", channel_id=A, payload={"content": "hello"})
    second = await outbox.enqueue(dedupe_key="announce:1", channel_id=B, payload={"content": "other"})
    assert second.id == first.id
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["hello"]
    assert discord.in_channel(B) == []
    await outbox.enqueue(dedupe_key="announce:1", channel_id=A, payload={"content": "hello"})  # after it was sent
    assert await outbox.drain(DRAIN)
    assert len(discord.messages) == 1
    sent = await outbox_store.get("announce:1")
    assert sent is not None and sent.sent_at is not None
    assert (sent.discord_channel_id, sent.discord_message_id) == (A, discord.messages[0].message_id)
    assert discord.messages[0].nonce == nonce_for("announce:1", 0)
    assert (outbox.stats.enqueued, outbox.stats.duplicates, outbox.stats.sent) == (1, 2, 1)
    assert await outbox.backlog() == (0, None)


async def test_order_is_kept_per_destination_while_one_waits_for_a_retry(outbox: Outbox, discord: FakeDiscord) -> None:
    discord.fail(lambda: TransportRetry(1.0, "429 Too Many Requests"), channel_id=A)
    for i in range(5):
        await outbox.enqueue(dedupe_key=f"a{i}", channel_id=A, payload={"content": f"a{i}"})
        await outbox.enqueue(dedupe_key=f"b{i}", channel_id=B, payload={"content": f"b{i}"})
    # B does not wait for A's retry.
    await discord.until(lambda: len(discord.in_channel(B)) == 5)
    assert discord.in_channel(A) == []
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == [f"a{i}" for i in range(5)]
    assert discord.contents(B) == [f"b{i}" for i in range(5)]


async def test_run_messages_wait_for_the_thread_and_land_in_it(
    outbox: Outbox, store: Store, team: Team, discord: FakeDiscord
) -> None:
    run_id = await _run_id(store, team)
    discord.fail(lambda: TransportRetry(0.2), method="create_thread")
    await outbox.enqueue(
        dedupe_key=f"run:{run_id}:briefing",
        kind="thread",
        channel_id=2001,
        run_id=run_id,
        payload={"name": "Run 1 · Blue Whales", "message": {"content": "briefing"}},
    )
    await outbox.enqueue(dedupe_key=f"run:{run_id}:hint", run_id=run_id, payload={"content": "hint 1"})
    await outbox.enqueue(dedupe_key=f"run:{run_id}:verify", run_id=run_id, payload={"content": "3/4 pass"})
    await asyncio.sleep(0.1)
    assert discord.messages == []  # the thread's first attempt was refused; the rest waits for it
    assert await outbox.drain(DRAIN)
    [thread_id] = discord.threads
    assert discord.threads[thread_id] == (2001, "Run 1 · Blue Whales")
    assert discord.contents(2001) == ["briefing"]
    assert discord.contents(thread_id) == ["hint 1", "3/4 pass"]
    run = await store.runs.get(run_id)
    assert run is not None and run.thread_id == thread_id


async def test_a_429_with_retry_after_is_delivered_once(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.fail(lambda: TransportRetry(0.05, "429 Too Many Requests"))
    await outbox.enqueue(dedupe_key="k", channel_id=A, payload={"content": "x"})
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["x"]
    assert discord.calls == [("send_message", A), ("send_message", A)]
    entry = await outbox_store.get("k")
    assert entry is not None
    assert (entry.attempts, entry.last_error) == (2, "429 Too Many Requests")
    assert outbox.stats.retries == 1


async def test_a_burst_of_5xx_is_delivered_once(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.fail(lambda: TransportRetry(None, "503 Service Unavailable"), times=4)
    await outbox.enqueue(dedupe_key="k", channel_id=A, payload={"content": "x"})
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["x"]
    assert len(discord.calls) == 5
    entry = await outbox_store.get("k")
    assert entry is not None and entry.attempts == 5


async def test_a_permanent_refusal_is_kept_and_others_go_on(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.forbidden.add(A)
    await outbox.enqueue(dedupe_key="a1", channel_id=A, payload={"content": "a1"})
    await outbox.enqueue(dedupe_key="b1", channel_id=B, payload={"content": "b1"})
    await outbox.enqueue(dedupe_key="a2", channel_id=A, payload={"content": "a2"})
    await outbox.enqueue(dedupe_key="c1", channel_id=C, payload={"content": "c1"})
    assert await outbox.drain(DRAIN)
    assert (discord.contents(B), discord.contents(C)) == (["b1"], ["c1"])
    failed = {e.dedupe_key: e for e in await outbox_store.failed()}
    assert set(failed) == {"a1", "a2"}
    assert failed["a1"].last_error == f"missing permission to post in channel {A}"
    assert failed["a1"].sent_at is None
    assert outbox.stats.failed == 2
    assert await outbox.backlog() == (0, None)


async def test_a_crash_after_discord_accepted_does_not_post_twice(
    make_outbox: OutboxFactory, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.hold_after_accept = asyncio.Event()
    first = make_outbox()
    first.start()
    await first.enqueue(dedupe_key="verify:7", channel_id=A, payload={"content": "all pass"})
    async with asyncio.timeout(DRAIN):
        await discord.held.wait()
    await first.aclose(grace=0)  # the process dies: Discord has the message, the store does not know
    entry = await outbox_store.get("verify:7")
    assert entry is not None and entry.sent_at is None
    assert len(discord.messages) == 1

    discord.hold_after_accept = None
    second = make_outbox()
    second.start()
    assert await second.drain(DRAIN)
    assert discord.contents(A) == ["all pass"]
    assert [p.nonce for p in discord.messages] == [nonce_for("verify:7", 0)]
    assert discord.calls == [("send_message", A), ("send_message", A)]  # the same nonce, twice
    entry = await outbox_store.get("verify:7")
    assert entry is not None and entry.discord_message_id == discord.messages[0].message_id


async def test_a_crash_in_the_middle_of_a_split_message_resumes_it(
    make_outbox: OutboxFactory, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(60))  # about 6000: three parts
    first = make_outbox()
    first.start()
    await first.enqueue(dedupe_key="long", channel_id=A, payload={"content": text})
    await discord.until(lambda: bool(discord.messages))
    discord.hold_after_accept = asyncio.Event()  # the second part is accepted, then the crash
    async with asyncio.timeout(DRAIN):
        await discord.held.wait()
    await first.aclose(grace=0)
    entry = await outbox_store.get("long")
    assert entry is not None and entry.parts_sent == 1
    assert len(discord.messages) == 2

    discord.hold_after_accept = None
    second = make_outbox()
    second.start()
    assert await second.drain(DRAIN)
    contents = discord.contents(A)
    assert [c.rsplit("\n", 1)[1] for c in contents] == ["(1/3)", "(2/3)", "(3/3)"]
    assert "\n".join(c.rsplit("\n", 1)[0] for c in contents) == text
    entry = await outbox_store.get("long")
    assert entry is not None and entry.discord_message_id == discord.messages[0].message_id


async def test_long_content_goes_as_parts_within_limits_in_order(outbox: Outbox, discord: FakeDiscord) -> None:
    text = "브리핑 🚀 " * 1500  # one long line, Korean and emoji
    embeds = [{"title": f"scenario {i}", "description": "d" * 4000} for i in range(3)]
    await outbox.enqueue(
        dedupe_key="long", channel_id=A, payload={"content": text, "embeds": embeds, "allowed_mentions": {"parse": []}}
    )
    await outbox.enqueue(dedupe_key="after", channel_id=A, payload={"content": "after"})
    assert await outbox.drain(DRAIN)
    posted = discord.in_channel(A)
    assert len(posted) > 3
    for message in posted[:-1]:
        assert within_limits(message.payload) == []
        assert message.payload["allowed_mentions"] == {"parse": []}
    assert posted[-1].payload["content"] == "after"
    parts = [m.payload.get("content") for m in posted[:-1] if "content" in m.payload]
    n = len(parts)
    assert [p.rsplit("\n", 1)[1] for p in parts] == [f"({i}/{n})" for i in range(1, n + 1)]
    assert "".join(p.rsplit("\n", 1)[0] for p in parts) == text
    assert [e["title"] for m in posted for e in m.payload.get("embeds", [])] == [
        "scenario 0",
        "scenario 1",
        "scenario 2",
    ]
    assert len({m.nonce for m in posted}) == len(posted)


async def test_a_long_briefing_starts_the_thread_and_continues_in_it(
    outbox: Outbox, store: Store, team: Team, discord: FakeDiscord
) -> None:
    run_id = await _run_id(store, team)
    await outbox.enqueue(
        dedupe_key="briefing",
        kind="thread",
        channel_id=2001,
        run_id=run_id,
        payload={"name": "x" * 300, "message": {"content": "b" * (CONTENT_MAX * 2)}},
    )
    await outbox.enqueue(dedupe_key="hint", run_id=run_id, payload={"content": "hint"})
    assert await outbox.drain(DRAIN)
    [thread_id] = discord.threads
    assert len(discord.threads[thread_id][1]) == 100
    assert [c.rsplit("\n", 1)[-1] for c in discord.contents(2001)] == ["(1/3)"]
    assert [c.rsplit("\n", 1)[-1] for c in discord.contents(thread_id)] == ["(2/3)", "(3/3)", "hint"]


async def test_edits_and_thread_updates(outbox: Outbox, store: Store, team: Team, discord: FakeDiscord) -> None:
    run_id = await _run_id(store, team)
    await outbox.enqueue(
        dedupe_key="briefing",
        kind="thread",
        channel_id=2001,
        run_id=run_id,
        payload={"name": "run", "message": {"content": "briefing"}},
    )
    await outbox.enqueue(dedupe_key="board", channel_id=A, payload={"content": "scores: 0"})
    await outbox.enqueue(dedupe_key="board:1", kind="edit", edit_of="board", payload={"content": "s" * 3000})
    await outbox.enqueue(dedupe_key="briefing:ended", kind="edit", edit_of="briefing", payload={"content": "ended"})
    await outbox.enqueue(dedupe_key="archive", kind="thread_update", run_id=run_id, payload={"archived": True})
    assert await outbox.drain(DRAIN)
    [thread_id] = discord.threads
    board = discord.in_channel(A)[0]
    starter = discord.in_channel(2001)[0]
    edits = {(channel, message): payload for channel, message, payload in discord.edits}
    assert set(edits) == {(A, board.message_id), (2001, starter.message_id)}  # two destinations: any order
    assert len(edits[A, board.message_id]["content"]) == CONTENT_MAX
    assert edits[A, board.message_id]["content"].endswith("…")
    assert edits[2001, starter.message_id] == {"content": "ended"}
    assert discord.thread_updates == [(thread_id, None, True)]


async def test_messages_for_a_thread_entry_wait_for_it_and_land_in_it(outbox: Outbox, discord: FakeDiscord) -> None:
    discord.fail(lambda: TransportRetry(0.2, "429"), channel_id=A)  # the thread starts late
    await outbox.enqueue(
        dedupe_key="incident:1:thread", kind="thread", channel_id=A, payload={"name": "i", "message": {"content": "x"}}
    )
    await outbox.enqueue(dedupe_key="incident:1:m1", thread_of="incident:1:thread", payload={"content": "one"})
    await outbox.enqueue(
        dedupe_key="incident:1:archive", kind="thread_update", thread_of="incident:1:thread", payload={"archived": True}
    )
    assert await outbox.drain(DRAIN)
    [thread_id] = discord.threads
    assert discord.contents(thread_id) == ["one"]
    assert discord.thread_updates == [(thread_id, None, True)]


async def test_a_refused_thread_fails_what_goes_into_it(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.forbidden.add(A)
    await outbox.enqueue(
        dedupe_key="t", kind="thread", channel_id=A, payload={"name": "i", "message": {"content": "x"}}
    )
    await outbox.enqueue(dedupe_key="t:m", thread_of="t", payload={"content": "y"})
    assert await outbox.drain(DRAIN)
    waiting = await outbox_store.get("t:m")
    assert waiting is not None and waiting.failed_at is not None
    assert "the thread it goes into" in (waiting.last_error or "")


async def test_edits_waiting_behind_a_retry_are_coalesced_into_the_last(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    await outbox.enqueue(dedupe_key="embed", channel_id=A, payload={"content": "v0"})
    assert await outbox.drain(DRAIN)
    discord.fail(lambda: TransportRetry(0.3, "429"), method="edit_message", channel_id=A)
    await outbox.enqueue(dedupe_key="embed:v1", kind="edit", edit_of="embed", payload={"content": "v1"})
    await discord.until(lambda: len(discord.calls) >= 2)  # v1 was tried and is waiting for its retry
    for version in range(2, 6):
        await outbox.enqueue(
            dedupe_key=f"embed:v{version}", kind="edit", edit_of="embed", payload={"content": f"v{version}"}
        )
    # Only the last sets a field the others do not: it is sent; v1..v4 are replaced by v5.
    await outbox.enqueue(dedupe_key="embed:v6", kind="edit", edit_of="embed", payload={"content": "v6", "embeds": []})
    assert await outbox.drain(DRAIN)
    assert [payload["content"] for _, _, payload in discord.edits] == ["v6"]
    assert outbox.stats.superseded == 5
    for version in range(1, 7):
        entry = await outbox_store.get(f"embed:v{version}")
        assert entry is not None and entry.sent_at is not None


async def test_an_edit_setting_more_than_the_next_is_not_skipped(outbox: Outbox, discord: FakeDiscord) -> None:
    await outbox.enqueue(dedupe_key="m", channel_id=A, payload={"content": "v0"})
    assert await outbox.drain(DRAIN)
    discord.fail(lambda: TransportRetry(0.3, "429"), method="edit_message", channel_id=A)
    await outbox.enqueue(dedupe_key="m:1", kind="edit", edit_of="m", payload={"content": "v1", "embeds": []})
    await discord.until(lambda: len(discord.calls) >= 2)
    await outbox.enqueue(dedupe_key="m:2", kind="edit", edit_of="m", payload={"content": "v2"})
    assert await outbox.drain(DRAIN)
    assert [payload["content"] for _, _, payload in discord.edits] == ["v1", "v2"]


async def test_an_edit_of_a_refused_message_fails_with_it(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.forbidden.add(A)
    await outbox.enqueue(dedupe_key="m", channel_id=A, payload={"content": "x"})
    await outbox.enqueue(dedupe_key="m:edit", kind="edit", edit_of="m", payload={"content": "y"})
    assert await outbox.drain(DRAIN)
    edit = await outbox_store.get("m:edit")
    assert edit is not None and edit.failed_at is not None
    assert "missing permission" in (edit.last_error or "")
    assert discord.edits == []


async def test_one_hanging_destination_holds_up_no_other(outbox: Outbox, discord: FakeDiscord) -> None:
    discord.hang[A] = asyncio.Event()
    await outbox.enqueue(dedupe_key="a", channel_id=A, payload={"content": "a"})
    await outbox.enqueue(dedupe_key="b", channel_id=B, payload={"content": "b"})
    await discord.until(lambda: bool(discord.in_channel(B)))
    await outbox.enqueue(dedupe_key="c", channel_id=C, payload={"content": "c"})
    await discord.until(lambda: bool(discord.in_channel(C)))
    assert not await outbox.drain(0.2)  # A is still hanging
    discord.hang[A].set()
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["a"]


async def test_an_unexpected_transport_error_is_retried(
    outbox: Outbox, outbox_store: OutboxStore, discord: FakeDiscord
) -> None:
    discord.fail(lambda: RuntimeError("a bug"))
    await outbox.enqueue(dedupe_key="k", channel_id=A, payload={"content": "x"})
    assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["x"]
    entry = await outbox_store.get("k")
    assert entry is not None and entry.last_error == "RuntimeError: a bug"
    assert outbox.stats.errors == 1


async def test_what_was_enqueued_before_the_start_is_sent_after_it(
    make_outbox: OutboxFactory, discord: FakeDiscord
) -> None:
    outbox = make_outbox()
    await outbox.enqueue(dedupe_key="early", channel_id=A, payload={"content": "early"})
    with pytest.raises(RuntimeError, match="not running"):
        await outbox.drain(DRAIN)
    async with outbox:
        assert await outbox.drain(DRAIN)
    assert discord.contents(A) == ["early"]


async def test_entries_written_in_a_callers_transaction_go_with_it_and_wake_the_sender_on_commit(
    make_outbox: OutboxFactory, store: Store, team: Team, discord: FakeDiscord
) -> None:
    # The sender looks again only when woken: a poll an hour away would show a missed wake-up.
    outbox = make_outbox(poll_interval=3600)
    run_id = await _run_id(store, team)
    async with outbox:
        assert await outbox.drain(DRAIN)
        line = OutboxItem("first-solve:s1", "message", {"content": "🩸 first"}, channel_id=A)

        async def failing(session: AsyncSession) -> None:
            raise RuntimeError("the end of the run was not written")

        with pytest.raises(RuntimeError):
            await store.runs.finish(
                run_id, "finished", datetime.now(UTC), 60, 100, 10, then=_both(outbox.enqueuing([line]), failing)
            )
        assert await outbox.get("first-solve:s1") is None  # rolled back with the caller's write

        assert await store.runs.finish(
            run_id, "finished", datetime.now(UTC), 60, 100, 10, then=outbox.enqueuing([line])
        )
        await asyncio.wait_for(discord.until(lambda: discord.contents(A) == ["🩸 first"]), 5)
    with pytest.raises(InvalidValue):
        outbox.enqueuing([OutboxItem("bad", "message", {"content": ""}, channel_id=A)])


def _both(*steps: WriteStep) -> WriteStep:
    async def write(session: AsyncSession) -> None:
        for step in steps:
            await step(session)

    return write


async def test_drain_answers_false_when_a_retry_is_beyond_its_timeout(outbox: Outbox, discord: FakeDiscord) -> None:
    discord.fail(lambda: TransportRetry(30.0))
    await outbox.enqueue(dedupe_key="k", channel_id=A, payload={"content": "x"})
    assert not await outbox.drain(0.3)
    pending, oldest = await outbox.backlog()
    assert pending == 1 and oldest is not None


async def test_a_rejection_of_a_thread_leaves_its_run_messages_waiting(
    outbox: Outbox, store: Store, team: Team, discord: FakeDiscord
) -> None:
    run_id = await _run_id(store, team)
    discord.fail(lambda: TransportRejected("missing permission to create threads in channel 2001"))
    await outbox.enqueue(
        dedupe_key="briefing",
        kind="thread",
        channel_id=2001,
        run_id=run_id,
        payload={"name": "run", "message": {"content": "briefing"}},
    )
    await outbox.enqueue(dedupe_key="hint", run_id=run_id, payload={"content": "hint"})
    assert await outbox.drain(DRAIN)  # nothing deliverable: the hint has nowhere to go
    assert discord.messages == []
    pending, _ = await outbox.backlog()
    assert pending == 1
    # A thread set another way (an instructor's command) releases it.
    await store.runs.set_thread(run_id, 5555)
    outbox.wake()
    assert await outbox.drain(DRAIN)
    assert discord.contents(5555) == ["hint"]


@pytest.mark.parametrize(
    ("kind", "payload", "problem"),
    [
        ("message", {}, "needs content, embeds"),
        ("message", {"content": "   "}, "needs content, embeds"),
        ("message", {"content": 5}, "must be a string"),
        ("message", {"embeds": {"title": "x"}}, "list of embed objects"),
        ("message", {"content": "x", "files": [{"filename": "a.txt"}]}, "a file is"),
        ("thread", {"name": "x"}, "its first message"),
        ("thread", {"name": " ", "message": {"content": "x"}}, "needs a name"),
        ("thread", {"message": {"content": "x"}}, "needs a name"),
        ("thread", {"name": "x", "message": "x"}, "payload.message='x': a thread needs its first message"),
        ("thread", {"name": "x", "message": {"content": " "}}, "payload.message=.*a message needs content"),
        ("thread", {"name": "x", "message": {"content": "x"}, "auto_archive_duration": 60}, "unknown"),
        ("message", {"content": "x", "files": [{"filename": "a", "text": "t", "base64": "dA=="}]}, "a file is"),
        ("edit", {"files": [{"text": "t"}]}, "payload.files.0.filename"),
        ("thread_update", {}, "at least one"),
        ("thread_update", {"name": None}, "a thread name is not empty"),
        ("thread_update", {"archived": "yes"}, "true or false"),
        ("edit", {}, "changes something"),
        ("dm", {"content": "x"}, "one of message, thread, edit, thread_update"),
    ],
)
async def test_malformed_entries_are_refused_before_writing(
    make_outbox: OutboxFactory, outbox_store: OutboxStore, kind: str, payload: dict[str, object], problem: str
) -> None:
    outbox = make_outbox()
    with pytest.raises(InvalidValue, match=problem):
        await outbox.enqueue(dedupe_key="k", kind=kind, channel_id=A, payload=payload)
    assert await outbox_store.get("k") is None


def test_nonces_are_short_stable_and_distinct() -> None:
    assert nonce_for("run:1:briefing") == nonce_for("run:1:briefing", 0)
    assert len(nonce_for("x" * 200, 99)) <= 25
    assert len({nonce_for(k, p) for k in ("a", "b", "a:1") for p in range(3)}) == 9
