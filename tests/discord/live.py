"""A live class: the real App (store, cluster, outbox, scheduler, bot) against the Discord
emulator and the emulated cluster, with teams blue and red linked to their roles and channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import App, build
from bot.config import (
    AlertmanagerSettings,
    CatalogSettings,
    DiscordSettings,
    LogSettings,
    Settings,
    StoreSettings,
    WebhookSettings,
    WebSettings,
)
from bot.i18n import Lang
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom, patch_discord_endpoints
from tests.emulators.fixtures import chart_kube_environment, chart_kube_settings
from tests.emulators.kube import BOT_TOKEN, KubeCluster

REPO = Path(__file__).parents[2]
#: The bearer token Alertmanager presents to the class's webhook.
WEBHOOK_TOKEN = "class-webhook-token"


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
) -> AsyncIterator[Class]:
    """The App of a class, started, with teams blue and red (created unless `create_teams` is False: a
    restart on the same data folder); the alerts channel takes the incidents of no team. `kube_timeout`:
    seconds per Kubernetes API request."""
    settings = Settings(
        store=StoreSettings(data_dir=tmp_path),
        catalog=CatalogSettings(scenarios_dir=scenarios_dir, language=language),
        kube=chart_kube_settings(
            config=kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", token=BOT_TOKEN), timeout_seconds=kube_timeout
        ),
        discord=DiscordSettings(
            token=discord_emulator.token,
            guild_ids=[discord_classroom.id],
            instructor_role="instructor",
            api_base=discord_emulator.api_url,
            gateway_url=discord_emulator.gateway_url,
            alerts_channel=discord_classroom.alerts.id,
        ),
        web=WebSettings(host="127.0.0.1", port=web_port),
        log=LogSettings(),
        webhook=WebhookSettings(token=WEBHOOK_TOKEN),
        alertmanager=AlertmanagerSettings(url=alertmanager_url, edit_interval=edit_interval),
    )
    clock = Clock()
    with patch_discord_endpoints(discord_emulator):
        app = await build(settings, clock=clock)
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
async def live_class(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, tmp_path: Path
) -> AsyncIterator[Class]:
    async with open_class(discord_emulator, discord_classroom, kube_cluster, tmp_path) as live:
        yield live


def thread_of(live: Class, team: str):  # type: ignore[no-untyped-def]
    threads = live.discord.threads(live.room.team_channels[team])
    return threads[0] if threads else None


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
    data_dir: Path, discord: DiscordEmulator, room: Classroom, kube: KubeCluster, *, edit_interval: float = 5.0
) -> dict[str, str]:
    """The ``KUBECAMP_*`` settings of a ``kubecamp run`` process for this class (tests.peers.processes.
    KubecampProcess): English, the webhook on with `WEBHOOK_TOKEN`, the alerts channel for incidents of no team."""
    return {
        "KUBECAMP_DATA_DIR": str(data_dir),
        "KUBECAMP_SCENARIOS_DIR": str(REPO / "scenarios"),
        "KUBECAMP_LANGUAGE": "en",
        "KUBECAMP_KUBE_CONFIG": str(kube.write_kubeconfig(data_dir / "kubeconfig", token=BOT_TOKEN)),
        **chart_kube_environment(),
        "KUBECAMP_DISCORD_TOKEN": discord.token,
        "KUBECAMP_DISCORD_GUILD_IDS": str(room.id),
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
