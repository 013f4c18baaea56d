"""The Week 3 daily checkpoints (challenge 53) on the emulated cluster: on the team's empty lab namespace every
checkpoint proven by checks fails, and as the reference is applied through the API, day by day, each passes
once what it names is there and running. Nothing sets a checkpoint's state: the checks read what the simulated
controllers and kubelet made of the manifests."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges.reports import Trigger
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.store import Store
from tests.challenges.test_runs import Clock
from tests.emulators.kube import KubeCluster
from tests.scenarios.stepwise import Steps
from tests.scenarios.test_catalogue_behaviour import CATALOG

TEAM_NAMESPACE = "kubecamp-blue"
LAB = CATALOG.get(53)
DAILY = f"{TEAM_NAMESPACE}-daily"


async def apply(cluster: Cluster, *files: str) -> None:
    """Files of the reference, as a student applies them."""
    assert LAB.reference is not None
    manifests = [m for m in LAB.reference["daily"] if m.path.name in files]
    assert {m.path.name for m in manifests} == set(files)
    for manifest in manifests:
        await cluster.apply(DAILY, manifest.body)


def test_the_lab_is_faithful_to_the_seed() -> None:
    assert LAB.is_lab and LAB.namespaces == ("daily",)
    assert [g.id for g in LAB.groups] == ["day-1", "day-2", "day-3", "day-4", "day-5"]
    assert [p.duration for p in LAB.phases] == [timedelta(hours=24)] * 5
    # The seed's three checkpoints a day.
    assert [len(g.criteria) for g in LAB.groups] == [3, 3, 3, 3, 3]
    checked = ["workload-hierarchy", "service-types", "persistence", "monitoring", "autoscaling"]
    assert [c.id for c in LAB.checked] == checked
    assert [c.id for c in LAB.rubric if c.spec.graded] == ["rbac"]
    assert LAB.total_points == 75


async def test_each_cluster_checkpoint_fails_on_the_empty_namespace_and_passes_as_its_objects_come(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    clock = Clock()
    service = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock)
    await store.teams.create("blue", TEAM_NAMESPACE)
    run = (await service.start("blue", 53)).run
    assert kube_cluster.get("namespaces", None, DAILY) is not None
    steps = Steps(service, kube_cluster, clock)
    verify = steps.verify
    await verify(1)
    await apply(cluster, "web-app.yaml")
    await verify(60 * 24 + 10, "workload-hierarchy")
    await apply(cluster, "web-app-service.yaml")
    await verify(60 * 48 + 10, "service-types")
    await apply(cluster, "web-data.yaml")
    await verify(60 * 48 + 20, "persistence")
    await apply(cluster, "hpa.yaml")
    await verify(60 * 96 + 10, "autoscaling")
    await apply(cluster, "prometheus.yaml")
    await verify(60 * 96 + 20)  # Prometheus without a ServiceMonitor is no monitoring of web-app yet
    await apply(cluster, "service-monitor.yaml")
    await verify(60 * 96 + 30, "monitoring")
    assert steps.passed == {c.id for c in LAB.checked}

    clock.at(60 * 120)
    final = await service.verify_run(run, team=await service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    assert final.ended.points == 25  # the five cluster checkpoints; ticks and the graded one add on the scoreboard
