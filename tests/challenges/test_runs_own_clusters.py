"""Runs of teams on clusters of their own, next to a team on the shared cluster: each on its own emulated cluster.

The teams' clusters are registered the way an instructor does it (`kubecamp team cluster set`, a Secret on the
shared cluster); the run engine finds each team's cluster through the registry, and nothing of a kubeconfig's
credentials reaches a log line or the database file.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.challenges import preflight
from bot.challenges.checks import Status
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.i18n import render
from bot.store import Store
from bot.team_clusters import TeamClusters
from tests.challenges.test_runs import T0, Clock
from tests.emulators.fixtures import BOT_NAMESPACE, bot_cluster, own_cluster_kubeconfig, own_cluster_token
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

TEAMS = ("blue", "green", "red")  # red stays on the shared cluster


@dataclass
class Class:
    service: RunService
    registry: ClusterRegistry
    shared: KubeCluster
    own: dict[str, KubeCluster]
    store: Store


@pytest.fixture
async def class_(
    kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], store: Store, tmp_path: Path
) -> AsyncIterator[Class]:
    shared = bot_cluster(kube_cluster)
    for team in TEAMS:
        await store.teams.create(team, f"kubecamp-{team}")
    kube_cluster.create("namespaces", {"metadata": {"name": BOT_NAMESPACE}})
    # The instructor's shell: their own admin credentials on the shared cluster write the Secrets.
    instructor = Cluster.for_host(kube_cluster.url, token="instructor")
    try:
        register = TeamClusters(store=store, shared=instructor, namespace=BOT_NAMESPACE)
        for team, own in team_clusters.items():
            await register.set(team, own_cluster_kubeconfig(own, tmp_path / f"{team}.yaml", team=team))
    finally:
        await instructor.close()
    registry = ClusterRegistry(shared=shared, namespace=BOT_NAMESPACE, refresh_seconds=0)
    service = RunService(catalog=CATALOG, store=store, cluster=shared, clusters=registry, clock=Clock())
    try:
        yield Class(service, registry, kube_cluster, team_clusters, store)
    finally:
        await registry.close()
        await shared.close()


async def test_each_team_runs_on_its_own_cluster(class_: Class) -> None:
    for team in TEAMS:
        await class_.service.start(team, 2)
    for team, own in class_.own.items():
        assert own.get("deployments", f"kubecamp-{team}", "frontend") is not None
        assert class_.shared.get("namespaces", None, f"kubecamp-{team}") is None
        assert all(
            other.get("namespaces", None, f"kubecamp-{team}") is None
            for other in class_.own.values()
            if other is not own
        )
    assert class_.shared.get("deployments", "kubecamp-red", "frontend") is not None


async def test_a_teams_cluster_down_is_could_not_check_for_that_team_only(class_: Class) -> None:
    for team in TEAMS:
        await class_.service.start(team, 2)
    await class_.own["blue"].stop()
    blue = await class_.service.verify("blue")
    assert blue.result == "unknown" and blue.ended is None
    assert {c.status for r in blue.results for c in r.checks} == {Status.UNKNOWN}
    assert "could not check: the Kubernetes API server cannot be reached" in {
        render(c.message, "en") for r in blue.results for c in r.checks
    }
    for team in ("green", "red"):  # their checks read their clusters: the broken state, checked
        report = await class_.service.verify(team)
        statuses = {c.status for r in report.results for c in r.checks}
        assert Status.UNKNOWN not in statuses and Status.FAIL in statuses, team
    # green fixes everything on its cluster and finishes while blue's is still down.
    green = await class_.registry.for_team("green")
    for scenario in CATALOG.get(2).scenarios:
        await preflight.apply_like_a_student(green, "kubecamp-green", scenario)
    finished = await class_.service.verify("green")
    assert finished.all_passed and finished.ended is not None and finished.ended.status == "finished"
    await class_.own["blue"].start()
    assert (await class_.service.verify("blue")).result == "fail"  # back: checked again, still broken


async def test_stop_deletes_on_the_teams_own_cluster(class_: Class) -> None:
    await class_.service.start("blue", 2)
    stopped = await class_.service.stop("blue")
    assert stopped.deleted > 0 and class_.own["blue"].get("deployments", "kubecamp-blue", "frontend") is None


async def test_cluster_scope_scenarios_run_only_on_a_teams_own_cluster(class_: Class) -> None:
    own = await class_.service.start("blue", 1)
    shared = await class_.service.start("red", 1)
    assert list(shared.skipped) == ["control-plane"]
    assert "cannot be built in a team's namespace" in render(shared.skipped["control-plane"], "en")
    assert shared.run.deadline == T0 + timedelta(minutes=65)
    assert own.skipped == {}
    states = {s.scenario_id: s.status for s in await class_.store.runs.scenario_states(own.run.id)}
    assert states["control-plane"] == "pending"
    assert own.run.deadline == T0 + timedelta(minutes=90)


async def test_credentials_are_never_logged_nor_stored(
    class_: Class, caplog: pytest.LogCaptureFixture, db_url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for team in TEAMS:
        await class_.service.start(team, 2)
    await class_.own["green"].stop()
    for team in TEAMS:
        await class_.service.verify(team)
    await class_.registry.placements(TEAMS)
    await class_.service.stop("blue")
    await class_.store.close()  # the database file as it is on disk, its write-ahead log folded in
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    files = [p for p in Path(db_url.split("///", 1)[1]).parent.iterdir() if p.name.startswith("kubecamp.db")]
    assert files
    for team in class_.own:
        token = own_cluster_token(team).encode()
        assert own_cluster_token(team) not in logged
        assert all(token not in p.read_bytes() for p in files)
    assert "registered" in caplog.text  # the flow was logged, only without credentials
