"""The Docker Swarm lab (challenge 3): the seed's three phases and their checkpoints, and each checkpoint proven
by a command's output passing on the real output of the step it names and failing on the output of the step
before it (tests/evidence/samples)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.challenges.reports import Trigger
from bot.challenges.runs import NothingToVerify, RunService
from bot.cluster import Cluster
from bot.evidence import evaluate
from bot.i18n import render
from bot.store import Store
from tests.challenges.test_runs import Clock
from tests.emulators.kube import KubeCluster
from tests.evidence.test_docker import sample
from tests.scenarios.test_catalogue_behaviour import CATALOG

LAB = CATALOG.get(3)


def test_the_lab_is_faithful_to_the_seed() -> None:
    assert LAB.is_lab and LAB.checked == ()  # the bot cannot reach a team's Docker host
    assert [(g.id, int(p.duration.total_seconds() // 60)) for g, p in zip(LAB.groups, LAB.phases, strict=True)] == [
        ("single-container", 120),
        ("swarm-basics", 120),
        ("advanced", 90),
    ]
    assert LAB.spec.time_limit == timedelta(hours=5, minutes=30)
    # The seed's four checkpoints a phase, in its order; a table proves five of them.
    assert [len(g.criteria) for g in LAB.groups] == [4, 4, 4]
    assert [c.id for c in LAB.rubric if c.spec.proof == "evidence"] == [
        "swarm-built",
        "self-healing",
        "scaled",
        "rolling-update",
        "health-recovery",
    ]
    assert {c.spec.proof for c in LAB.rubric} == {"evidence", "self"}
    assert LAB.total_points == 60 and {c.points for c in LAB.rubric} == {5}


@pytest.mark.parametrize(
    ("item", "passing", "before"),
    [
        ("swarm-built", "docker-node-ls-single.txt", None),
        ("self-healing", "docker-service-ps-recovered.txt", "docker-service-ps-killed.txt"),
        ("scaled", "docker-service-ls-scaled.txt", "docker-service-ls-scaling.txt"),
        ("rolling-update", "docker-service-ps-rolled.txt", "docker-service-ps-rolling.txt"),
        ("health-recovery", "docker-service-ps-health-format.txt", "docker-service-ps-fresh.txt"),
    ],
)
def test_each_evidence_checkpoint_passes_on_its_step_and_fails_before_it(
    item: str, passing: str, before: str | None
) -> None:
    checkpoint = LAB.criterion(item)
    assert checkpoint is not None and checkpoint.spec.evidence is not None
    evidence = checkpoint.spec.evidence
    passed = evaluate(evidence.parser, evidence.params, sample(passing))
    assert passed.passed, [render(m, "en") for m in passed.unmet]
    # Before `docker swarm init` there is no table, only docker's error.
    text = sample(before) if before else "Error response from daemon: This node is not a swarm manager."
    failed = evaluate(evidence.parser, evidence.params, text)
    assert not failed.passed and (failed.unmet or before is None), render(failed.message, "en")


async def test_a_run_of_the_lab_sends_the_cluster_nothing(
    cluster: Cluster, kube_cluster: KubeCluster, store: Store
) -> None:
    clock = Clock()
    service = RunService(catalog=CATALOG, store=store, cluster=cluster, clock=clock)
    await store.teams.create("red", "kubecamp-red")
    before = len(kube_cluster.requests)
    run = (await service.start("red", 3)).run
    assert run.deadline - run.started_at == timedelta(hours=5, minutes=30)
    with pytest.raises(NothingToVerify):
        await service.verify("red")
    clock.at(330)
    final = await service.verify_run(run, team=await service.team("red"), trigger=Trigger.FINAL)
    assert final.results == () and final.ended is not None
    # Its points are the ticked, pasted and graded checkpoints', which the scoreboard adds.
    assert (final.ended.status, final.ended.points) == ("finished", 0)
    assert len(kube_cluster.requests) == before
    assert kube_cluster.get("namespaces", None, "kubecamp-red") is None
