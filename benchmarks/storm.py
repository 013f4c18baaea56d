"""Benchmark 2: an alert storm, through the bot and side by side through Alertmanager's own Discord receiver.

The storm (`Storm`): 1000 alerts in 20 groups of 50 (one alert per Pod) within 10 s, with resolutions. Half
the groups burst — all 50 alerts fire at once, as when a node fails — and half grow over the first 5 s; in
the last 5 s every alert of half the groups resolves, and every other alert of the rest, so the final state
is a mix of both (750 resolved, 250 firing).

The bot: a `kubecamp run` process in a class of `load.CLASS_TEAMS` teams, the groups spread over their
namespaces and one of no team (`load.spread_groups`), so incidents go to the team channels and the alerts
channel. The storm reaches its webhook as Alertmanager would send it with group_wait `GROUP_WAIT` and
group_interval `GROUP_INTERVAL`: each group on its own, whenever something changed, its firing alerts and
those resolved since its last notification. Measured from the answer to the last notification until every
alert's final state can be read in Discord, parsed from what the emulator holds (`bot_statements`): the
lines in the incident's thread (🔥/✅ and the labels render.describe writes), else the field of the
thread's starter embed. Also until every starter embed shows the final state and the resolved incidents'
threads are archived, and the bot's Discord requests (429s included) per notification.

Alertmanager: a real Alertmanager 0.25 with ``discord_configs`` posting to an incoming webhook of another
channel of the same emulator (the same buckets: 5 requests per 5 s), with the same group_wait and
group_interval, the same alerts pushed to its API at the same moments. Measured once it has been quiet for
`QUIET` seconds, or `ALERTMANAGER_GRACE` seconds after the storm's last alert event (it keeps re-sending
what Discord refused): the messages Discord accepted, the requests it refused (429, or 400 for a body over
Discord's limits), and the alerts whose final state no accepted message shows (`alertmanager_statements`).

Both run at the same time, against one emulator.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.harness import Bench, Measure, bench
from benchmarks.load import seed_teams, spread_groups, webhook_client
from benchmarks.notifications import Group
from bot.incidents.render import FIRING, RESOLVED
from bot.store.models import AlertStatus
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.rest import RecordedRequest
from tests.discord_emulator.state import Channel, Message
from tests.peers.processes import AlertmanagerProcess, postable_alert

NAME = "storm"
GROUPS = 20
ALERTS_PER_GROUP = 50
STORM_SECONDS = 10.0
GROUP_WAIT = 1.0
GROUP_INTERVAL = 2.0
#: How often alerts reach Alertmanager's API during the storm (Prometheus sends what its rules found).
FEED_STEP = 0.1
#: Targets: from the last notification until every alert's state is visible; requests per notification.
VISIBLE_TARGET = 15.0
REQUESTS_TARGET = 3.0
#: The bot not done this long after the last notification: the storm's measures say how far it got.
BOT_DEADLINE = 4 * VISIBLE_TARGET
#: Alertmanager is done when it has posted nothing for this long (two group intervals and a second)…
QUIET = 2 * GROUP_INTERVAL + 1.0
#: …or this long after the storm's last alert event: the time the bot gets, after a last group interval.
ALERTMANAGER_GRACE = GROUP_INTERVAL + VISIBLE_TARGET
#: How often Discord's state is read while waiting.
POLL = 0.1
EXECUTE_WEBHOOK = "POST /webhooks/{webhook_id}/{webhook_token}"

Key = tuple[str, str]
"""An alert: (namespace, pod)."""


# --- the storm ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    """When each alert of each group fires and resolves, in seconds from the storm's start."""

    groups: tuple[Group, ...]
    seconds: float

    @staticmethod
    def bursts(g: int) -> bool:
        """Even groups fire all at once; odd ones grow."""
        return g % 2 == 0

    @staticmethod
    def resolves_all(g: int) -> bool:
        """Groups 0 and 1 of every 4 resolve entirely; the others every other alert."""
        return g % 4 < 2

    def fires_at(self, g: int, i: int) -> float:
        return 0.0 if self.bursts(g) else i / ALERTS_PER_GROUP * self.seconds / 2

    def resolves_at(self, g: int, i: int) -> float:
        """When the alert resolves; `math.inf`: it is still firing when the storm ends."""
        if not self.resolves_all(g) and i % 2:
            return math.inf
        return self.seconds / 2 + i / ALERTS_PER_GROUP * self.seconds / 2

    def last_event(self, g: int) -> float:
        """When the last alert of group `g` fires or resolves."""
        moments = [f(g, i) for f in (self.fires_at, self.resolves_at) for i in range(ALERTS_PER_GROUP)]
        return max(m for m in moments if m < math.inf)

    @property
    def alerts(self) -> int:
        return len(self.groups) * ALERTS_PER_GROUP

    @staticmethod
    def key(group: Group, i: int) -> Key:
        return group.namespace, group.labels(i)["pod"]

    def final(self) -> dict[Key, AlertStatus]:
        """Every alert's state once the storm is over."""
        return {
            self.key(group, i): AlertStatus.firing if self.resolves_at(g, i) == math.inf else AlertStatus.resolved
            for g, group in enumerate(self.groups)
            for i in range(ALERTS_PER_GROUP)
        }

    def fully_resolved(self) -> set[tuple[str, str]]:
        """The groups, (alertname, namespace), whose every alert resolves."""
        return {(group.alertname, group.namespace) for g, group in enumerate(self.groups) if self.resolves_all(g)}

    def notifications(self, g: int) -> Iterator[tuple[float, list[int], list[int]]]:
        """What Alertmanager sends about group `g`: (when, firing, resolved since the last one), first after
        GROUP_WAIT, then every GROUP_INTERVAL in which something changed, until the group's last event."""
        at, before = GROUP_WAIT, -math.inf
        last_firing: list[int] = []
        while before < self.last_event(g):
            firing = [i for i in range(ALERTS_PER_GROUP) if self.fires_at(g, i) <= at < self.resolves_at(g, i)]
            resolved = [i for i in range(ALERTS_PER_GROUP) if before < self.resolves_at(g, i) <= at]
            if firing != last_firing or resolved:
                yield at, firing, resolved
            last_firing, before, at = firing, at, at + GROUP_INTERVAL

    def events(self, after: float, until: float) -> Iterator[tuple[int, int, bool]]:
        """(group, alert, resolved) for every alert that fires or resolves in (after, until]."""
        for g in range(len(self.groups)):
            for i in range(ALERTS_PER_GROUP):
                if after < self.fires_at(g, i) <= until:
                    yield g, i, False
                if after < self.resolves_at(g, i) <= until:
                    yield g, i, True


