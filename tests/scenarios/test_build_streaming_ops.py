"""The streaming-ops build (challenge 4) on the emulated cluster: on the team's empty namespaces every criterion
proven by checks fails, and as the reference build is applied through the API, part by part, the criteria
pass one by one, each only once what it names is there and running. Nothing sets a criterion's state: the
checks read what the simulated controllers and kubelet made of the manifests."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.challenges.checks import Status
from bot.challenges.reports import ScenarioResult, Trigger
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.i18n import render
from bot.store import Store
from tests.challenges.test_runs import Clock
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
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

    passed: set[str] = set()

    async def verify(minutes: float, *now_passing: str) -> None:
        kube_cluster.advance(60)  # Pods start, probes pass, the HPA controller resyncs
        clock.at(minutes)
        report = await service.verify("blue")
        statuses = {r.scenario_id: r.status for r in report.results}
        passed.update(now_passing)
        failing = {
            r.scenario_id: [render(c.message, "en") for c in r.checks if c.status is not Status.PASS]
            for r in report.results
            if r.status is not Status.PASS
        }
        assert {i for i, s in statuses.items() if s is Status.PASS} == passed, failing
        # Never "could not check": every criterion still open is a plain failure that says what is missing.
        assert all(s is Status.FAIL for i, s in statuses.items() if i not in passed), failing

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

    await apply(cluster, "monitoring", "alertmanager.yaml")
    await verify(40)  # Alertmanager without rules is no alerting yet
    await apply(cluster, "monitoring", "alert-rules.yaml")
    await verify(45)  # a rule file no Prometheus loads alerts nobody
    await apply(cluster, "monitoring", "prometheus.yaml")
    await verify(50, "prometheus", "alerting")  # Prometheus mounts the rules and names them in rule_files
    await apply(cluster, "monitoring", "grafana.yaml")
    await verify(55, "grafana")

    await apply(cluster, "logging", "elasticsearch.yaml")
    await verify(60)  # Elasticsearch without Fluent Bit collects nothing
    await apply(cluster, "logging", "fluent-bit.yaml")
    await verify(65, "logging")  # the seed's DaemonSet: a collector on every node, each Ready
    workers = [n for n in kube_cluster.objects("nodes") if not n["spec"].get("taints")]
    assert len(kube_cluster.pods_of(f"{TEAM_NAMESPACE}-logging", "fluent-bit")) == len(workers) > 1
    assert passed == set(CHECKED)

    clock.at(90)
    final = await service.verify_run(run, team=await service.team("blue"), trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "finished"
    # Every criterion the cluster proves: 80 of the 100 required points and the VPA's 5 bonus; the rest is graded.
    assert final.ended.points == 85


def logging_manifests(*, kind: str, service_section: bool) -> list[dict[str, Any]]:
    """The reference's Fluent Bit as a DaemonSet or a Deployment, its configuration with or without the [SERVICE]
    section that turns on the health check (the seed's example configuration has none)."""
    assert BUILD.reference is not None
    bodies = [copy.deepcopy(m.body) for m in BUILD.reference["logging"]]
    for body in bodies:
        if body["kind"] == "DaemonSet":
            body["kind"] = kind
        if body["metadata"]["name"] == "fluent-bit-config" and not service_section:
            conf = body["data"]["fluent-bit.conf"]
            body["data"]["fluent-bit.conf"] = conf[conf.index("# The streaming") :]
    return bodies


async def logging_verdict(cluster: Cluster, kube_cluster: KubeCluster, *, kind: str, service_section: bool) -> str:
    namespace = f"{TEAM_NAMESPACE}-logging"
    await cluster.ensure_namespace(namespace, team="blue")
    for body in logging_manifests(kind=kind, service_section=service_section):
        await cluster.apply(namespace, body)
    kube_cluster.advance(60)
    item = BUILD.checked_item("logging")
    result = ScenarioResult.of(item, await cluster.snapshot(namespace, item.kinds))
    return "; ".join(
        f"{c.status.value}: {render(c.message, 'en')}" for c in result.checks if c.check == "workload_ready"
    )


async def test_fluent_bit_as_the_seeds_daemonset_is_ready_only_with_its_health_check_on(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    verdict = await logging_verdict(cluster, kube_cluster, kind="DaemonSet", service_section=False)
    # Without HTTP_Server and Health_Check nothing answers the readiness probe on port 2020.
    assert verdict == (
        "fail: DaemonSet fluent-bit: Pods Ready on 0 of 2 nodes; Pods: container fluent-bit: Running, not Ready ×2"
    )


async def test_fluent_bit_as_one_deployment_ships_as_well(cluster: Cluster, kube_cluster: KubeCluster) -> None:
    verdict = await logging_verdict(cluster, kube_cluster, kind="Deployment", service_section=True)
    assert verdict == "pass: Deployment fluent-bit: 1/1 available"
