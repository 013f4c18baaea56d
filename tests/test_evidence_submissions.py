"""Evidence pasted for a build's items: judged by the item's parser, kept only when it passes, counted once,
taken only for a run of the build (under way, unless an instructor pastes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.challenges.catalog import load_catalog
from bot.challenges.progress import Standing
from bot.challenges.runs import RunService
from bot.evidence_submissions import EvidenceRefused, EvidenceService
from bot.i18n import render
from bot.limits import TEXT_INPUT_MAX
from bot.scoreboard import Scoreboard
from bot.store import InvalidValue, Store, Team
from tests.challenges.test_catalog_build import build_doc, write_build
from tests.challenges.test_runs import NAMESPACE
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.evidence.test_docker import SAMPLES
from tests.test_awards import Clock

#: `docker service ls` with web-service at 3/3, as the build's `swarm-scaled` item asks.
SCALED = (SAMPLES / "docker-service-ls.txt").read_text(encoding="utf-8")
#: The same table while web-service scales to 6: 4 of them running so far.
SCALING = (SAMPLES / "docker-service-ls-scaling.txt").read_text(encoding="utf-8")


@dataclass
class World:
    evidence: EvidenceService
    runs: RunService
    store: Store
    board: Scoreboard
    blue: Team


@pytest.fixture
async def world(kube_cluster: KubeCluster, store: Store, tmp_path: Path) -> AsyncIterator[World]:
    write_build(tmp_path, build_doc())
    catalog = load_catalog(tmp_path)
    cluster = bot_cluster(kube_cluster)
    clock = Clock()
    blue = await store.teams.create("blue", NAMESPACE)
    try:
        yield World(
            EvidenceService(store=store, catalog=catalog, clock=clock),
            RunService(catalog=catalog, store=store, cluster=cluster, clock=clock),
            store,
            Scoreboard(store=store, catalog=catalog),
            blue,
        )
    finally:
        await cluster.close()


async def test_a_passing_paste_is_kept_and_counts_its_points_once(world: World) -> None:
    await world.runs.start("blue", 7)
    first = await world.evidence.paste(world.blue, "swarm-scaled", SCALED, by="11", any_run=False)
    again = await world.evidence.paste(world.blue, "7/swarm-scaled", SCALED, by="12", any_run=False)
    assert first.verdict.passed and first.evidence is not None and again.evidence is not None
    kept = await world.store.evidence.of_team(world.blue.id, 7)
    assert [(k.submitted_by, k.text, k.verdict) for k in kept] == [
        ("11", SCALED, first.verdict.message.to_json()),
        ("12", SCALED, again.verdict.message.to_json()),
    ]
    [progress] = await world.board.rubric(7)
    assert progress.progress.item("swarm-scaled").standing is Standing.MET
    assert (progress.progress.bonus_points, progress.progress.required_points) == (3, 0)
    [row] = await world.board.ranking(7)
    assert (row.points, row.rubric_points) == (3, 3)


async def test_a_failing_paste_is_answered_and_keeps_nothing(world: World) -> None:
    await world.runs.start("blue", 7)
    for text in (SCALING, "", "ID NAME\n" + "x" * TEXT_INPUT_MAX, "\x1b[31mID\tNAME\tREPLICAS\x1b[0m\n\x00\x00"):
        pasted = await world.evidence.paste(world.blue, "swarm-scaled", text, by="11", any_run=False)
        assert not pasted.verdict.passed and pasted.evidence is None
    assert await world.store.evidence.of_team(world.blue.id) == []
    [progress] = await world.board.rubric(7)
    assert progress.progress.item("swarm-scaled").standing is Standing.OPEN


async def test_a_paste_needs_a_run_of_the_build_and_an_evidence_item(world: World) -> None:
    def said(error: EvidenceRefused) -> str:
        return render(error.message, "en")

    with pytest.raises(EvidenceRefused) as never:
        await world.evidence.paste(world.blue, "swarm-scaled", SCALED, by="11", any_run=True)
    assert said(never.value).startswith("this team has not run challenge 7")
    await world.runs.start("blue", 7)
    await world.runs.stop("blue")
    with pytest.raises(EvidenceRefused) as over:
        await world.evidence.paste(world.blue, "swarm-scaled", SCALED, by="11", any_run=False)
    assert said(over.value).startswith("this team's run of challenge 7 is over")
    # An instructor may still paste for the team's run that is over.
    late = await world.evidence.paste(world.blue, "swarm-scaled", SCALED, by="1", any_run=True)
    assert late.evidence is not None
    for item, problem in [
        ("8/swarm-scaled", "no such item proven by a command's output: 8/swarm-scaled"),
        ("report", "item report is graded by an instructor"),
        ("web", "item web is scored by verifying the cluster"),
    ]:
        with pytest.raises(EvidenceRefused) as refused:
            await world.evidence.paste(world.blue, item, SCALED, by="11", any_run=True)
        assert said(refused.value).startswith(problem)
    with pytest.raises(InvalidValue):
        await world.store.evidence.record(
            world.blue.id,
            7,
            "swarm-scaled",
            parser="docker-service-ls",
            verdict={},
            text="  ",
            by="1",
            at=late.evidence.submitted_at,
        )
    assert len(await world.store.evidence.of_team(world.blue.id)) == 1