def build_storm(namespaces: list[str], *, scale: float) -> Storm:
    """`GROUPS` × `scale` groups (a multiple of 4, so each kind is there) over `STORM_SECONDS` × `scale`
    (at least 4 s); a group always has `ALERTS_PER_GROUP` alerts, more than an embed can name."""
    count = 4 * max(1, round(GROUPS * scale / 4))
    groups = spread_groups(count, namespaces, started=datetime.now(UTC))
    return Storm(tuple(groups), max(4.0, STORM_SECONDS * scale))


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))


async def poll_until(condition: Callable[[], bool], deadline: float) -> bool:
    """Check `condition` every `POLL` seconds until it holds (True) or `deadline` passes (False). Polled
    rather than woken by each request (`DiscordEmulator.wait_until`): parsing what Discord holds is the
    costly part, and it shares the emulator's process."""
    while not condition():
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(POLL)
    return True


async def feed_bot(session: aiohttp.ClientSession, url: str, storm: Storm, began: float) -> tuple[int, float]:
    """Post each group's notifications to the bot's webhook at their moments, each group on its own as
    Alertmanager flushes them; (notifications posted, when the last one was answered)."""
    answered = 0.0
    posted = 0

    async def group(g: int) -> None:
        nonlocal answered, posted
        for at, firing, resolved in storm.notifications(g):
            await _sleep_until(began + at)
            body = storm.groups[g].notification(firing, resolved, at=datetime.now(UTC))
            async with session.post(url, data=body) as response:
                if response.status != 200:
                    raise RuntimeError(f"the bot answered a notification with {response.status}")
            posted += 1
            answered = max(answered, time.perf_counter())

    await asyncio.gather(*(group(g) for g in range(len(storm.groups))))
    return posted, answered


