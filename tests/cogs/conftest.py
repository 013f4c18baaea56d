"""Fixtures of the cog tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.challenges.test_catalog_build import write_build
from tests.discord.live import Class, open_class
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster


@pytest.fixture
async def build_class(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> AsyncIterator[Class]:
    write_build(class_folder / "catalogue")
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, scenarios_dir=class_folder / "catalogue"
    ) as live:
        yield live
