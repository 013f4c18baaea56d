"""A whole build, challenge 4, through Discord with the bot restarted in the middle: the team starts it, builds
part of the streaming-ops platform, verifies; an instructor grades the report; the bot stops, the team builds
the rest, the deadline passes while the bot is down; the restarted bot gives the final verification (the
rubric), the team reads its progress and submits its repository (checked against a real git server on
loopback), and the scoreboard adds the rubric's points to the grade. Nothing sets a state by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.cluster import Cluster
from bot.config import RepositorySettings
from tests.cogs.test_repository_submit import TYPED, github  # noqa: F401 - the module's git server fixture
from tests.discord.live import REPO, Class, Clock, answer, open_class, quiet, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.peers.git_servers import GitHttpServer
from tests.scenarios.test_catalogue_behaviour import CATALOG

BUILD = CATALOG.get(4)


async def build(live: Class, *namespaces: str) -> None:
    """The reference of these build namespaces, applied with a student's token as a team would."""
    assert BUILD.reference is not None
    student = Cluster.for_host(live.kube.url, token="student")
    try:
        for key in namespaces:
            for manifest in BUILD.reference[key]:
                await student.apply(f"kubecamp-blue-{key}", manifest.body)
    finally:
        await student.close()
    live.kube.advance(60)


async def test_a_build_survives_a_restart_and_ends_on_its_rubric(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    class_folder: Path,
    github: GitHttpServer,  # noqa: F811 - the fixture imported above
) -> None:
    repository = RepositorySettings(github_url=github.url("").rstrip("/"), allow_private_hosts=True, timeout_seconds=5)

    def opened(**kwargs: object):  # type: ignore[no-untyped-def]
        return open_class(
            discord_emulator,
            discord_classroom,
            kube_cluster,
            class_folder,
            scenarios_dir=REPO / "scenarios",
            repository=repository,
            **kwargs,  # type: ignore[arg-type]
        )

    async with opened() as live:
        await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=4))
        await quiet(live)
        thread = thread_of(live, "blue")
        await build(live, "streaming")
        await answer(await slash(live, "blue-1", "team-blue", "challenge", "verify"))
        await quiet(live)
        results = [m.embed_text() for m in live.discord.messages(thread) if "🔍 Verification" in m.embed_text()][-1]
        assert "✅ Video API" in results and "❌ Prometheus" in results and "❌ Central logging" in results
        graded = await slash(
            live, "instructor", "alerts", "grade", "give", team="blue", item="report", points=12, reason="clear"
        )
        assert "item 4/report: 12 points awarded" in graded.text()
        await quiet(live)
        [run] = await live.app.store.runs.of_team((await live.app.store.teams.get("blue")).id)  # type: ignore[union-attr]
        assert run.status == "active"

    # The bot is down: the team builds the rest, and the deadline passes (the class's clock goes past it).
    await build(live, "monitoring", "logging")
    later = Clock()
    later.offset = BUILD.spec.time_limit + timedelta(seconds=1)
    assert later() > run.deadline

    async with opened(create_teams=False, clock=later) as live:
        # The deadline passed while the bot was down: every job of the run is overdue, the final verification
        # comes at once, on the rubric.
        ended = await live.discord.wait_for_message(
            thread,
            lambda m: "points from the items verified on the cluster" in (m.content or m.embed_text()),
            timeout=20,
        )
        assert "85 points from the items verified on the cluster (the required items make 100)" in (
            ended.content or ended.embed_text()
        )
        progress = await slash(live, "blue-2", "team-blue", "challenge", "progress", challenge=4)
        text = progress.original.embed_text()
        assert "Required: 92/100 pts · bonus: 5/30 pts" in text, text
        assert "✅ Report — 12/15 pts" in text.replace(
            "The operations analysis report (docs/operations-analysis.md)", "Report"
        )

        form = await slash(live, "blue-1", "team-blue", "challenge", "submit", challenge=4)
        await live.discord.submit_modal(form, {"github_url": "https://github.com/git/platform", **TYPED})
        checked = await live.discord.wait_for_message(thread, lambda m: "📦" in (m.content or ""), timeout=15)
        assert "34 of 38 required paths present" in (checked.content or "")

        board = await slash(live, "instructor", "alerts", "scoreboard", "show", challenge=4)
        [row] = [line for line in board.original.embed_text().splitlines() if "blue" in line]
        assert "97" in row, row
        await quiet(live)
