"""A build walked through on the emulated cluster: its run started, the reference applied part by part through
the API as a team would, and a verification after each part asserting exactly which criteria pass. Nothing sets
a criterion's state: the checks read what the simulated controllers and kubelet made of the manifests."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.checks import Status
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.i18n import render
from bot.store import Run, Store
from tests.challenges.test_runs import Clock
from tests.emulators.kube import KubeCluster

TEAM = "blue"
TEAM_NAMESPACE = "kubecamp-blue"


@dataclass
class BuildWalk:
    build: Challenge
    service: RunService
    clock: Clock
    cluster: Cluster
    kube_cluster: KubeCluster
    passed: set[str] = field(default_factory=set)

    def namespace(self, key: str | None) -> str:
        return TEAM_NAMESPACE if key is None else f"{TEAM_NAMESPACE}-{key}"

    async def apply(self, key: str | None, *files: str) -> None:
        """The reference's files of the build namespace `key` (None: the team's own), as a student applies them."""
        assert self.build.reference is not None
        manifests = [m for m in self.build.reference[key] if m.path.name in files]
        assert {m.path.name for m in manifests} == set(files)
        for manifest in manifests:
            await self.cluster.apply(self.namespace(key), manifest.body)

    async def verify(self, minutes: float, *now_passing: str) -> None:
        """A verification `minutes` into the run: the criteria passed so far and `now_passing` pass, every other
        one fails saying what is missing (never "could not check")."""
        self.kube_cluster.advance(60)  # Pods start, probes pass, the HPA controller resyncs
        self.clock.at(minutes)
        report = await self.service.verify(TEAM)
        self.passed.update(now_passing)
        statuses = {r.scenario_id: r.status for r in report.results}
        failing = {
            r.scenario_id: [render(c.message, "en") for c in r.checks if c.status is not Status.PASS]
            for r in report.results
            if r.status is not Status.PASS
        }
        assert {i for i, s in statuses.items() if s is Status.PASS} == self.passed, failing
        assert all(s is Status.FAIL for i, s in statuses.items() if i not in self.passed), failing


async def start_walk(
    catalog: Catalog, challenge_id: int, *, store: Store, cluster: Cluster, kube_cluster: KubeCluster
) -> tuple[BuildWalk, Run]:
    """Team blue's run of the build, started, and its walk."""
    clock = Clock()
    service = RunService(catalog=catalog, store=store, cluster=cluster, clock=clock)
    await store.teams.create(TEAM, TEAM_NAMESPACE)
    run = (await service.start(TEAM, challenge_id)).run
    return BuildWalk(catalog.get(challenge_id), service, clock, cluster, kube_cluster), run
