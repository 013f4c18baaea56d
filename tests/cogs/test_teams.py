"""/team list through the real discord.py client: which cluster each team is on, and whether it answers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.discord.live import Class, answer, slash
from tests.emulators.fixtures import own_cluster_kubeconfig, own_cluster_token, register_own_cluster
from tests.emulators.kube import KubeCluster


async def test_team_list_shows_each_teams_cluster_and_whether_it_answers(
    live_class: Class, team_clusters: dict[str, KubeCluster], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    blue = team_clusters["blue"]
    register_own_cluster(
        live_class.kube, "blue", own_cluster_kubeconfig(blue, tmp_path / "blue.yaml", team="blue").read_text()
    )
    listed = await answer(await slash(live_class, "instructor", "alerts", "team", "list"))
    lines = {line.split(" · ")[0]: line for line in listed.splitlines()}
    assert lines["**blue**"].endswith(f"own cluster `{blue.url}` ✅")
    assert lines["**red**"].endswith("shared cluster ✅")

    await blue.stop()
    listed = await answer(await slash(live_class, "instructor", "alerts", "team", "list"))
    lines = {line.split(" · ")[0]: line for line in listed.splitlines()}
    assert lines["**blue**"].endswith(
        f"own cluster `{blue.url}` ⚠️ not answering: the Kubernetes API server cannot be reached"
    )
    assert lines["**red**"].endswith("shared cluster ✅")
    assert own_cluster_token("blue") not in listed + caplog.text
