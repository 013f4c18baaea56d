"""`kubecamp preflight` against the emulated kind cluster: the shipped catalogue breaks and heals there; a
scenario that does not break, or does not heal, is reported with what the cluster said; the scratch
namespaces are gone afterwards, whatever happened."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import pytest_asyncio

from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.checks import Status
from bot.challenges.deploy import apply_scenario
from bot.challenges.preflight import (
    BuildNotPreflighted,
    PreflightReport,
    PreflightService,
    ScenarioPreflight,
    Verdict,
    apply_like_a_student,
)
from bot.cluster import Cluster
from bot.errors import ApplyFailed, UnknownChallenge, UnknownScenario
from bot.i18n import render
from bot.team_namespace import MANAGED_BY
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

REPO = Path(__file__).parents[2]
PREFIX = "kubecamp-"


def service(
    cluster: Cluster, catalog: Catalog = CATALOG, *, timeout: float = 5.0, broken_only: bool = False
) -> PreflightService:
    # The emulator settles within each request, so a state that is what is wanted needs no settle time;
    # one that is not is polled until the timeout.
    return PreflightService(
        catalog=catalog,
        cluster=cluster,
        namespace_prefix=PREFIX,
        timeout=timeout,
        settle=0.0,
        interval=0.05,
        broken_only=broken_only,
    )


def scratch_namespaces(kube: KubeCluster) -> list[str]:
    return [n["metadata"]["name"] for n in kube.objects("namespaces") if "preflight" in n["metadata"]["name"]]


def by_id(report: PreflightReport) -> dict[str, ScenarioPreflight]:
    return {s.scenario_id: s for s in report.scenarios}


def said(result: ScenarioPreflight, state: str) -> str:
    report = result.broken if state == "broken" else result.solution
    assert report is not None
    return "\n".join(render(m, "en") for m in report.cluster_said)


@pytest_asyncio.fixture
async def client(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    opened = bot_cluster(kube_cluster)
    yield opened
    await opened.close()


NAMESPACED = [
    pytest.param(
        c.id,
        s.id,
        id=f"{c.id}-{s.id}",
    )
    for c in CATALOG
    for s in c.scenarios
    if s.spec.scope == "namespace"
]


@pytest.mark.parametrize(("challenge_id", "scenario_id"), NAMESPACED)
async def test_every_namespaced_scenario_of_the_catalogue_breaks_and_heals(
    client: Cluster, kube_cluster: KubeCluster, challenge_id: int, scenario_id: str
) -> None:
    report = await service(client, timeout=0.5).run([challenge_id], scenario_id)
    (result,) = report.scenarios
    assert result.broken is not None and result.solution is not None
    broken = [(c.status, c.guard, render(c.message, "en")) for c in result.broken.checks]
    assert all(status is not Status.PASS for status, guard, _ in broken if not guard), broken
    assert any(status is Status.FAIL for status, _, _ in broken), broken
    assert all(c.status is Status.PASS for c in result.solution.checks), result.solution.checks
    assert result.broken.settled and result.solution.settled
    assert result.broken.cluster_said == result.solution.cluster_said == ()
    assert result.verdict is Verdict.BEHAVED and report.all_behaved
    assert scratch_namespaces(kube_cluster) == []


async def test_the_whole_catalogue_in_one_preflight(client: Cluster, kube_cluster: KubeCluster) -> None:
    began = time.perf_counter()
    report = await service(client, timeout=0.5).run()
    elapsed = time.perf_counter() - began
    print(f"preflight of the whole catalogue on the emulator: {elapsed:.2f}s")

    verdicts = {(s.challenge_id, s.scenario_id): s.verdict for s in report.scenarios}
    assert list(verdicts) == [(c.id, s.id) for c in CATALOG for s in c.scenarios]
    for challenge in CATALOG:
        for scenario in challenge.scenarios:
            verdict = verdicts[(challenge.id, scenario.id)]
            if scenario.spec.scope == "cluster":
                assert verdict is Verdict.SKIPPED
            else:
                assert verdict is Verdict.BEHAVED
    skipped = next(s for s in report.scenarios if s.verdict is Verdict.SKIPPED)
    assert skipped.reason is not None and skipped.reason.key == "preflight.skipped_cluster_scope"
    assert skipped.broken is None and skipped.namespace is None
    namespaces = [s.namespace for s in report.scenarios if s.namespace]
    assert len(set(namespaces)) == len(namespaces), "one scratch namespace per scenario"
    assert all(n is not None and n.startswith(f"{PREFIX}preflight-") for n in namespaces)
    assert scratch_namespaces(kube_cluster) == []
    assert report.seconds <= elapsed


async def test_a_state_is_judged_once_its_checks_have_not_changed_for_the_settle_time(
    client: Cluster, kube_cluster: KubeCluster
) -> None:
    """On a real cluster Pods take time to be scheduled and pulled: a state is judged only after its checks'
    verdicts stayed the same for `settle` seconds; one that keeps changing is judged at the timeout, flagged.
    Messages alone changing (a replica count, a restart count climbing) is no change."""
    kube_cluster.freeze_time()  # the cluster's clock stays put: its pulls have failed once, no back-off yet
    now = 0.0
    frontend = next(m.body for m in CATALOG.get(2).scenario("image-pull").manifests if m.ref.kind == "Deployment")
    (container,) = frontend["spec"]["template"]["spec"]["containers"]

    def with_image(image: str, replicas: int) -> dict[str, Any]:
        template = frontend["spec"]["template"]
        spec = {**template["spec"], "containers": [{**container, "image": image}]}
        return {**frontend, "spec": {**frontend["spec"], "replicas": replicas, "template": {**template, "spec": spec}}}

    async def sleep(seconds: float) -> None:
        nonlocal now
        now += seconds
        (namespace,) = scratch_namespaces(kube_cluster)
        if now <= 10:  # someone keeps fixing and breaking the image: the verdicts flip until 8
            image = "nginx:1.27-alpine" if now in (2, 6) else container["image"]
            await client.apply(namespace, with_image(image, 3))

    preflight = PreflightService(
        catalog=CATALOG,
        cluster=client,
        namespace_prefix=PREFIX,
        timeout=10,
        settle=6,
        interval=2,
        clock=lambda: now,
        sleep=sleep,
    )
    (result,) = (await preflight.run([2], "image-pull")).scenarios
    assert result.broken is not None and result.solution is not None
    assert (result.broken.seconds, result.broken.settled) == (10, False)
    broken_says = render(result.broken.checks[0].message, "en")
    assert "ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee) ×3" in broken_says
    assert (result.solution.seconds, result.solution.settled) == (6, True)  # polled at 0, 2, 4 and 6
    assert result.verdict is Verdict.BEHAVED


async def test_each_scratch_namespace_is_the_bots_and_is_deleted(client: Cluster, kube_cluster: KubeCluster) -> None:
    report = await service(client).run([2], "image-pull")
    assert [s.scenario_id for s in report.scenarios] == ["image-pull"]
    created = [r for r in kube_cluster.requests if r.method == "POST" and r.url.path == "/api/v1/namespaces"]
    assert len(created) == 1
    labels = created[0].data["metadata"]["labels"]
    assert labels[MANAGED_BY] == "kubecamp-bot"
    deleted = [
        r.url.path
        for r in kube_cluster.requests
        if r.method == "DELETE" and r.url.path.startswith("/api/v1/namespaces/")
    ]
    assert deleted == [f"/api/v1/namespaces/{report.scenarios[0].namespace}"]
    assert scratch_namespaces(kube_cluster) == []


async def test_without_the_crds_the_challenge_5_scenarios_that_need_them_are_unavailable(
    kube_cluster_without_crds: KubeCluster,
) -> None:
    opened = bot_cluster(kube_cluster_without_crds)
    try:
        report = await service(opened).run([5])
    finally:
        await opened.close()
    results = by_id(report)
    assert {i: r.verdict for i, r in results.items()} == {
        "traffic-spike": Verdict.BEHAVED,
        "monitoring": Verdict.UNAVAILABLE,
        "logging": Verdict.BEHAVED,
        "autoscaling-conflict": Verdict.UNAVAILABLE,
    }
    monitoring = results["monitoring"].reason
    assert monitoring is not None
    assert render(monitoring, "en") == (
        "CRDs not installed: Prometheus (monitoring.coreos.com/v1), ServiceMonitor (monitoring.coreos.com/v1)"
    )
    conflict = results["autoscaling-conflict"].reason
    assert conflict is not None and "VerticalPodAutoscaler (autoscaling.k8s.io/v1)" in render(conflict, "en")
    assert results["monitoring"].namespace is None, "nothing is created for a scenario that cannot run"
    assert not report.all_behaved
    assert scratch_namespaces(kube_cluster_without_crds) == []


# --- a catalogue of scenarios that do not behave on this cluster ---------------------------------------

CHALLENGE = """\
id: 7
title: {ko: 점검, en: Preflight}
story: {ko: 점검용 시나리오, en: Scenarios for the preflight}
time_limit: 90m
scenarios:
  - id: fits
    title: {ko: 너무 작은 요청, en: Requests that fit}
    situation: {ko: 상황, en: Situation}
    symptoms: {ko: 증상, en: Symptoms}
    time_box: 10m
    points: 10
    manifests: fits/broken
    solution: fits/solution
    checks:
      - no_pending_pods: {selector: app=reports}
  - id: unknown-image
    title: {ko: 없는 이미지, en: An image that does not exist}
    situation: {ko: 상황, en: Situation}
    symptoms: {ko: 증상, en: Symptoms}
    time_box: 10m
    points: 10
    manifests: unknown-image/broken
    solution: unknown-image/solution
    checks:
      - deployment_available: {name: web}
  - id: no-such-class
    title: {ko: 없는 StorageClass, en: A StorageClass that does not exist}
    situation: {ko: 상황, en: Situation}
    symptoms: {ko: 증상, en: Symptoms}
    time_box: 10m
    points: 10
    manifests: no-such-class/broken
    solution: no-such-class/solution
    checks:
      - pvc_bound: {name: data}
