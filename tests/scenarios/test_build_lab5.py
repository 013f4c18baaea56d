"""Lab 5 "운영 환경 구축" (challenge 51) on the emulated cluster: every criterion proven by checks fails on the
team's empty namespaces and passes, part by part, as the reference is applied (tests/scenarios/builds.py)."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges.reports import Trigger
from bot.cluster import Cluster
from bot.i18n import render
from bot.store import Store
from tests.emulators.kube import KubeCluster
from tests.scenarios.builds import start_walk
from tests.scenarios.test_catalogue_behaviour import CATALOG

LAB = CATALOG.get(51)


def test_the_lab_is_faithful_to_the_seed() -> None:
    assert LAB.is_build and LAB.spec.time_limit == timedelta(minutes=90)
    assert [int(p.duration.total_seconds() // 60) for p in LAB.phases] == [35, 30, 25]
    groups = {g.id: sum(c.points for c in g.criteria) for g in LAB.spec.rubric or []}
    # A basic element's points are its time box's minutes; the advanced elements are the bonus.
    assert groups == {"monitoring": 35, "autoscaling": 30, "logging": 25, "advanced": 15}
    assert LAB.total_points == 90
    assert sorted(c.id for c in LAB.rubric if c.spec.bonus) == ["custom-metrics", "operator", "service-mesh"]
    assert [c.id for c in LAB.rubric if c.spec.graded] == ["load-test", "operator", "service-mesh"]


async def test_the_rubric_fails_on_empty_namespaces_and_passes_item_by_item(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    walk, run = await start_walk(CATALOG, 51, store=store, cluster=cluster, kube_cluster=kube_cluster)
    service, clock = walk.service, walk.clock

    await walk.verify(1)
    empty = await service.verify("blue")
    kibana = next(r for r in empty.results if r.scenario_id == "kibana")
    assert render(kibana.checks[0].message, "ko") == "Deployment kibana 없음: 아직 만들지 않았습니다"

    await walk.apply(None, "web-app.yaml")
    await walk.verify(5)  # an application nobody scrapes
    await walk.apply(None, "service-monitor.yaml")
    await walk.verify(10, "service-monitor")
    await walk.apply(None, "prometheus.yaml")
    await walk.verify(15, "prometheus")
    await walk.apply(None, "grafana.yaml")
    await walk.verify(20, "grafana")
    await walk.apply(None, "alert-rules.yaml")
    await walk.verify(30, "alerting")

    await walk.apply(None, "hpa.yaml")
    await walk.verify(40, "hpa")
    await walk.apply(None, "cache.yaml")
    await walk.verify(45)  # a cache without its VPA
    await walk.apply(None, "vpa.yaml")
    await walk.verify(50, "vpa")
    await walk.apply(None, "queue-worker.yaml")
    await walk.verify(55, "custom-metrics")

    await walk.apply("logging", "elasticsearch.yaml")
    await walk.verify(60, "elasticsearch")
    await walk.apply("logging", "fluent-bit.yaml")
    await walk.verify(70, "fluent-bit")
    await walk.apply("logging", "kibana.yaml")
    await walk.verify(80, "kibana")
    assert walk.passed == {c.id for c in LAB.checked}

    clock.at(90)
    final = await service.verify_run(run, team=await service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    # Every criterion the cluster proves: 82 of the 90 required points (the load test is graded) and 5 bonus.
    assert final.ended.points == 87
