"""The streaming-ops build (challenge 4) on the emulated cluster: on the team's empty namespaces every criterion
proven by checks fails, and as the reference build is applied through the API, part by part, the criteria
pass one by one, each only once what it names is there and running. Nothing sets a criterion's state: the
checks read what the simulated controllers and kubelet made of the manifests."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from bot.challenges.reports import ScenarioResult, Trigger
from bot.cluster import Cluster
from bot.i18n import render
from bot.store import Store
from tests.emulators.kube import KubeCluster
from tests.scenarios.builds import TEAM_NAMESPACE, start_walk
from tests.scenarios.test_catalogue_behaviour import CATALOG

BUILD = CATALOG.get(4)
CHECKED = [c.id for c in BUILD.checked]


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
    walk, run = await start_walk(CATALOG, 4, store=store, cluster=cluster, kube_cluster=kube_cluster)
    service, clock = walk.service, walk.clock
    for name in BUILD.namespaces:
        assert kube_cluster.get("namespaces", None, f"{TEAM_NAMESPACE}-{name}") is not None

    await walk.verify(1)
    empty = await service.verify("blue")
    web = next(r for r in empty.results if r.scenario_id == "video-api")
    assert render(web.checks[0].message, "en") == "Deployment video-api does not exist yet"

    await walk.apply("streaming", "video-api.yaml", "user-service.yaml")
    await walk.verify(10, "video-api", "user-service")
    await walk.apply("streaming", "cdn-gateway.yaml", "analytics-service.yaml", "recommendation-engine.yaml")
    await walk.verify(15, "cdn-gateway", "analytics-service", "recommendation-engine")
    await walk.apply("streaming", "streaming-service.yaml")
    await walk.verify(20, "streaming-service")  # one replica: the HPA criterion wants 3
    await walk.apply("streaming", "service-monitor.yaml")
    await walk.verify(25, "service-monitor")
    await walk.apply("streaming", "hpa.yaml")
    await walk.verify(30, "hpa")  # the HPA controller raised streaming-service to MINPODS 3
    assert kube_cluster.get("deployments", f"{TEAM_NAMESPACE}-streaming", "streaming-service")["spec"]["replicas"] == 3
    await walk.apply("streaming", "vpa.yaml")
    await walk.verify(35, "vpa")

    await walk.apply("monitoring", "alertmanager.yaml")
    await walk.verify(40)  # Alertmanager without rules is no alerting yet
    await walk.apply("monitoring", "alert-rules.yaml")
    await walk.verify(45)  # a rule file no Prometheus loads alerts nobody
    await walk.apply("monitoring", "prometheus.yaml")
    await walk.verify(50, "prometheus", "alerting")  # Prometheus mounts the rules and names them in rule_files
    await walk.apply("monitoring", "grafana.yaml")
    await walk.verify(55, "grafana")

    await walk.apply("logging", "elasticsearch.yaml")
    await walk.verify(60)  # Elasticsearch without Fluent Bit collects nothing
    await walk.apply("logging", "fluent-bit.yaml")
    await walk.verify(65, "logging")  # the seed's DaemonSet: a collector on every node, each Ready
    workers = [n for n in kube_cluster.objects("nodes") if not n["spec"].get("taints")]
    assert len(kube_cluster.pods_of(f"{TEAM_NAMESPACE}-logging", "fluent-bit")) == len(workers) > 1
    assert walk.passed == set(CHECKED)

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
