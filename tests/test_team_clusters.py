"""`kubecamp team cluster set|unset`: a team's own cluster registered from the shell, as a Secret on the shared one."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from tests.emulators.fixtures import BOT_NAMESPACE, own_cluster_kubeconfig, own_cluster_token
from tests.emulators.kube import KubeCluster
from tests.test_cli import env, forkserver, kubecamp  # noqa: F401 - the fixtures of the command's tests

SECRET = "kubecamp-cluster-blue"


@pytest.fixture
def shell(env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """The instructor's shell: admin of the shared cluster, the bot's namespace named."""
    kube_cluster.create("namespaces", {"metadata": {"name": BOT_NAMESPACE}})
    return {
        **env,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "shared.yaml")),
        "KUBECAMP_KUBE_BOT_NAMESPACE": BOT_NAMESPACE,
    }


async def test_set_keeps_the_kubeconfig_as_a_labelled_secret_and_says_only_where_it_points(
    shell: dict[str, str], kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    assert (await kubecamp(shell, "team", "add", "blue")).code == 0
    path = own_cluster_kubeconfig(team_clusters["blue"], tmp_path / "blue.yaml", team="blue")
    result = await kubecamp(shell, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path))
    assert result.code == 0, result.err
    assert result.out.strip() == (
        f"team blue: own cluster {team_clusters['blue'].url}, kept in Secret {BOT_NAMESPACE}/{SECRET}; it answers"
    )
    secret = kube_cluster.get("secrets", BOT_NAMESPACE, SECRET)
    assert secret is not None and secret["metadata"]["labels"]["kubecamp.io/team"] == "blue"
    kept = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig"]))
    assert kept["current-context"] == "kind-blue" and kept["users"][0]["user"]["token"] == own_cluster_token("blue")
    token = own_cluster_token("blue")
    assert token not in result.out + result.err
    stored = [p for p in (tmp_path / "data").iterdir() if p.name.startswith("kubecamp.db")]
    assert stored and all(token.encode() not in p.read_bytes() for p in stored)

    unset = await kubecamp(shell, "team", "cluster", "unset", "--team", "blue")
    assert (unset.code, unset.out.strip()) == (0, f"team blue: back on the shared cluster ({BOT_NAMESPACE}/{SECRET})")
    assert kube_cluster.get("secrets", BOT_NAMESPACE, SECRET) is None


async def test_a_cluster_that_does_not_answer_is_registered_and_said_so(
    shell: dict[str, str], team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    assert (await kubecamp(shell, "team", "add", "blue")).code == 0
    path = own_cluster_kubeconfig(team_clusters["blue"], tmp_path / "blue.yaml", team="blue")
    await team_clusters["blue"].stop()
    result = await kubecamp(shell, "--json", "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path))
    assert result.code == 0, result.err
    assert result.json() == {  # type: ignore[comparison-overlap]
        "team": "blue",
        "server": team_clusters["blue"].url,
        "secret": f"{BOT_NAMESPACE}/{SECRET}",
        "reachable": False,
    }


async def test_bad_input_is_named_and_changes_nothing(
    shell: dict[str, str], kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    assert (await kubecamp(shell, "team", "add", "blue")).code == 0
    missing = tmp_path / "nowhere.yaml"
    result = await kubecamp(shell, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(missing))
    assert (result.code, result.err.strip()) == (2, f"kubecamp: the kubeconfig file {missing} does not exist")
    path = own_cluster_kubeconfig(team_clusters["blue"], tmp_path / "blue.yaml", team="blue")
    wrong = await kubecamp(
        shell, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path), "--context", "x"
    )
    assert (wrong.code, wrong.err.strip()) == (2, f"kubecamp: {path}: no context 'x' (it has: kind-blue)")
    nobody = await kubecamp(shell, "team", "cluster", "set", "--team", "red", "--kubeconfig", str(path))
    assert (nobody.code, nobody.err.strip()) == (2, "kubecamp: no team named 'red'")
    unplaced = {k: v for k, v in shell.items() if k != "KUBECAMP_KUBE_BOT_NAMESPACE"}
    nowhere = await kubecamp(unplaced, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path))
    assert nowhere.code == 2 and "KUBECAMP_KUBE_BOT_NAMESPACE is not set" in nowhere.err
    assert kube_cluster.objects("secrets", BOT_NAMESPACE) == []


async def test_a_team_with_a_run_under_way_keeps_its_cluster(
    shell: dict[str, str], kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    assert (await kubecamp(shell, "team", "add", "blue")).code == 0
    assert (await kubecamp(shell, "challenge", "start", "--team", "blue", "--challenge", "2")).code == 0
    path = own_cluster_kubeconfig(team_clusters["blue"], tmp_path / "blue.yaml", team="blue")
    result = await kubecamp(shell, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path))
    assert (result.code, result.err.strip()) == (
        3,
        "kubecamp: team blue has challenge 2 running; stop it before changing its cluster",
    )
    assert kube_cluster.objects("secrets", BOT_NAMESPACE) == []
