"""The Week 3 daily checkpoints (challenge 53) on the emulated cluster: on the team's empty lab namespace every
checkpoint proven by checks fails, and as the reference is applied through the API, day by day, each passes
once what it names is there and running. Nothing sets a checkpoint's state: the checks read what the simulated
controllers and kubelet made of the manifests."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges.reports import Trigger
from bot.cluster import Cluster
from bot.store import Store
from tests.emulators.kube import KubeCluster
from tests.scenarios.builds import TEAM_NAMESPACE, start_walk
from tests.scenarios.test_catalogue_behaviour import CATALOG

LAB = CATALOG.get(53)
DAILY = f"{TEAM_NAMESPACE}-daily"


def test_the_lab_is_faithful_to_the_seed() -> None:
    assert LAB.is_lab and LAB.namespaces == ("daily",)
    assert [g.id for g in LAB.groups] == ["day-1", "day-2", "day-3", "day-4", "day-5"]
    assert [p.duration for p in LAB.phases] == [timedelta(hours=24)] * 5
    # The seed's three checkpoints a day.
    assert [len(g.criteria) for g in LAB.groups] == [3, 3, 3, 3, 3]
    checked = [
        "workload-hierarchy",
        "service-types",
        "ingress-routing",
        "persistence",
        "security-policy",
        "monitoring",
        "autoscaling",
    ]
    assert [c.id for c in LAB.checked] == checked
    assert [c.id for c in LAB.rubric if c.spec.graded] == ["rbac"]
    assert LAB.total_points == 75
    ticked = ["components-explained", "etcd-queried", "failure-recovered", "scheduling", "rolling-update"]
    ticked += ["cluster-upgrade", "crd-operator"]  # what no object of a namespace shows
    assert [c.id for c in LAB.rubric if c.spec.proof == "self"] == ticked


async def test_each_cluster_checkpoint_fails_on_the_empty_namespace_and_passes_as_its_objects_come(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    walk, run = await start_walk(CATALOG, 53, store=store, cluster=cluster, kube_cluster=kube_cluster)
    assert kube_cluster.get("namespaces", None, DAILY) is not None
    await walk.verify(1)
    await walk.apply("daily", "web-app.yaml")
    await walk.verify(60 * 24 + 10, "workload-hierarchy")
    await walk.apply("daily", "web-app-service.yaml")
    await walk.verify(60 * 48 + 10, "service-types")
    await walk.apply("daily", "web-app-ingress.yaml")
    await walk.verify(60 * 48 + 20, "ingress-routing")
    await walk.apply("daily", "web-data.yaml")
    await walk.verify(60 * 48 + 30, "persistence")
    await walk.apply("daily", "network-policy.yaml")
    await walk.verify(60 * 72 + 10, "security-policy")
    await walk.apply("daily", "hpa.yaml")
    await walk.verify(60 * 96 + 10, "autoscaling")
    await walk.apply("daily", "prometheus.yaml")
    await walk.verify(60 * 96 + 20)  # Prometheus without a ServiceMonitor is no monitoring of web-app yet
    await walk.apply("daily", "service-monitor.yaml")
    await walk.verify(60 * 96 + 30, "monitoring")
    assert walk.passed == {c.id for c in LAB.checked}

    walk.clock.at(60 * 120)
    final = await walk.service.verify_run(run, team=await walk.service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    assert final.ended.points == 35  # the seven cluster checkpoints; ticks and the graded one add on the scoreboard
