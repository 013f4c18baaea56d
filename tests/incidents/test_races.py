"""The same notification delivered twice at once (Alertmanager retrying while the first is still being
answered, or two Alertmanager replicas): one incident, one thread, nothing posted twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.discord.live import Class, deliver, thread_of

PAYLOADS = Path(__file__).parent / "payloads"


async def test_racing_deliveries_of_one_notification_make_one_incident_and_one_thread(live_class: Class) -> None:
    live = live_class
    body = (PAYLOADS / "firing_three.json").read_bytes()
    statuses = await asyncio.gather(*(deliver(live, body) for _ in range(8)))
    assert statuses == [200] * 8
    incidents = await live.app.store.incidents.recent()
    assert len(incidents) == 1 and incidents[0].version == 1
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the incident thread")
    assert await live.app.outbox.drain(10)
    assert len(live.discord.threads(live.room.team_channels["blue"])) == 1
    starters = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.embeds]
    assert len(starters) == 1
    lines = [m.content for m in live.discord.messages(thread_of(live, "blue"))]
    assert len(lines) == len(set(lines))  # each line of the thread said once
