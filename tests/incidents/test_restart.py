"""An incident outlives the bot: a notification Alertmanager delivered before a restart is in its thread,
and the buttons of that thread's starter message work in the bot that runs after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord.live import deliver, open_class
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster

PAYLOADS = Path(__file__).parent / "payloads"
#: Seconds between two edits of the incident's starter: the acknowledgement's edit is awaited, not its pace.
EDIT_INTERVAL = 0.5

pytestmark = pytest.mark.every_database


async def test_buttons_work_after_a_restart(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    class_folder: Path,
    db_url: str,
) -> None:
    blue = discord_classroom.team_channels["blue"]
    body = (PAYLOADS / "firing_one.json").read_bytes()
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        class_folder,
        edit_interval=EDIT_INTERVAL,
        database_url=db_url,
    ) as live:
        assert await deliver(live, body) == 200
        await discord_emulator.wait_until(lambda: discord_emulator.threads(blue), 10, "the incident thread")
        [thread] = discord_emulator.threads(blue)
        [starter] = [m for m in discord_emulator.messages(blue) if m.thread_id == thread.id]

    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        class_folder,
        create_teams=False,
        edit_interval=EDIT_INTERVAL,
        database_url=db_url,
    ) as live:
        assert await deliver(live, body) == 200  # Alertmanager's repeat: nothing new
        clicked = await discord_emulator.click(starter, "kubecamp:incident:1:ack", "blue-1")
        assert clicked.ephemeral and "acknowledged incident #1" in clicked.text()

        def acknowledged() -> bool:
            return "Acknowledged by" in discord_emulator.message(starter.id).embeds[0]["description"]

        await discord_emulator.wait_until(acknowledged, 10, "the embed to show the acknowledgement")
        assert [t.id for t in discord_emulator.threads(blue)] == [thread.id]
        said = [str(m.content) for m in discord_emulator.messages(thread)]
        assert sum("acknowledged this incident" in line for line in said) == 1
