"""A live class: the real App (store, cluster, outbox, scheduler, bot) against the Discord
emulator and the emulated cluster, with teams blue and red linked to their roles and channels."""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.app import App, build
from bot.challenges.board import WATCH_SECONDS as BOARD_WATCH_SECONDS
from bot.challenges.catalog import Catalog, load_catalog
from bot.config import (
    AlertmanagerSettings,
    CatalogSettings,
    DiscordSettings,
    LogSettings,
    RepositorySettings,
    Settings,
    StoreSettings,
    WebhookSettings,
    WebSettings,
)
from bot.i18n import Lang
from bot.readiness import INTERVAL
from bot.store.db import is_sqlite
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom, patch_discord_endpoints
from tests.emulators.fixtures import chart_kube_environment, chart_kube_settings, install_chart
from tests.emulators.kube import BOT_TOKEN, KubeCluster

REPO = Path(__file__).parents[2]
#: The bearer token Alertmanager presents to the class's webhook.
WEBHOOK_TOKEN = "class-webhook-token"
#: Seconds between two rounds of a class's readiness checks where a test waits for a change: short, so that it
#: sees one soon. Elsewhere a class keeps the bot's own interval (its first round runs at start): five rounds a
#: second, each a read of the store and a request to the emulated cluster, were CPU every class test spent.
READINESS_INTERVAL = 0.2
#: Seconds discord.py waits after the last GUILD_CREATE before the class's bot is ready. The emulator sends a
#: class's one guild right behind READY, so the bot's own half second (`GUILD_READY_TIMEOUT`) would only be
#: waited out at every start of every class.
GUILD_READY_TIMEOUT = 0.05


@functools.cache
def repository_catalog() -> Catalog:
    """The repository's scenarios, loaded once per test process for every class started on them: the App only
    reads its catalogue, no test writes into `scenarios/`, and each load was tens of milliseconds of CPU. A class
    on another folder loads it at start, as the bot does."""
    return load_catalog(REPO / "scenarios")


