"""The announcements channel: 🩸 once per scenario for the team that solves it first, 🏆 for the first team to
finish the challenge, 🏁 for every other team that finishes; nothing for a later solve, in both languages.

The real App against the Discord emulator and the emulated cluster (tests/discord/live.py): the teams fix their
namespaces as a student would (the simulator then runs what they applied) and verify through the flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.challenges import preflight
from bot.cluster import Cluster
from tests.discord.live import Class, open_class, quiet
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.state import Channel
from tests.emulators.kube import KubeCluster
from tests.i18n import korean
from tests.scenarios.test_catalogue_behaviour import CATALOG


def announcements_channel(discord: DiscordEmulator, room: Classroom) -> Channel:
    """#announcements: everyone reads, only the instructors and the bot write."""
    return discord.add_text_channel(room.guild, "announcements")


@pytest.fixture
async def announcing_class(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> AsyncIterator[tuple[Class, Channel]]:
    channel = announcements_channel(discord_emulator, discord_classroom)
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, announcements_channel=channel.id
    ) as live:
        yield live, channel


async def fix(live: Class, team: str, *scenario_ids: str) -> None:
    """The team applies the solutions of `scenario_ids` of challenge 2 in its namespace, as a student would."""
    student = Cluster.for_host(live.kube.url, token="student")
    try:
        for scenario_id in scenario_ids:
            await preflight.apply_like_a_student(student, f"kubecamp-{team}", CATALOG.get(2).scenario(scenario_id))
    finally:
        await student.close()


def lines(live: Class, channel: Channel) -> list[str]:
    return [str(m.content) for m in live.discord.messages(channel)]


async def test_first_solves_and_finishes_are_announced_once_each(announcing_class: tuple[Class, Channel]) -> None:
    live, channel = announcing_class
    flow = live.app.flow
    for team in ("blue", "red"):
        await flow.start(team, 2)

    await fix(live, "blue", "image-pull")
    assert (await flow.verify("blue", cooldown=False)).newly_solved == ("image-pull",)
    await quiet(live)
    assert lines(live, channel) == [
        '🩸 **blue** is the first to solve “Image deployment failure - "The new version won\'t start!"” (Challenge 2)!'
    ]

    # Red solves the same scenario later: not announced. Then everything else first, and finishes first.
    await fix(live, "red", "image-pull", "unschedulable", "rolling-update", "node-affinity")
    red = await flow.verify("red", cooldown=False)
    assert red.ended is not None and red.ended.status == "finished"
    await fix(live, "blue", "unschedulable", "rolling-update", "node-affinity")
    blue = await flow.verify("blue", cooldown=False)
    assert blue.ended is not None and blue.ended.status == "finished"
    await quiet(live)

    said = lines(live, channel)
    assert len(said) == 6, said
    assert said[0].startswith("🩸 **blue** is the first to solve “Image deployment failure")
    assert sorted(said[1:4]) == sorted(
        [
            "🩸 **red** is the first to solve “Scheduling failure due to insufficient resources” (Challenge 2)!",
            "🩸 **red** is the first to solve “Outage during a rolling update” (Challenge 2)!",
            "🩸 **red** is the first to solve “Pod not rescheduled after a node failure” (Challenge 2)!",
        ]
    )
    assert said[4].startswith("🏆 **red** is the first to finish Challenge 2: every scenario solved in "), said[4]
    assert said[5].startswith("🏁 **blue** finished Challenge 2: every scenario solved in "), said[5]
    assert f", {red.ended.points} points!" in said[4] and f", {blue.ended.points} points." in said[5]


async def test_a_korean_class_is_announced_in_korean(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    channel = announcements_channel(discord_emulator, discord_classroom)
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, announcements_channel=channel.id, language="ko"
    ) as live:
        await live.app.flow.start("blue", 2)
        await fix(live, "blue", "image-pull")
        await live.app.flow.verify("blue", cooldown=False)
        await quiet(live)
        (line,) = lines(live, channel)
    title = live.app.catalog.get(2).scenario("image-pull").spec.title.get("ko")
    assert line == f"🩸 **blue** 팀이 「{title}」 시나리오를 가장 먼저 해결했습니다! (Challenge 2)"
    assert korean.problems(line.replace(title, "○")) == []  # the seed's title quotes a student: not ours to judge


async def test_without_an_announcements_channel_nothing_is_announced(live_class: Class) -> None:
    live = live_class
    run = (await live.app.flow.start("blue", 2)).run
    await fix(live, "blue", "image-pull")
    assert (await live.app.flow.verify("blue", cooldown=False)).newly_solved == ("image-pull",)
    assert await live.app.outbox.get(f"run:{run.id}:first-solve:image-pull") is None
