"""Where a scenario's hints say roll back, there is a revision to roll back to, and undoing to it works.

The broken state is built as a run builds it (the good revision rolled out first, then the broken
update); the real kubectl then lists the history and undoes the update against the emulated cluster.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.challenges.catalog import Scenario
from bot.challenges.deploy import apply_scenario
from bot.cluster import Cluster
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl
from tests.scenarios.test_catalogue_behaviour import CATALOG, NAMESPACE

ROLLBACK = re.compile(r"롤백|rollout undo|roll(ing)? back", re.IGNORECASE)

ALL = [(challenge, scenario) for challenge in CATALOG for scenario in challenge.scenarios]
WITH_PREVIOUS = [
    pytest.param(scenario, id=f"{challenge.id}-{scenario.id}") for challenge, scenario in ALL if scenario.previous
]


def rollback_hints(scenario: Scenario) -> list[str]:
    return [hint.en for hint in scenario.spec.hints if ROLLBACK.search(hint.ko) or ROLLBACK.search(hint.en)]


def test_every_hint_that_says_roll_back_has_a_revision_to_go_back_to() -> None:
    named = {(c.id, s.id) for c, s in ALL if rollback_hints(s)}
    assert named == {
        (2, "image-pull"),
        (2, "rolling-update"),
        (1, "order-service"),
        (21, "image-pull"),
        (21, "rolling-update"),
        (91, "image-pull"),
    }
    for challenge, scenario in ALL:
        if rollback_hints(scenario):
            kinds = {m.ref.kind for m in scenario.previous}
            assert "Deployment" in kinds, f"{challenge.id}/{scenario.id}: {rollback_hints(scenario)}"


@pytest.mark.parametrize("scenario", WITH_PREVIOUS)
async def test_rollout_undo_returns_to_a_working_deployment(
    cluster: Cluster, kube_cluster: KubeCluster, tmp_path: Path, scenario: Scenario
) -> None:
    await apply_scenario(cluster, NAMESPACE, scenario)
    kubectl = Kubectl(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"), cache_dir=tmp_path / "cache")
    for manifest in scenario.previous:
        name = manifest.ref.name
        before = kube_cluster.get("deployments", NAMESPACE, name)
        assert before is not None and not before["status"].get("availableReplicas"), "the update must break it"

        history = await kubectl("rollout", "history", f"deployment/{name}", "-n", NAMESPACE)
        assert re.findall(r"^(\d+)\s", history, re.MULTILINE) == ["1", "2"], history

        await kubectl("rollout", "undo", f"deployment/{name}", "-n", NAMESPACE)
        after = kube_cluster.get("deployments", NAMESPACE, name)
        assert after is not None
        replicas = after["spec"]["replicas"]
        assert after["status"].get("availableReplicas") == replicas, after["status"]
        good = manifest.body["spec"]["template"]["spec"]["containers"][0]["image"]
        images = {p["spec"]["containers"][0]["image"] for p in kube_cluster.objects("pods", NAMESPACE)}
        assert images == {good}