class Clock:
    """Real time, shifted: a test moves the class's start into the past instead of waiting."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Class:
    app: App
    discord: DiscordEmulator
    room: Classroom
    kube: KubeCluster
    clock: Clock


@asynccontextmanager
async def open_class(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    *,
    alertmanager_url: str | None = None,
    edit_interval: float = 5.0,
    web_port: int = 0,
    create_teams: bool = True,
    kube_timeout: float = 5.0,
    scenarios_dir: Path = REPO / "scenarios",
    language: Lang = "en",
    global_sync: bool = False,
    data_min_free_mib: int = 0,
    announcements_channel: int | None = None,
    instructors_channel: int | None = None,
    board_stuck_minutes: int = 15,
    readiness_interval: float = INTERVAL,
    board_watch_interval: float = BOARD_WATCH_SECONDS,
    database_url: str | None = None,
    repository: RepositorySettings | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Class]:
    """The App of a class, started, with teams blue and red (created unless `create_teams` is False: a
    restart on the same data folder); the alerts channel takes the incidents of no team. `kube_timeout`:
    seconds per Kubernetes API request; `global_sync`: the commands are registered globally too. The
    readiness checks run every `readiness_interval` seconds, the boards look at the class every
    `board_watch_interval`; the data volume must keep `data_min_free_mib`
    free (none by default: a test machine's disk is not the class's). `announcements_channel`, `instructors_channel`
    and `board_stuck_minutes`: the settings of the same names (none of the channels by default). The store is at
    `database_url` if given, else in `tmp_path`. `repository`: where and how far a
    submitted repository is fetched (default: GitHub, which a test cannot reach). `clock`: the class's clock, to
    start a restarted bot at a moment after its deadlines (default: real time)."""
    settings = Settings(
        store=StoreSettings(data_dir=tmp_path, data_min_free_mib=data_min_free_mib, database_url=database_url),
        catalog=CatalogSettings(scenarios_dir=scenarios_dir, language=language),
        kube=chart_kube_settings(
            config=kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", token=BOT_TOKEN),
            timeout_seconds=kube_timeout,
            team_server=kube_cluster.url,
        ),
        discord=DiscordSettings(
            token=discord_emulator.token,
            guild_ids=[discord_classroom.id],
            global_sync=global_sync,
            instructor_role=discord_classroom.instructor_role.id,
            api_base=discord_emulator.api_url,
            gateway_url=discord_emulator.gateway_url,
            alerts_channel=discord_classroom.alerts.id,
            announcements_channel=announcements_channel,
            instructors_channel=instructors_channel,
            board_stuck_minutes=board_stuck_minutes,
        ),
        web=WebSettings(host="127.0.0.1", port=web_port, probe_port=0, scoreboard_port=0),
        log=LogSettings(),
        webhook=WebhookSettings(token=WEBHOOK_TOKEN),
        alertmanager=AlertmanagerSettings(url=alertmanager_url, edit_interval=edit_interval),
        repository=repository or RepositorySettings(),
    )
    install_chart(kube_cluster)
    clock = clock or Clock()
    with patch_discord_endpoints(discord_emulator):
        catalog = repository_catalog() if scenarios_dir == REPO / "scenarios" else None
        app = await build(
            settings,
            clock=clock,
            readiness_interval=readiness_interval,
            board_watch_interval=board_watch_interval,
            catalog=catalog,
        )
        app.bot._connection.guild_ready_timeout = GUILD_READY_TIMEOUT
        try:
            await app.start()
            await asyncio.wait_for(app.wait_ready(), 15)
            for team in ("blue", "red") if create_teams else ():
                await app.store.teams.create(
                    team,
                    f"kubecamp-{team}",
                    role_id=discord_classroom.team_roles[team].id,
                    channel_id=discord_classroom.team_channels[team].id,
                )
            yield Class(app, discord_emulator, discord_classroom, kube_cluster, clock)
        finally:
            await app.stop()


@pytest.fixture
def edit_interval() -> float:
    """Seconds between two edits of an incident's message in `live_class`: the bot's default. A module whose
    tests only wait for the edits, proving nothing of their pace, overrides this fixture with a short one."""
    return 5.0


@pytest.fixture
def readiness_interval() -> float:
    """Seconds between two rounds of `live_class`'s readiness checks: the bot's own. A module whose tests wait for
    readiness to change overrides this fixture with `READINESS_INTERVAL`."""
    return INTERVAL


@pytest.fixture
def class_folder(tmp_path: Path, migrated_db: Path) -> Path:
    """`tmp_path` holding a copy of `migrated_db` as the class's database: a class opened on it starts as a
    restarted bot does, without migrating a new file, a tenth of a second of CPU that most classes of the tests
    paid. (`test_app`'s class opens on an empty folder: a first start.)"""
    shutil.copyfile(migrated_db, make_url(StoreSettings(data_dir=tmp_path).url).database or "")
    return tmp_path


@pytest.fixture
async def live_class(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    tmp_path: Path,
    edit_interval: float,
    readiness_interval: float,
    request: pytest.FixtureRequest,
    db_url: str,
) -> AsyncIterator[Class]:
    """A class on `class_folder` (on PostgreSQL, `db_url` in a test marked every_database: a copy of the migrated
    database)."""
    database_url = None
    folder: Path = tmp_path
    if is_sqlite(db_url):
        folder = request.getfixturevalue("class_folder")
    else:
        request.getfixturevalue("refill_migrated")(db_url)
        database_url = db_url
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        folder,
        edit_interval=edit_interval,
        readiness_interval=readiness_interval,
        database_url=database_url,
    ) as live:
        yield live


async def quiet(live: Class) -> None:
    """Wait until whatever the bot was going to post has reached Discord: the scheduler's jobs under way have
    finished and the outbox has delivered all they gave it. A check that something was posted once waits for
    this, not for a fixed time, so a second post is there to be counted."""
    await live.app.flow.wait_idle(10)
    assert await live.app.outbox.drain(10), "the outbox did not deliver everything within 10 s"


