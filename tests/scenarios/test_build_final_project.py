"""The Week 3 final project (challenge 52) on the emulated cluster: the seed's 40/25/25/10 rubric and its bonus,
every criterion proven by checks failing on the team's empty namespaces and passing, part by part, as the
reference is applied (tests/scenarios/builds.py); the HA cluster is pasted evidence, the rest graded."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges.reports import Trigger
from bot.cluster import Cluster
from bot.evidence import evaluate
from bot.store import Store
from tests.emulators.kube import KubeCluster
from tests.scenarios.builds import start_walk
from tests.scenarios.test_catalogue_behaviour import CATALOG

PROJECT = CATALOG.get(52)
HOURS = 60  # minutes


def test_the_rubric_is_the_seeds() -> None:
    assert PROJECT.is_build and PROJECT.spec.time_limit == timedelta(days=5)
    assert [p.duration for p in PROJECT.phases] == [timedelta(hours=48), timedelta(hours=48), timedelta(hours=24)]
    assert PROJECT.namespaces == ("dev", "staging", "prod")
    groups = {g.id: [c.points for c in g.criteria] for g in PROJECT.spec.rubric or []}
    assert groups == {
        "functionality": [10, 10, 10, 10],
        "security": [10, 8, 7],
        "operations": [10, 8, 7],
        "reliability": [5, 5],
        "bonus": [10, 5],
    }
    assert PROJECT.total_points == 100
    proofs = {c.id: c.spec.proof for c in PROJECT.rubric}
    assert proofs["cluster-ha"] == "evidence"
    assert [i for i, p in proofs.items() if p == "graded"] == [
        "rbac",
        "secrets",
        "incident-response",
        "backup-restore",
        "advanced-features",
        "creative-solutions",
    ]


def test_the_ha_cluster_is_proven_by_its_nodes() -> None:
    criterion = PROJECT.criterion("cluster-ha")
    assert criterion is not None and criterion.spec.evidence is not None
    evidence = criterion.spec.evidence
    # kubectl's columns, as a kubeadm cluster of three control-plane nodes and three workers prints them.
    rows = [(f"master-{i}", "control-plane") for i in (1, 2, 3)] + [(f"worker-{i}", "<none>") for i in (1, 2, 3)]
    nodes = "NAME       STATUS   ROLES           AGE   VERSION\n" + "".join(
        f"{name:<10} Ready    {role:<15} 3d    v1.33.1\n" for name, role in rows
    )
    assert evaluate(evidence.parser, evidence.params, nodes).passed
    one_master = nodes.replace("control-plane", "<none>       ", 2)
    assert not evaluate(evidence.parser, evidence.params, one_master).passed


async def test_the_rubric_fails_on_empty_namespaces_and_passes_item_by_item(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    walk, run = await start_walk(CATALOG, 52, store=store, cluster=cluster, kube_cluster=kube_cluster)
    service, clock = walk.service, walk.clock

    await walk.verify(1 * HOURS)
    await walk.apply("prod", "frontend.yaml", "backend.yaml", "cache.yaml")
    await walk.verify(30 * HOURS)  # no database, no queue yet
    await walk.apply("prod", "postgres.yaml")
    await walk.verify(50 * HOURS, "storage")  # the StatefulSet's claim bound, its Pod Ready
    await walk.apply("prod", "rabbitmq.yaml")
    await walk.verify(55 * HOURS, "applications")
    await walk.apply("prod", "ingress.yaml")
    await walk.verify(60 * HOURS, "networking")
    await walk.apply("prod", "network-policy.yaml")
    await walk.verify(65 * HOURS, "network-policy")
    await walk.apply("prod", "hpa.yaml")
    await walk.verify(70 * HOURS, "autoscaling")

    await walk.apply(None, "prometheus.yaml")
    await walk.verify(75 * HOURS)  # dashboards need Grafana too
    await walk.apply(None, "grafana.yaml")
    await walk.verify(80 * HOURS, "monitoring")
    await walk.apply(None, "elasticsearch.yaml")
    await walk.verify(85 * HOURS)
    await walk.apply(None, "fluent-bit.yaml")
    await walk.verify(90 * HOURS, "logging")
    assert walk.passed == {c.id for c in PROJECT.checked}

    clock.at(120 * HOURS)
    final = await service.verify_run(run, team=await service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    # What the cluster proves: 63 of the 100 points; the HA cluster is pasted, the rest graded.
    assert final.ended.points == 63
