"""The streaming-ops build (challenge 4) on the emulated cluster: on the team's empty namespaces every criterion
proven by checks fails, and as the reference build is applied through the API, part by part, the criteria
pass one by one, each only once what it names is there and running. Nothing sets a criterion's state: the
checks read what the simulated controllers and kubelet made of the manifests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.challenges.reports import Trigger
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.i18n import render
from bot.store import Store
from tests.challenges.test_runs import Clock
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.stepwise import Steps
from tests.scenarios.test_catalogue_behaviour import CATALOG

TEAM_NAMESPACE = "kubecamp-blue"
BUILD = CATALOG.get(4)
CHECKED = [c.id for c in BUILD.checked]


@pytest.fixture
async def cluster(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    bot = bot_cluster(kube_cluster)
    try:
        yield bot
    finally:
        await bot.close()


async def apply(cluster: Cluster, namespace: str, *files: str) -> None:
    """The reference's files of the build namespace `namespace`, as a student applies them."""
    assert BUILD.reference is not None
    manifests = [m for m in BUILD.reference[namespace] if m.path.name in files]
    assert {m.path.name for m in manifests} == set(files)
    for manifest in manifests:
        await cluster.apply(f"{TEAM_NAMESPACE}-{namespace}", manifest.body)


def test_the_build_is_faithful_to_the_seed() -> None:
    assert BUILD.is_build and BUILD.spec.time_limit == timedelta(minutes=90)
    assert [int(p.duration.total_seconds() // 60) for p in BUILD.phases] == [15, 35, 25, 10, 5]
    assert BUILD.namespaces == ("streaming", "monitoring", "logging")
    assert BUILD.total_points == 100
    assert sorted(c.id for c in BUILD.rubric if c.spec.bonus) == [
        "crd-operator",
        "operations-docs",
        "predictive-monitoring",
        "scaling-policy",
        "service-mesh",
        "vpa",
    ]
    graded = [c.id for c in BUILD.rubric if c.spec.graded]
    assert graded == [
        "report",
        "screenshots",
        "crd-operator",
        "service-mesh",
        "scaling-policy",  # the seed's 시간대별 스케일링: a schedule no object of the cluster shows
        "predictive-monitoring",
        "operations-docs",
    ]


async def test_the_rubric_fails_on_empty_namespaces_and_passes_item_by_item(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    clock = Clock()
    service = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock)
    await store.teams.create("blue", TEAM_NAMESPACE)
    run = (await service.start("blue", 4)).run
    for name in BUILD.namespaces:
        assert kube_cluster.get("namespaces", None, f"{TEAM_NAMESPACE}-{name}") is not None

    steps = Steps(service, kube_cluster, clock)
    verify = steps.verify
    await verify(1)
    empty = await service.verify("blue")
    web = next(r for r in empty.results if r.scenario_id == "video-api")
    assert render(web.checks[0].message, "en") == "Deployment video-api does not exist yet"

    await apply(cluster, "streaming", "video-api.yaml", "user-service.yaml")
    await verify(10, "video-api", "user-service")
    await apply(cluster, "streaming", "cdn-gateway.yaml", "analytics-service.yaml", "recommendation-engine.yaml")
    await verify(15, "cdn-gateway", "analytics-service", "recommendation-engine")
    await apply(cluster, "streaming", "streaming-service.yaml")
    await verify(20, "streaming-service")  # one replica: the HPA criterion wants 3
    await apply(cluster, "streaming", "service-monitor.yaml")
    await verify(25, "service-monitor")
    await apply(cluster, "streaming", "hpa.yaml")
    await verify(30, "hpa")  # the HPA controller raised streaming-service to MINPODS 3
    assert kube_cluster.get("deployments", f"{TEAM_NAMESPACE}-streaming", "streaming-service")["spec"]["replicas"] == 3
    await apply(cluster, "streaming", "vpa.yaml")
    await verify(35, "vpa")

    await apply(cluster, "monitoring", "prometheus.yaml")
    await verify(40, "prometheus")
    await apply(cluster, "monitoring", "grafana.yaml")
    await verify(45, "grafana")
    await apply(cluster, "monitoring", "alertmanager.yaml")
    await verify(50)  # Alertmanager without rules is no alerting yet
    await apply(cluster, "monitoring", "alert-rules.yaml")
    await verify(55, "alerting")

    await apply(cluster, "logging", "elasticsearch.yaml")
    await verify(60)  # Elasticsearch without Fluent Bit collects nothing
    await apply(cluster, "logging", "fluent-bit.yaml")
    await verify(65, "logging")
    assert steps.passed == set(CHECKED)

    clock.at(90)
    final = await service.verify_run(run, team=await service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    # Every criterion the cluster proves: 80 of the 100 required points and the VPA's 5 bonus; the rest is graded.
    assert final.ended.points == 85