async def feed_alertmanager(alertmanager: AlertmanagerProcess, storm: Storm, began: float) -> float:
    """Push the storm's alerts to Alertmanager's API as they fire and resolve, every `FEED_STEP`; when the
    last was pushed."""
    for step in range(math.ceil(storm.seconds / FEED_STEP) + 1):
        until = step * FEED_STEP
        await _sleep_until(began + until)
        now = datetime.now(UTC)
        batch = []
        for g, i, resolved in storm.events(until - FEED_STEP if step else -math.inf, until):
            alert = storm.groups[g].alert(i)
            batch.append(
                postable_alert(
                    storm.groups[g].labels(i),
                    storm.groups[g].annotations(i),
                    starts_at=datetime.fromisoformat(str(alert["startsAt"])),
                    ends_at=now if resolved else None,
                    generator_url=str(alert["generatorURL"]),
                )
            )
        if batch:
            await alertmanager.post_alerts(batch)
    return time.perf_counter()


# --- what Discord shows --------------------------------------------------------------------------------------------

STATUS = {FIRING: AlertStatus.firing, RESOLVED: AlertStatus.resolved}
#: A line of the thread or the name of an embed field, as render.py writes them: "🔥 pod=…" / "✅ pod=…".
BOT_LINE = re.compile(rf"^({FIRING}|{RESOLVED}) pod=([^,\s]+)")
#: Alertmanager's default template: the alerts under "Alerts Firing:" / "Alerts Resolved:", one label a line.
AM_SECTION = {"Alerts Firing:": AlertStatus.firing, "Alerts Resolved:": AlertStatus.resolved}
AM_LABEL = re.compile(r"^ - (namespace|pod) = (.+)$")


def incident_starters(discord: DiscordEmulator) -> dict[int, Message]:
    """The bot's messages that started a thread, by thread (incident threads: the class has no runs)."""
    return {
        message.thread_id: message
        for channel in discord.world.channels.values()
        if not channel.is_thread
        for message in discord.messages(channel)
        if message.thread_id is not None and message.webhook_id is None
    }


def incident_group(starter: Message) -> tuple[str, str]:
    """(alertname, namespace), from the title of the starter's embed: "🔥 alertname · namespace"."""
    alertname, _, namespace = str(starter.embeds[0]["title"]).split(" ", 1)[-1].partition(" · ")
    return alertname, namespace


def bot_statements(discord: DiscordEmulator) -> dict[Key, AlertStatus]:
    """Each alert's state as the bot's incident threads show it: the last line naming it in the thread,
    else its field in the starter embed (which names at most 24)."""
    shown: dict[Key, AlertStatus] = {}
    for thread_id, starter in incident_starters(discord).items():
        _, namespace = incident_group(starter)
        texts = [str(field["name"]) for field in starter.embeds[0].get("fields", [])]
        texts += [line for message in discord.messages(thread_id) for line in message.content.splitlines()]
        for text in texts:
            match = BOT_LINE.match(text)
            if match:
                shown[namespace, match.group(2)] = STATUS[match.group(1)]
    return shown


