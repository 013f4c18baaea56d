"""A class in Discord where team blue works on its own cluster and team red on the shared one, end to end: the
real App and discord.py client against the Discord emulator, blue's cluster a second emulated cluster registered
as an instructor does by hand (a labelled Secret holding its kubeconfig on the shared cluster).

Blue's `/challenge start 21` breaks nodes of blue's cluster (a taint set by mistake, a node exhausted), red's
skips those scenarios; blue gets no kubeconfig from the bot (its cluster's own is the team's), removes the taint
with kubectl as a student would, `/challenge verify` shows it solved, hints and the scoreboard work as for any
challenge, and `/challenge stop` puts blue's nodes back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.challenges.breaks import BREAKS_NAMESPACE
from bot.challenges.timeline import Due
from tests.discord.live import Class, answer, slash, thread_of
from tests.emulators.fixtures import own_cluster_kubeconfig, register_own_cluster
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl

TAINTED = "kind-worker2"  # the second worker that takes Pods: the taint's node (`node: 1`)


def nodes(kube: KubeCluster) -> dict[str, tuple[object, object]]:
    """Each node's taints and labels: what the breaks change and stop puts back."""
    return {
        n["metadata"]["name"]: (n["spec"].get("taints"), dict(n["metadata"].get("labels") or {}))
        for n in kube.objects("nodes")
    }


@pytest.fixture
async def blue_cluster(
    live_class: Class, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> AsyncIterator[tuple[KubeCluster, Path]]:
    """Blue's own cluster, registered by a Secret on the shared cluster, and the kubeconfig blue works with."""
    own = team_clusters["blue"]
    kubeconfig = own_cluster_kubeconfig(own, tmp_path / "blue.yaml", team="blue")
    register_own_cluster(live_class.kube, "blue", kubeconfig.read_text())
    await live_class.app.clusters.refresh(now=True)  # the registry reads the Secrets every ten seconds
    yield own, kubeconfig


async def test_a_team_on_its_own_cluster_runs_the_node_scenarios_next_to_a_team_on_the_shared_one(
    live_class: Class, blue_cluster: tuple[KubeCluster, Path], tmp_path: Path
) -> None:
    live = live_class
    own, kubeconfig = blue_cluster
    before_own, before_shared = nodes(own), nodes(live.kube)

    refused = await slash(live, "blue-1", "team-blue", "team", "kubeconfig")
    text = (await answer(refused)).replace("\\", "")  # as Discord shows it: the URL's markup escapes dropped
    assert refused.ephemeral and f"Team blue works on its own cluster ({own.url})" in text
    assert "use that cluster's own kubeconfig" in text

    for team in ("blue", "red"):
        started = await slash(live, f"{team}-1", f"team-{team}", "challenge", "start", challenge=21)
        assert "Challenge 21 started" in await answer(started)
    taints, labels = nodes(own)[TAINTED]
    assert {"key": "maintenance", "value": "true", "effect": "NoSchedule"} in taints  # type: ignore[operator]
    assert labels["kubecamp.io/node-pool"] == "backend"  # type: ignore[index]
    assert own.get("deployments", "kubecamp-blue", "auth-service") is not None
    assert nodes(live.kube) == before_shared  # red's run changed no node of the shared cluster
    assert live.kube.get("deployments", "kubecamp-red", "auth-service") is None  # red's run skipped it

    await live.discord.wait_until(lambda: thread_of(live, "blue") and thread_of(live, "red"), 10, "the threads")
    red_channel = live.room.team_channels["red"]
    (red_briefing,) = [m for m in live.discord.messages(red_channel) if m.thread_id == thread_of(live, "red").id]
    assert red_briefing.embed_text().count("runs only on a cluster registered as the team's own") == 2

    def hints(team: str, level: int) -> int:
        return sum(m.embed_text().count(f"Hint {level}/") for m in live.discord.messages(thread_of(live, team)))

    # The 20-minute mark, run as the scheduler runs it when it comes due: blue's six scenarios (the two node
    # ones included) and red's four get their first hints.
    live.clock.offset = timedelta(minutes=20)
    for team in ("blue", "red"):
        found = await live.app.store.teams.get(team)
        run = None if found is None else await live.app.store.runs.active(found.id)
        assert run is not None
        await live.app.flow.on_due(run.id, Due.AUTO_VERIFY)
    await live.discord.wait_until(lambda: hints("blue", 1) == 6 and hints("red", 1) == 4, 10, "the first hints")
    mark = live.discord.messages(thread_of(live, "blue"))[0]
    assert "1 node(s) had untolerated taint {maintenance: true}" in mark.embed_text()

    # Blue asks for the next hint of the taint at 30 minutes, then removes the taint as a student would.
    live.clock.offset = timedelta(minutes=30)
    hint = await slash(live, "blue-2", "team-blue", "challenge", "hint", scenario="node-taint")
    assert hint.text() == f"Hint 2 of node-taint is posted in <#{thread_of(live, 'blue').id}>."
    await live.discord.wait_for_message(thread_of(live, "blue"), lambda m: "Taints line" in m.embed_text())
    kubectl = Kubectl(kubeconfig, cache_dir=tmp_path / "kubectl-cache")
    await kubectl("taint", "nodes", TAINTED, "maintenance=true:NoSchedule-")
    own.advance(5)  # the scheduler places the auth service, the kubelet starts it and its probe passes

    verified = await slash(live, "blue-1", "team-blue", "challenge", "verify", scenario="node-taint")
    text = await answer(verified)
    assert "1 of 6 scenarios solved so far" in text, text
    await live.discord.wait_for_message(thread_of(live, "blue"), lambda m: "✅ Taint set by mistake" in m.embed_text())

    board = await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=21)
    board_text = board.original.embed_text()
    assert "blue" in board_text and "hints used: 1" in board_text, board_text

    stopped = await slash(live, "blue-1", "team-blue", "challenge", "stop")
    assert "gave up challenge 21" in await answer(stopped)
    assert nodes(own) == before_own  # the taint's label gone, the exhausted node's label and hog too
    assert own.objects("daemonsets", BREAKS_NAMESPACE) == []
    assert own.objects("deployments", "kubecamp-blue") == []