def thread_of(live: Class, team: str):  # type: ignore[no-untyped-def]
    threads = live.discord.threads(live.room.team_channels[team])
    return threads[0] if threads else None


def _incident_thread(live: Class, channel: Any, alert: str, namespace: str | None) -> Any:
    for thread in live.discord.threads(channel):
        if alert in thread.name and (namespace is None or namespace in thread.name):
            return thread
    return None


async def incident_starter(live: Class, channel: Any, alert: str, namespace: str | None = None) -> tuple[Any, int]:
    """The message that starts the thread of the incident `alert` (in `namespace`) in `channel`, once it is
    there (it carries the buttons), and the incident's id."""
    await live.discord.wait_until(
        lambda: _incident_thread(live, channel, alert, namespace), 10, f"the thread of {alert} {namespace or ''}"
    )
    thread = _incident_thread(live, channel, alert, namespace)
    [message] = [m for m in live.discord.messages(channel) if m.thread_id == thread.id]
    [ack] = [c for c in message.custom_ids() if c.endswith(":ack")]
    return message, int(ack.split(":")[2])


async def slash(live: Class, user: str, where: str, group: str, sub: str, /, **options: object):  # type: ignore[no-untyped-def]
    """`user` runs `/group sub options…` in the channel named `where`."""
    return await live.discord.slash(live.room.guild, where, user, group, options or None, subcommand=sub)


async def answer(record) -> str:  # type: ignore[no-untyped-def]
    """The text the user saw: the reply, or the follow-up after a deferral."""
    if record.deferred:
        await record.wait_followups(1)
        return str(record.followups[0].content)
    return str(record.text())


def process_environment(
    data_dir: Path,
    discord: DiscordEmulator,
    room: Classroom,
    kube: KubeCluster,
    *,
    edit_interval: float = 5.0,
    database_url: str | None = None,
) -> dict[str, str]:
    """The ``KUBECAMP_*`` settings of a ``kubecamp run`` process for this class (tests.peers.processes.
    KubecampProcess): English, the webhook on with `WEBHOOK_TOKEN`, the alerts channel for incidents of no team;
    the store at `database_url` if given, else the SQLite file in `data_dir`."""
    return {
        "KUBECAMP_DATA_DIR": str(data_dir),
        **({"KUBECAMP_DATABASE_URL": database_url} if database_url else {}),
        "KUBECAMP_SCENARIOS_DIR": str(REPO / "scenarios"),
        "KUBECAMP_LANGUAGE": "en",
        "KUBECAMP_KUBE_CONFIG": str(kube.write_kubeconfig(data_dir / "kubeconfig", token=BOT_TOKEN)),
        **chart_kube_environment(),
        "KUBECAMP_DISCORD_TOKEN": discord.token,
        "KUBECAMP_DISCORD_GUILD_IDS": str(room.id),
        "KUBECAMP_DISCORD_INSTRUCTOR_ROLE": str(room.instructor_role.id),
        "KUBECAMP_DISCORD_API_BASE": discord.api_url,
        "KUBECAMP_DISCORD_GATEWAY_URL": discord.gateway_url,
        "KUBECAMP_DISCORD_ALERTS_CHANNEL": str(room.alerts.id),
        "KUBECAMP_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "KUBECAMP_ALERTMANAGER_EDIT_INTERVAL": str(edit_interval),
    }


async def post_notification(url: str, body: bytes) -> int:
    """Alertmanager posts `body` to the webhook at `url` (with the class's token); the HTTP status it gets."""
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


async def deliver(live: Class, body: bytes) -> int:
    """Alertmanager posts `body` to the class's webhook; the HTTP status it gets."""
    return await post_notification(f"http://127.0.0.1:{live.app.web.port}/webhooks/alertmanager", body)
