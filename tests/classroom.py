"""A class for the scoreboard's tests: teams running challenge 2 on the emulated cluster, solving scenarios
the way students do and verifying through `RunService`, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.awards import AwardService
from bot.challenges import preflight
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.live import ChangeFeed
from bot.scoreboard import Scoreboard
from bot.store import Store
from tests.challenges.test_runs import T0, Clock
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

__all__ = ["T0", "Classroom", "Clock", "classroom"]


@dataclass
class Classroom:
    store: Store
    cluster: Cluster
    clock: Clock
    changes: ChangeFeed
    runs: RunService
    awards: AwardService
    board: Scoreboard

    async def team(self, name: str) -> None:
        await self.store.teams.create(name, f"kubecamp-{name}")

    async def solve(self, team: str, *scenario_ids: str, minute: float) -> None:
        """Fix the scenarios in the team's namespace as a student would, then verify at `minute`."""
        challenge = CATALOG.get(2)
        for scenario_id in scenario_ids:
            await preflight.apply_like_a_student(self.cluster, f"kubecamp-{team}", challenge.scenario(scenario_id))
        self.clock.at(minute)
        await self.runs.verify(team)


@asynccontextmanager
async def classroom(kube: KubeCluster, store: Store) -> AsyncIterator[Classroom]:
    cluster = bot_cluster(kube)
    clock = Clock()
    changes = ChangeFeed()
    try:
        yield Classroom(
            store=store,
            cluster=cluster,
            clock=clock,
            changes=changes,
            runs=RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock, changes=changes),
            awards=AwardService(store=store, catalog=CATALOG, clock=clock, changes=changes),
            board=Scoreboard(store=store, catalog=CATALOG, clock=clock, changes=changes, timezone="Asia/Seoul"),
        )
    finally:
        await cluster.close()
