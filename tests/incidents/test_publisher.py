"""IncidentPublisher against a real migrated SQLite store, the real `Outbox` and `FakeDiscord`, fed through
`IncidentService.receive` with Alertmanager v4 bodies (the captured ones in payloads/, or built alike).

Proved here: the first publish starts the incident thread (team channel, else #alerts, else nothing but the incident is
still marked published) and lists every alert in it when the embed cannot name them all; a storm of 100 notifications
within a second is a handful of edits of the starter, the last one showing the final state, with every alert change said
once and nothing lost; a crash in the middle of a round keeps none of it, so that nothing is said twice or left out, and
a change arriving meanwhile still reaches the starter; a resolved incident says how long it lasted, loses its buttons
and its thread is renamed ✅ and archived; a group firing again links the previous thread; a team's run thread is told
once, only when the incident thread exists; the cluster context is read for newly firing alerts only, at most
MAX_CONTEXTS per publish, and its failure stops nothing; the publishing loop survives a store error.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import StoreUnavailable
from bot.incidents.publisher import MAX_CONTEXTS, thread_key
from bot.outbox import OutboxStore
from bot.store import Store, Team
from bot.store.incidents import IncidentStore
from bot.store.models import AlertStatus, Incident, IncidentStatus
from tests.incidents.conftest import ALERTS_CHANNEL, TEAM_CHANNEL, Bench, MakeBench, real_clock

PAYLOADS = Path(__file__).parent / "payloads"
ALERT = "KubecampImagePullFailing"
BLUE = "kubecamp-blue"  # the namespace of the captured bodies, and of the team below
GREEN = "kubecamp-green"  # a namespace no team owns
GO_ZERO = "0001-01-01T00:00:00Z"
#: When Alertmanager sent the captured firing bodies (group_wait after the alerts' startsAt).
CAPTURED_AT = datetime(2026, 12, 4, 14, 10, 23, 955000, tzinfo=UTC)


# -- bodies --------------------------------------------------------------------------------------------------------


def captured(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert(
    pod: str,
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
    namespace: str = BLUE,
    alertname: str = ALERT,
    container: str = "frontend",
) -> dict[str, Any]:
    """One alert as Alertmanager 0.25 sends it (shape of firing_one.json); resolved when `ends_at` is given."""
    labels = {
        "alertname": alertname,
        "container": container,
        "namespace": namespace,
        "pod": pod,
        "severity": "warning",
    }
    template = json.loads(captured("firing_one"))["alerts"][0]
    return {
        "status": "firing" if ends_at is None else "resolved",
        "labels": labels,
        "annotations": {
            "description": template["annotations"]["description"],
            "runbook_url": template["annotations"]["runbook_url"],
            "summary": f"Container {container} of Pod {namespace}/{pod} cannot pull its image.",
        },
        "startsAt": _rfc3339(starts_at),
        "endsAt": GO_ZERO if ends_at is None else _rfc3339(ends_at),
        "generatorURL": template["generatorURL"],
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
    }


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def body(alerts: list[dict[str, Any]], *, namespace: str = BLUE, alertname: str = ALERT) -> bytes:
    """A v4 webhook body for one group (alertname, namespace), common labels computed like Alertmanager does."""
    return json.dumps(
        {
            "receiver": "kubecamp-bot",
            "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "alerts": alerts,
            "groupLabels": {"alertname": alertname, "namespace": namespace},
            "commonLabels": _common([a["labels"] for a in alerts]),
            "commonAnnotations": _common([a["annotations"] for a in alerts]),
            "externalURL": "http://alertmanager.monitoring.svc:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{alertname}", namespace="{namespace}"}}',
            "truncatedAlerts": 0,
        }
    ).encode()


# -- the bench -----------------------------------------------------------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


Make = Callable[..., Bench]


@pytest.fixture
def make(make_bench: MakeBench) -> Make:
    """Benches whose starter messages carry the silence buttons, as with Alertmanager configured."""
    return functools.partial(make_bench, silences=True)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll `check` every 20 ms until it holds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout:g} s: {what}")


def custom_ids(payload: Mapping[str, Any]) -> list[str]:
    return [c["custom_id"] for row in payload.get("components") or [] for c in row["components"]]


# -- the first publish ---------------------------------------------------------------------------------------------


async def test_the_first_publish_starts_a_thread_in_the_team_channel_with_the_embed_and_buttons(
    make: Make, blue: Team
) -> None:
    bench = make()
    recorded = await bench.service.receive(captured("firing_three"))
    assert recorded.created and recorded.incident is not None
    assert recorded.incident.channel_id == TEAM_CHANNEL

    assert await bench.publisher.publish_due() == 1
    await bench.drain()

    [(thread, (parent, name))] = bench.discord.threads.items()
    assert parent == TEAM_CHANNEL
    assert name == f"🔥 #1 {ALERT} · {BLUE}"
    assert await bench.thread() == thread
    starter = bench.starter(thread)
    assert starter.channel_id == TEAM_CHANNEL
    [embed] = starter.payload["embeds"]
    assert embed["title"] == f"🔥 {ALERT} · {BLUE}"
    assert "3 of 3 alerts firing" in embed["description"]
    assert sorted(f["name"] for f in embed["fields"]) == [
        f"🔥 pod=frontend-7d9f8b6c5d-{p}, container=frontend" for p in ("k8m4p", "v9n3w", "x2x7q")
    ]
    assert custom_ids(starter.payload) == [f"kubecamp:incident:1:{a}" for a in ("ack", "silence1h", "silence4h")]
    # Nothing else: the embed says it all, there is nothing to describe without a cluster reader.
    assert len(bench.discord.messages) == 1 and bench.discord.edits == []

    incident = await bench.incident()
    assert incident.published_version == incident.version
    assert all(a.announced == AlertStatus.firing for a in await bench.incidents.alerts(1))
    assert await bench.publisher.publish_due() == 0  # nothing left to publish


async def test_an_incident_no_team_owns_goes_to_the_alerts_channel(make: Make, blue: Team) -> None:
    bench = make()
    now = real_clock()
    await bench.service.receive(body([alert("web-0", starts_at=now, namespace=GREEN)], namespace=GREEN))
    await bench.publish()

    [(thread, (parent, name))] = bench.discord.threads.items()
    assert (parent, name) == (ALERTS_CHANNEL, f"🔥 #1 {ALERT} · {GREEN}")
    assert bench.discord.in_channel(TEAM_CHANNEL) == []
    assert bench.starter(thread).channel_id == ALERTS_CHANNEL


async def test_an_incident_with_no_channel_at_all_posts_nothing_but_is_marked_published(make: Make) -> None:
    bench = make(alerts_channel=None)
    await bench.service.receive(captured("firing_three"))  # no team owns kubecamp-blue here
    assert (await bench.incident()).channel_id is None

    assert await bench.publisher.publish_due() == 1
    await bench.drain()
    await bench.service.receive(captured("resolved_partial"))
    assert await bench.publisher.publish_due() == 1
    await bench.drain()

    assert bench.discord.calls == []
    assert await bench.outbox.get(thread_key(1)) is None
    assert await bench.outbox.backlog() == (0, None)
    incident = await bench.incident()
    assert incident.published_version == incident.version == 2
    assert await bench.publisher.thread_id(1) is None
    assert await bench.publisher.publish_due() == 0


async def test_a_first_publish_of_more_alerts_than_the_embed_names_lists_every_alert_in_the_thread(
    make: Make, blue: Team
) -> None:
    bench = make()
    now = real_clock()
    pods = [f"web-{i:02d}" for i in range(30)]
    alerts = [alert(pod, starts_at=now) for pod in pods[:28]]
    alerts += [alert(pod, starts_at=now, ends_at=now) for pod in pods[28:]]  # resolved before the first publish
    await bench.service.receive(body(alerts))
    await bench.publish()

    thread = await bench.thread()
    fields = [f["name"] for f in bench.starter(thread).payload["embeds"][0]["fields"]]
    assert len(fields) == 25 and fields[-1] == "… 6 more"
    [listing] = bench.discord.contents(thread)
    head, *lines = listing.split("\n")
    assert head == "📋 All 30 alerts of this incident (28 firing · 2 resolved):"
    assert lines == [f"🔥 pod={pod}, container=frontend" for pod in pods[:28]] + [
        f"✅ pod={pod}, container=frontend" for pod in pods[28:]
    ]

    # Afterwards only what changed is said; the list is not posted again.
    alerts[0] = alert(pods[0], starts_at=now, ends_at=real_clock())
    await bench.service.receive(body(alerts))
    await bench.publish()
    changes = "📣 Changes: 0 firing · 1 resolved\n✅ pod=web-00, container=frontend"
    assert bench.discord.contents(thread)[1:] == [changes]


# -- a storm -------------------------------------------------------------------------------------------------------

LINE = re.compile(r"^(🔥|✅) pod=(web-\d+), container=frontend$")
PART = re.compile(r"^\(\d+/\d+\)$")


async def test_a_storm_of_100_notifications_is_a_few_edits_and_every_change_is_said_once(
    make: Make, outbox_store: OutboxStore, blue: Team
) -> None:
    interval = 1.0
    bench = make(edit_interval=interval)
    bench.publisher.start()
    loop = asyncio.get_running_loop()
    start = real_clock() - timedelta(minutes=1)
    pods = [f"web-{i:02d}" for i in range(60)]
    held: dict[str, dict[str, Any]] = {}

    began = loop.time()
    for step in range(100):
        if step < 60:  # alerts added one by one…
            pod = pods[step]
            held[pod] = alert(pod, starts_at=start)
        else:  # …then 40 of them resolved one by one
            pod = pods[step - 60]
            held[pod] = alert(pod, starts_at=start, ends_at=real_clock())
        recorded = await bench.service.receive(body(list(held.values())))
        assert recorded.changed
    storm = loop.time() - began

    async def published() -> bool:
        incident = await bench.incident()
        return incident.published_version == incident.version

    await eventually(published, "the last version published")
    await bench.drain()
    elapsed = loop.time() - began

    incident = await bench.incident()
    assert incident.version == 100
    thread = await bench.thread()
    starter = bench.starter(thread)
    edits = bench.edits(starter)
    # The first publish is the thread; then at most one edit per interval, the outbox coalescing the rest.
    assert 1 <= len(edits) <= elapsed / interval + 2, (len(edits), elapsed, storm)
    [last] = edits[-1]["embeds"]
    assert "20 of 60 alerts firing" in last["description"]
    assert edits[-1]["components"]  # still firing: the buttons stay
    assert last["fields"][0]["name"] == "🔥 pod=web-40, container=frontend"
    assert last["fields"][-1]["name"] == "… 36 more"  # 60 fields: 24 and the count of the rest

    # Every change said once: an alert that fired after the thread was started is announced firing once
    # (unless it also resolved before the next publish), every resolution once; nothing is lost.
    initial = {f["name"].split("pod=")[1].split(",")[0] for f in starter.payload["embeds"][0]["fields"]}
    said: dict[tuple[str, str], int] = {}
    posted = bench.discord.in_channel(thread)
    assert posted and len({m.nonce for m in posted}) == len(posted)
    assert posted[0].payload["content"].startswith("📣 Changes:")
    for message in posted:  # a long change message comes in parts, each ending with "(i/n)"
        for line in message.payload["content"].splitlines():
            if line.startswith("📣 Changes:") or PART.match(line):
                continue
            match = LINE.match(line)
            assert match, line
            said[match.group(1), match.group(2)] = said.get((match.group(1), match.group(2)), 0) + 1
    assert all(count == 1 for count in said.values()), said
    resolved, firing = pods[:40], pods[40:]
    assert {pod for mark, pod in said if mark == "✅"} == set(resolved)
    assert {pod for mark, pod in said if mark == "🔥"} <= set(pods) - initial
    assert {pod for pod in firing if pod not in initial} <= {pod for mark, pod in said if mark == "🔥"}
    assert all(a.announced == a.status for a in await bench.incidents.alerts(incident.id))
    assert await bench.outbox.backlog() == (0, None)
    assert await outbox_store.failed() == []


# -- crashes -------------------------------------------------------------------------------------------------------


class CrashingIncidents(IncidentStore):
    """The process dies while a round is written: after its outbox entries, before the record of them."""

    crash = False

    def publishing(self, incident_id: int, **kwargs: Any) -> Callable[[AsyncSession], Awaitable[None]]:
        mark = super().publishing(incident_id, **kwargs)

        async def dying(session: AsyncSession) -> None:
            if self.crash:
                self.crash = False
                raise RuntimeError("killed before mark_published")
            await mark(session)

        return dying


async def test_a_crash_in_a_round_keeps_none_of_it_and_the_next_round_posts_it_once(
    make: Make, store: Store, blue: Team
) -> None:
    incidents = CrashingIncidents(store.db)
    bench = make(incidents=incidents)
    await bench.service.receive(captured("firing_three"))
    incidents.crash = True
    with pytest.raises(RuntimeError, match="killed"):
        await bench.publisher.publish_due()
    await bench.drain()
    assert (await bench.incident()).published_version == 0
    assert await bench.outbox.get(thread_key(1)) is None and bench.discord.messages == []

    # After the restart the same version is published whole, once.
    await bench.publish()
    assert len(bench.discord.threads) == 1 and len(bench.discord.messages) == 1

    # The same for a later version: the edit and the change message.
    await bench.service.receive(captured("resolved_partial"))
    incidents.crash = True
    with pytest.raises(RuntimeError, match="killed"):
        await bench.publisher.publish_due()
    await bench.drain()
    await bench.publish()
    thread = await bench.thread()
    assert len(bench.edits(bench.starter(thread))) == 1
    assert bench.discord.contents(thread) == [
        "📣 Changes: 0 firing · 1 resolved\n✅ pod=frontend-7d9f8b6c5d-x2x7q, container=frontend"
    ]
    incident = await bench.incident()
    assert incident.published_version == incident.version


async def test_a_change_that_arrives_after_a_crashed_round_is_said_once_with_what_that_round_held(
    make: Make, store: Store, blue: Team
) -> None:
    incidents = CrashingIncidents(store.db)
    bench = make(incidents=incidents)
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    await bench.service.receive(captured("resolved_partial"))
    incidents.crash = True
    with pytest.raises(RuntimeError, match="killed"):
        await bench.publisher.publish_due()  # the round of one alert resolving dies

    await bench.service.receive(captured("resolved_all"))  # meanwhile the others resolve too
    await bench.publish()
    said = bench.discord.contents(await bench.thread())
    assert said[0].startswith("📣 Changes: 0 firing · 3 resolved\n")
    assert len(said[0].splitlines()) == 4  # each alert said to have resolved once, none left out
    assert said[1:] == ["✅ Every alert of incident #1 has resolved. It lasted 0 s."]


async def test_a_change_that_arrives_while_the_publisher_is_down_after_a_crash_is_shown_in_the_starter(
    make: Make, store: Store, blue: Team
) -> None:
    incidents = CrashingIncidents(store.db)
    bench = make(incidents=incidents, clock=Clock(CAPTURED_AT))
    await bench.service.receive(captured("firing_three"))
    incidents.crash = True
    with pytest.raises(RuntimeError, match="killed"):
        await bench.publisher.publish_due()
    await bench.drain()  # nothing of the round that died is kept: no thread

    await bench.service.receive(captured("resolved_all"))  # meanwhile the group resolves
    await bench.publish()  # after the restart: version 2, whose thread was already started

    thread = await bench.thread()
    shown = bench.shown(bench.starter(thread))
    assert shown["embeds"][0]["title"] == f"✅ {ALERT} · {BLUE}"
    assert "all 3 alerts resolved" in shown["embeds"][0]["description"]
    assert shown["components"] == []
    assert bench.discord.contents(thread) == ["✅ Every alert of incident #1 has resolved. It lasted 1 min 0 s."]
    assert bench.discord.thread_updates == [(thread, f"✅ #1 {ALERT} · {BLUE}", True)]
    assert len(bench.discord.threads) == 1


async def sql(store: Store, *statements: str) -> None:
    async with store.db.engine.begin() as connection:
        for statement in statements:
            await connection.execute(sa.text(statement))


async def test_publishing_again_a_version_already_published_posts_nothing_twice(
    make: Make, store: Store, blue: Team
) -> None:
    bench = make()
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    await bench.service.receive(captured("resolved_partial"))
    await bench.publish()
    before = (list(bench.discord.messages), list(bench.discord.edits), dict(bench.discord.threads))

    # As if neither publish had been recorded: published_version and the announced statuses back to the start.
    await sql(store, "UPDATE incidents SET published_version = 0", "UPDATE incident_alerts SET announced = NULL")
    assert await bench.publisher.publish_due() == 1
    await bench.drain()
    await sql(store, "UPDATE incidents SET published_version = 1", "UPDATE incident_alerts SET announced = 'firing'")
    assert await bench.publisher.publish_due() == 1
    await bench.drain()

    assert (bench.discord.messages, bench.discord.edits, bench.discord.threads) == before
    assert bench.outbox.stats.duplicates >= 2


# -- resolution and the next incident ------------------------------------------------------------------------------


async def test_a_resolved_incident_says_how_long_it_lasted_loses_its_buttons_and_is_archived_as_done(
    make: Make, blue: Team
) -> None:
    clock = Clock(CAPTURED_AT)
    bench = make(clock=clock)
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    clock.advance(seconds=30)
    await bench.service.receive(captured("resolved_partial"))
    await bench.publish()
    clock.advance(seconds=30)
    await bench.service.receive(captured("resolved_all"))
    await bench.publish()

    incident = await bench.incident()
    assert incident.status == IncidentStatus.resolved
    assert incident.published_version == incident.version
    thread = await bench.thread()
    texts = bench.discord.contents(thread)
    # resolved_all ends at 14:11:23.955, one minute after the incident opened.
    assert texts[-1] == "✅ Every alert of incident #1 has resolved. It lasted 1 min 0 s."
    assert texts[-2].startswith("📣 Changes: 0 firing · 2 resolved")
    assert bench.discord.thread_updates == [(thread, f"✅ #1 {ALERT} · {BLUE}", True)]
    shown = bench.shown(bench.starter(thread))
    assert shown["components"] == []
    assert shown["embeds"][0]["title"] == f"✅ {ALERT} · {BLUE}"
    assert "all 3 alerts resolved" in shown["embeds"][0]["description"]

    # Alertmanager resends the resolved alerts for a while: nothing more is said.
    await bench.service.receive(captured("resolved_all"))
    messages = len(bench.discord.messages)
    await bench.publish()
    assert len(bench.discord.messages) == messages and len(bench.discord.thread_updates) == 1


async def test_a_group_that_fires_again_gets_a_new_thread_linking_the_previous_one(make: Make, blue: Team) -> None:
    bench = make()
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    await bench.service.receive(captured("resolved_all"))
    await bench.publish()
    first = await bench.thread(1)

    again = real_clock()
    recorded = await bench.service.receive(body([alert("frontend-7d9f8b6c5d-x2x7q", starts_at=again)]))
    assert recorded.created and recorded.incident is not None
    assert (recorded.incident.id, recorded.incident.previous_id) == (2, 1)
    await bench.publish()

    second = await bench.thread(2)
    assert second != first
    assert bench.discord.threads[second] == (TEAM_CHANNEL, f"🔥 #2 {ALERT} · {BLUE}")
    [embed] = bench.starter(second).payload["embeds"]
    assert f"(previous incident #1 <#{first}>)" in embed["description"]
    assert bench.discord.thread_updates == [(first, f"✅ #1 {ALERT} · {BLUE}", True)]  # the new one stays open


# -- the run's thread ----------------------------------------------------------------------------------------------


async def test_the_teams_run_thread_is_told_once_and_only_when_the_incident_thread_exists(
    make: Make, store: Store, blue: Team
) -> None:
    bench = make()
    now = real_clock()
    run = await store.runs.create(blue.id, 2, now, now + timedelta(hours=1), ["image-pull"], {})
    await bench.outbox.enqueue(
        dedupe_key=f"run:{run.id}:briefing",
        kind="thread",
        channel_id=TEAM_CHANNEL,
        run_id=run.id,
        payload={"name": "Run 1 · Blue Whales", "message": {"content": "briefing"}},
    )
    await bench.drain()
    run_thread = (await store.runs.get(run.id)).thread_id  # type: ignore[union-attr]
    assert run_thread is not None

    # Discord is slow to start the incident thread: the run's thread waits for it.
    bench.discord.hang[TEAM_CHANNEL] = release = asyncio.Event()
    await bench.service.receive(captured("firing_one"))
    assert (await bench.incident()).run_id == run.id
    await bench.publisher.publish_due()
    await bench.discord.until(lambda: ("create_thread", TEAM_CHANNEL) in bench.discord.calls)
    assert await bench.publisher.notify_runs() is True
    assert await bench.outbox.get(f"run:{run.id}:incident:1") is None
    assert not (await bench.incident()).run_notified

    del bench.discord.hang[TEAM_CHANNEL]
    release.set()
    await bench.drain()
    assert await bench.publisher.notify_runs() is False
    await bench.drain()
    incident_thread = await bench.thread()
    assert bench.discord.contents(run_thread) == [
        f"📟 Your cluster is telling you something: **{ALERT} · {BLUE}** → <#{incident_thread}>"
    ]
    assert (await bench.incident()).run_notified

    # Later changes and later rounds say nothing more there.
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    assert await bench.publisher.notify_runs() is False
    await bench.drain()
    assert len(bench.discord.contents(run_thread)) == 1


# -- the cluster's context -----------------------------------------------------------------------------------------


async def test_the_cluster_is_read_for_newly_firing_alerts_only_at_most_max_contexts_and_its_errors_stop_nothing(
    make: Make, blue: Team
) -> None:
    asked: list[dict[str, str]] = []

    async def read_cluster(labels: Mapping[str, str]) -> str | None:
        asked.append(dict(labels))
        if labels["pod"] == "web-1":
            raise ConnectionError("the API server went away")
        return None if labels["pod"] == "web-2" else f"Events of {labels['pod']}: Failed to pull image"

    bench = make(cluster_context=read_cluster)
    start = real_clock() - timedelta(minutes=1)
    held = {f"web-{i}": alert(f"web-{i}", starts_at=start + timedelta(seconds=i)) for i in range(5)}
    await bench.service.receive(body(list(held.values())))
    await bench.publish()

    # Five new alerts: the first MAX_CONTEXTS objects are read, one of them failing, one saying nothing.
    assert MAX_CONTEXTS == 3
    assert asked == [{"namespace": BLUE, "pod": f"web-{i}", "container": "frontend"} for i in range(3)]
    thread = await bench.thread()
    assert bench.discord.contents(thread) == [
        "🔎 What the cluster says (container=frontend, namespace=kubecamp-blue, pod=web-0):\n"
        "```\nEvents of web-0: Failed to pull image\n```"
    ]
    incident = await bench.incident()
    assert incident.published_version == incident.version

    # A change that fires nothing new reads nothing; a new alert is read, alone.
    asked.clear()
    held["web-4"] = alert("web-4", starts_at=start + timedelta(seconds=4), ends_at=real_clock())
    await bench.service.receive(body(list(held.values())))
    await bench.publish()
    assert asked == []
    held["web-5"] = alert("web-5", starts_at=start + timedelta(seconds=5))
    await bench.service.receive(body(list(held.values())))
    await bench.publish()
    assert asked == [{"namespace": BLUE, "pod": "web-5", "container": "frontend"}]
    assert bench.discord.contents(thread)[-1].endswith("```\nEvents of web-5: Failed to pull image\n```")
    incident = await bench.incident()
    assert incident.published_version == incident.version


# -- the loop ------------------------------------------------------------------------------------------------------


class FlakyIncidents(IncidentStore):
    """The database refuses reads while `down`."""

    down = False
    failures = 0

    async def to_publish(self, *, not_before: datetime) -> list[Incident]:
        if self.down:
            self.failures += 1
            raise StoreUnavailable("database sqlite:///kubecamp.db: database is locked")
        return await super().to_publish(not_before=not_before)


async def test_the_publisher_survives_a_store_error_and_publishes_once_the_store_is_back(
    make: Make, store: Store, blue: Team, caplog: pytest.LogCaptureFixture
) -> None:
    incidents = FlakyIncidents(store.db)
    incidents.down = True
    bench = make(incidents=incidents)
    await bench.service.receive(captured("firing_three"))
    bench.publisher.start()

    async def failed() -> bool:
        return incidents.failures >= 1

    await eventually(failed, "the publisher to meet the store error")
    await asyncio.sleep(0.1)
    assert incidents.failures == 1  # it backs off rather than spinning
    assert bench.discord.threads == {}
    incidents.down = False  # no wake-up, no new notification: the publisher tries again by itself

    async def published() -> bool:
        return await bench.publisher.thread_id(1) is not None

    await eventually(published, "the incident thread after the store came back")
    assert "incidents: cannot publish" in caplog.text
    assert len(bench.discord.threads) == 1