def embeds_current(discord: DiscordEmulator, storm: Storm, final: dict[Key, AlertStatus]) -> bool:
    """Whether every starter embed shows its group's final state (title and every field it names) and the
    threads of the groups that resolved are archived."""
    done = storm.fully_resolved()
    starters = incident_starters(discord)
    if len(starters) < len(storm.groups):
        return False
    for thread_id, starter in starters.items():
        group = incident_group(starter)
        embed = starter.embeds[0]
        resolved = group in done
        if str(embed["title"]).startswith(RESOLVED) != resolved:
            return False
        if discord.world.channel(thread_id).archived != resolved:
            return False
        for field in embed.get("fields", []):
            match = BOT_LINE.match(str(field["name"]))
            if match and final[group[1], match.group(2)] != STATUS[match.group(1)]:
                return False
    return True


def alertmanager_statements(discord: DiscordEmulator, channel: Channel) -> dict[Key, AlertStatus]:
    """Each alert's state as the last message of Alertmanager naming it says (its default template)."""
    shown: dict[Key, AlertStatus] = {}
    for message in discord.messages(channel):
        for embed in message.embeds:
            section, namespace = None, ""
            for line in str(embed.get("description", "")).splitlines():
                section = AM_SECTION.get(line, section)
                label = AM_LABEL.match(line)
                if label and label.group(1) == "namespace":
                    namespace = label.group(2)
                elif label and section is not None:
                    shown[namespace, label.group(2)] = section
    return shown


def alertmanager_group(request: RecordedRequest) -> tuple[str, ...]:
    """The group a message of Alertmanager is about, (alertname, namespace): the group labels' values that
    follow the status in its title, "[FIRING:25] alertname namespace (other common labels)"."""
    title = str(request.json["embeds"][0]["title"]) if isinstance(request.json, dict) else ""
    return tuple(title.split("] ", 1)[-1].split(" ")[:2])


def not_shown(final: dict[Key, AlertStatus], shown: dict[Key, AlertStatus]) -> int:
    """How many alerts Discord does not show in their final state."""
    return sum(shown.get(key) != status for key, status in final.items())


def refusal(request: RecordedRequest) -> str:
    """Why Discord refused a request, briefly: its status and, for a 400, the fields Discord named."""
    if request.status != 400 or not isinstance(request.response, dict):
        return str(request.status)
    errors = request.response.get("errors") or {}
    return f"400 {' '.join(sorted(_error_codes(errors)))}".strip()


def _error_codes(errors: Any) -> Iterator[str]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_errors":
                yield from (str(e.get("code")) for e in value)
            else:
                yield from _error_codes(value)


# --- the run -------------------------------------------------------------------------------------------------------


@dataclass
class BotResult:
    notifications: int
    visible_after: float
    current_after: float
    not_visible: int
    requests: list[RecordedRequest]


@dataclass
class AlertmanagerResult:
    requests: list[RecordedRequest]
    named: int
    lost: int
    #: Groups whose last notification Discord refused: Alertmanager was still trying when it was stopped.
    last_refused: int


async def watch_bot(b: Bench, storm: Storm, feeding: asyncio.Task[tuple[int, float]], first: int) -> BotResult:
    """Once the last notification is answered: until every alert's state is visible, then until every embed is
    current (each at most `BOT_DEADLINE`), then until the bot's requests stop for a second."""
    posted, answered = await feeding
    final = storm.final()
    deadline = answered + BOT_DEADLINE
    await poll_until(lambda: not not_shown(final, bot_statements(b.discord)), deadline)
    visible = time.perf_counter() - answered
    await poll_until(lambda: embeds_current(b.discord, storm, final), deadline)
    current = time.perf_counter() - answered
    bot = f"Bot {b.discord.token}"

    def made() -> list[RecordedRequest]:
        return [r for r in b.discord.requests[first:] if r.headers.get("Authorization") == bot]

    count = -1
    while count != len(made()) and time.perf_counter() < deadline:
        count = len(made())
        await asyncio.sleep(1.0)
    return BotResult(posted, visible, current, not_shown(final, bot_statements(b.discord)), made())


