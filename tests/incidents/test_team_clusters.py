"""An alert about a team's namespace is read on that team's own cluster: what the incident thread says about it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.discord.live import Class, answer, deliver, slash
from tests.emulators.fixtures import own_cluster_kubeconfig, register_own_cluster
from tests.emulators.kube import KubeCluster

PAYLOADS = Path(__file__).parent / "payloads"


def notification(pod: str) -> bytes:
    body = json.loads((PAYLOADS / "firing_one.json").read_text())
    body["alerts"][0]["labels"] |= {"namespace": "kubecamp-blue", "pod": pod, "container": "frontend"}
    body["commonLabels"]["namespace"] = "kubecamp-blue"
    return json.dumps(body).encode()


async def test_the_cluster_context_of_a_teams_alert_comes_from_its_own_cluster(
    live_class: Class, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    live, discord, own = live_class, live_class.discord, team_clusters["blue"]
    register_own_cluster(
        live.kube, "blue", own_cluster_kubeconfig(own, tmp_path / "blue.yaml", team="blue").read_text()
    )
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    [pod, *_] = [p["metadata"]["name"] for p in own.pods_of("kubecamp-blue", "frontend")]
    assert live.kube.pods_of("kubecamp-blue", "frontend") == []  # nothing of the run on the shared cluster

    assert await deliver(live, notification(pod)) == 200
    blue = live.room.team_channels["blue"]
    await discord.wait_until(lambda: len(discord.threads(blue)) == 2, 10, "the incident thread")
    thread = discord.threads(blue)[-1]

    def context() -> list[str]:
        return [str(m.content) for m in discord.messages(thread) if "What the cluster says" in str(m.content or "")]

    await discord.wait_until(lambda: bool(context()), 10, "what the cluster says")
    [said] = context()
    listing = said.split("\n```\n", 1)[1]
    assert pod in listing and ("ImagePullBackOff" in listing or "ErrImagePull" in listing)
    assert "could not read the cluster" not in said