"""


def deployment(name: str, image: str, cpu: str) -> str:
    return dedent(
        f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
        spec:
          replicas: 2
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
                - name: {name}
                  image: {image}
                  resources:
                    requests: {{cpu: "{cpu}", memory: 64Mi}}
        """
    )


def claim(storage_class: str, size: str) -> str:
    return dedent(
        f"""\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: data
        spec:
          storageClassName: {storage_class}
          accessModes: [ReadWriteOnce]
          resources:
            requests: {{storage: {size}}}
        """
    )


def write_misbehaving_catalogue(root: Path) -> Path:
    """A catalogue of scenarios that do not behave on the emulated cluster, under root.

    `fits`: its "unschedulable" request of 2 CPUs fits the emulated 4-CPU workers. `unknown-image`: the
    solution names an image the registry does not have. `no-such-class`: broken and solution ask for
    StorageClasses this cluster does not have (and the solution changes the claim's size, so it is
    deleted and created again)."""
    folder = root / "challenge-7"
    files = {
        "challenge.yaml": CHALLENGE,
        "fits/broken/reports.yaml": deployment("reports", "nginx:1.27-alpine", "2"),
        "fits/solution/reports.yaml": deployment("reports", "nginx:1.27-alpine", "100m"),
        "unknown-image/broken/web.yaml": deployment("web", "nginx:1.27-alpinee", "100m"),
        "unknown-image/solution/web.yaml": deployment("web", "nginx:9.99-nowhere", "100m"),
        "no-such-class/broken/data.yaml": claim("premium", "10Ti"),
        "no-such-class/solution/data.yaml": claim("fast-ssd", "10Gi"),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def misbehaving(tmp_path: Path) -> Catalog:
    return load_catalog(write_misbehaving_catalogue(tmp_path / "catalogue"), solutions=True)


async def test_what_does_not_behave_is_reported_with_what_the_cluster_said(
    client: Cluster, kube_cluster: KubeCluster, misbehaving: Catalog
) -> None:
    report = await service(client, misbehaving, timeout=0.3).run()
    results = by_id(report)
    assert {i: r.verdict for i, r in results.items()} == {
        "fits": Verdict.DID_NOT_BREAK,
        "unknown-image": Verdict.DID_NOT_HEAL,
        "no-such-class": Verdict.DID_NOT_HEAL,
    }
    assert not report.all_behaved

    fits = results["fits"]
    assert fits.broken is not None and fits.broken.settled, "steady, but not broken"
    assert [c.status for c in fits.broken.checks] == [Status.PASS]
    broken = said(fits, "broken")
    assert "scheduled on node kind-worker" in broken
    assert "the nodes' allocatable resources: " in broken and "kind-worker (cpu 4, memory 8Gi)" in broken

    image = said(results["unknown-image"], "solution")
    assert "container web: waiting (ErrImagePull)" in image or "container web: waiting (ImagePullBackOff)" in image
    assert "nginx:9.99-nowhere" in image
    assert "event Pod/web-" in image

    storage = said(results["no-such-class"], "solution")
    assert "PVC data: StorageClass fast-ssd does not exist in this cluster (there are: standard)" in storage
    assert 'ProvisioningFailed: storageclass.storage.k8s.io "fast-ssd" not found' in storage
    assert kube_cluster.get("persistentvolumeclaims", results["no-such-class"].namespace, "data") is None
    assert scratch_namespaces(kube_cluster) == []


async def test_a_manifest_the_cluster_refuses_is_reported_and_its_namespace_deleted(
    client: Cluster, kube_cluster: KubeCluster
) -> None:
    kube_cluster.fail(422, verb="patch", resource="deployments", times=1)
    report = await service(client).run([2], "image-pull")
    (result,) = report.scenarios
    assert result.verdict is Verdict.CLUSTER_ERROR
    assert result.reason is not None and render(result.reason, "en").startswith("Kubernetes API error: PATCH ")
    assert scratch_namespaces(kube_cluster) == []


async def test_a_cancelled_preflight_deletes_the_namespace_it_was_using(
    client: Cluster, kube_cluster: KubeCluster, misbehaving: Catalog
) -> None:
    polling = asyncio.Event()

    async def sleep(seconds: float) -> None:
        polling.set()  # it polls the state that does not break
        await asyncio.sleep(seconds)

    preflight = PreflightService(
        catalog=misbehaving, cluster=client, namespace_prefix=PREFIX, timeout=60, settle=0.0, interval=0.05, sleep=sleep
    )
    running = asyncio.create_task(preflight.run([7], "fits"))
    await polling.wait()
    assert len(scratch_namespaces(kube_cluster)) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert scratch_namespaces(kube_cluster) == []


async def test_a_namespace_that_cannot_be_deleted_is_reported(client: Cluster, kube_cluster: KubeCluster) -> None:
    kube_cluster.fail(503, verb="delete", resource="namespaces", times=1)
    report = await service(client).run([2], "image-pull")
    assert report.scenarios[0].verdict is Verdict.BEHAVED
    (namespace,) = scratch_namespaces(kube_cluster)
    assert list(report.namespaces_left) == [namespace]
    assert "503" in report.namespaces_left[namespace]
    assert not report.all_behaved


async def test_bad_selections_are_refused_before_anything_is_created(
    client: Cluster, kube_cluster: KubeCluster
) -> None:
    with pytest.raises(UnknownScenario, match="no scenario 'image-pul'; the challenges chosen have image-pull, "):
        await service(client).run([2], "image-pul")
    with pytest.raises(UnknownChallenge):
        await service(client).run([9])
    with pytest.raises(BuildNotPreflighted):
        await service(client).run([4])
    assert scratch_namespaces(kube_cluster) == []
    assert not [r for r in kube_cluster.requests if r.method != "GET"]


async def test_a_claim_still_in_use_stops_the_student_before_the_solution(
    cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    """`kubectl delete -f broken/` waits for the objects to go; a PVC another Pod still mounts does not."""
    storage = CATALOG.get(1).scenario("storage")
    await apply_scenario(cluster, "kubecamp-blue", storage)
    kube_cluster.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "debug"},
            "spec": {
                "containers": [{"name": "shell", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "postgres-data"}}],
            },
        },
        namespace="kubecamp-blue",
    )
    with pytest.raises(ApplyFailed, match=r"^PersistentVolumeClaim/postgres-data still being deleted after 0.2s$"):
        await apply_like_a_student(cluster, "kubecamp-blue", storage, gone_within=0.2, interval=0.05)
    assert kube_cluster.get("deployments", "kubecamp-blue", "postgres") is None, "the broken objects were deleted"