async def watch_alertmanager(
    discord: DiscordEmulator, channel: Channel, storm: Storm, feeding: asyncio.Task[float]
) -> AlertmanagerResult:
    """Once the storm is in Alertmanager: until it has posted nothing for `QUIET` s, at most `ALERTMANAGER_GRACE` s."""
    fed = await feeding
    deadline = fed + ALERTMANAGER_GRACE

    def posts() -> list[RecordedRequest]:
        return discord.requests_for(EXECUTE_WEBHOOK)

    count, last_change = len(posts()), time.perf_counter()
    while time.perf_counter() < min(deadline, last_change + QUIET):
        await asyncio.sleep(POLL)
        if len(posts()) != count:
            count, last_change = len(posts()), time.perf_counter()
    last_answer: dict[tuple[str, ...], int | None] = {}
    for request in posts():
        last_answer[alertmanager_group(request)] = request.status
    refused = sum(status not in (200, 204) for status in last_answer.values())
    shown = alertmanager_statements(discord, channel)
    return AlertmanagerResult(posts(), len(shown), not_shown(storm.final(), shown), refused)


async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]:
    async with bench(workdir) as b:
        namespaces = await seed_teams(b)
        channel = b.discord.add_text_channel(b.room.guild, "alertmanager")
        alertmanager = AlertmanagerProcess(
            workdir / "alertmanager",
            webhook_url=b.discord.add_webhook(channel, "Alertmanager"),
            discord=True,
            group_wait=f"{GROUP_WAIT:g}s",
            group_interval=f"{GROUP_INTERVAL:g}s",
        )
        await b.bot.start()
        await alertmanager.start()
        try:
            # Built now, so that the alerts start when the storm does: Alertmanager flushes a new group at
            # once, without group_wait, when its first alert started more than group_wait ago.
            storm = build_storm(namespaces, scale=scale)
            first = len(b.discord.requests)
            began = time.perf_counter()
            async with webhook_client(len(storm.groups)) as session, asyncio.TaskGroup() as tasks:
                to_bot = tasks.create_task(feed_bot(session, b.webhook_url, storm, began))
                to_alertmanager = tasks.create_task(feed_alertmanager(alertmanager, storm, began))
                bot = tasks.create_task(watch_bot(b, storm, to_bot, first))
                am = tasks.create_task(watch_alertmanager(b.discord, channel, storm, to_alertmanager))
        finally:
            await alertmanager.stop()
    return measures(storm, bot.result(), am.result())


def measures(storm: Storm, bot: BotResult, am: AlertmanagerResult) -> list[Measure]:
    def measure(what: str, value: float, unit: str = "", target: float | None = None) -> Measure:
        return Measure(NAME, what, value, unit, target)

    refused = Counter(refusal(r) for r in am.requests if r.status not in (200, 204))
    receiver = "Alertmanager discord_configs"
    return [
        measure(
            f"bot: last notification → every alert's state visible ({storm.alerts} alerts, {len(storm.groups)} groups)",
            bot.visible_after,
            "s",
            VISIBLE_TARGET,
        ),
        measure("bot: alerts not shown in their final state", bot.not_visible, "alerts", 0),
        measure("bot: Discord requests per group update", len(bot.requests) / bot.notifications, "", REQUESTS_TARGET),
        measure("bot: group updates (notifications posted)", bot.notifications),
        measure("bot: Discord requests", len(bot.requests)),
        measure("bot: Discord 429s", sum(r.status == 429 for r in bot.requests)),
        measure("bot: last notification → every embed current, resolved threads archived", bot.current_after, "s"),
        measure(f"{receiver}: requests", len(am.requests)),
        measure(f"{receiver}: messages accepted", sum(r.status in (200, 204) for r in am.requests)),
        *(measure(f"{receiver}: refused {why}", count) for why, count in sorted(refused.items())),
        measure(f"{receiver}: alerts named in any message accepted", am.named, "alerts"),
        measure(f"{receiver}: alerts not shown in their final state", am.lost, "alerts"),
        measure(f"{receiver}: groups whose last message was refused", am.last_refused),
    ]