# --- broken only: the deployed catalogue, which has no solutions (the helm test) ---------------------


def copy_as_deployed(root: Path) -> Path:
    """The shipped catalogue as the bot is deployed with it: no solution folders, no answer key."""
    shutil.copytree(REPO / "scenarios", root, ignore=shutil.ignore_patterns("solution", "README.md"))
    return root


async def test_broken_only_proves_the_catalogue_as_deployed_applying_nothing_but_the_broken_state(
    client: Cluster, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    catalog = load_catalog(copy_as_deployed(tmp_path / "scenarios"))
    report = await service(client, catalog, timeout=0.5, broken_only=True).run([2])
    assert [(s.scenario_id, s.verdict) for s in report.scenarios] == [
        ("image-pull", Verdict.BROKE),
        ("unschedulable", Verdict.BROKE),
        ("rolling-update", Verdict.BROKE),
        ("node-affinity", Verdict.BROKE),
    ]
    assert report.all_behaved
    assert all(s.broken is not None and s.solution is None for s in report.scenarios)
    applied = {(r.namespace, r.name) for r in kube_cluster.requests if r.method == "PATCH"}
    expected = {
        (s.namespace, m.ref.name) for s in report.scenarios for m in catalog.get(2).scenario(s.scenario_id).manifests
    }
    assert applied == expected, "the broken state and nothing else"
    assert scratch_namespaces(kube_cluster) == []


async def test_broken_only_still_finds_a_scenario_that_does_not_break(
    client: Cluster, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    catalog = load_catalog(write_misbehaving_catalogue(tmp_path / "catalogue"))
    report = await service(client, catalog, timeout=0.3, broken_only=True).run()
    assert {s.scenario_id: s.verdict for s in report.scenarios} == {
        "fits": Verdict.DID_NOT_BREAK,
        "unknown-image": Verdict.BROKE,  # its solution would not heal: only the checkout's preflight can tell
        "no-such-class": Verdict.BROKE,
    }
    assert not report.all_behaved
    assert scratch_namespaces(kube_cluster) == []


async def test_a_full_preflight_needs_the_solutions(client: Cluster, kube_cluster: KubeCluster) -> None:
    with pytest.raises(ValueError, match=r"loaded without solutions \(1/control-plane, 1/networking, "):
        PreflightService(catalog=load_catalog(REPO / "scenarios"), cluster=client, namespace_prefix=PREFIX)
    with pytest.raises(ValueError, match="scenario image-pull: the catalogue was loaded without solutions"):
        await apply_like_a_student(
            client, "kubecamp-blue", load_catalog(REPO / "scenarios").get(2).scenario("image-pull")
        )
    assert kube_cluster.requests == []
