"""`kubecamp team cluster set|unset`: a team's own cluster registered from the shell, as a Secret on the shared one."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from bot.clusters import ClusterRegistry
from bot.store import Store
from bot.team_access import AccessSetup, TeamAccess
from bot.teams import TeamService
from tests.emulators.fixtures import (
    BOT_NAMESPACE,
    bot_cluster,
    chart_kube_settings,
    install_chart,
    own_cluster_kubeconfig,
    own_cluster_token,
    register_own_cluster,
)
from tests.emulators.kube import KubeCluster
from tests.test_cli import as_the_bot, env, forkserver, fresh_env, kubecamp  # noqa: F401 - the fixtures of the command's tests

#: The commands' tests, on one worker: it starts one forkserver for them all (`forkserver`, tests/test_cli.py).
pytestmark = pytest.mark.xdist_group("kubecamp-commands")

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
        f"team blue: own cluster {team_clusters['blue'].url}, kept in Secret {BOT_NAMESPACE}/{SECRET}; it answers;"
        " namespace kubecamp-blue is there"
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
        "namespace": "kubecamp-blue",
        "namespace_ready": False,  # its first start makes it
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


@pytest.fixture
def bot(env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """The `kubecamp` command as it runs in the bot's Pod: the chart's settings and the bot's own token."""
    return as_the_bot(env, kube_cluster, tmp_path)


def set_up(kube: KubeCluster, namespace: str) -> dict[str, object]:
    """What makes a team namespace the bot's: its labels, and the names of its quota, limits and RoleBindings."""
    found = kube.get("namespaces", None, namespace)
    assert found is not None, namespace
    return {
        "labels": found["metadata"]["labels"],
        "quota": sorted(q["metadata"]["name"] for q in kube.objects("resourcequotas", namespace)),
        "limits": sorted(q["metadata"]["name"] for q in kube.objects("limitranges", namespace)),
    }


def accounts(kube: KubeCluster) -> list[str]:
    """The teams' ServiceAccounts (those labelled with a team) in the bot's namespace."""
    return sorted(
        a["metadata"]["name"]
        for a in kube.objects("serviceaccounts", BOT_NAMESPACE)
        if "kubecamp.io/team" in (a["metadata"].get("labels") or {})
    )


async def test_a_team_registered_on_its_own_cluster_gets_its_namespace_there_and_no_kubeconfig_from_the_bot(
    bot: dict[str, str], kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    admin = {**bot, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "admin.yaml"))}
    own = team_clusters["blue"]
    assert (await kubecamp(bot, "team", "add", "blue")).code == 0
    path = own_cluster_kubeconfig(own, tmp_path / "blue.yaml", team="blue")
    registered = await kubecamp(admin, "team", "cluster", "set", "--team", "blue", "--kubeconfig", str(path))
    assert registered.code == 0, registered.err
    assert registered.out.strip().endswith("it answers; namespace kubecamp-blue is there")
    # Set up there as on the shared cluster: labels (Pod Security included), quota and limits.
    shared = set_up(kube_cluster, "kubecamp-blue")
    assert set_up(own, "kubecamp-blue") == shared
    assert shared["quota"] and shared["limits"]

    before = accounts(kube_cluster)
    refused = await kubecamp(bot, "team", "kubeconfig", "--team", "blue")
    assert (refused.code, refused.err.strip()) == (
        2,
        f"kubecamp: Team blue works on its own cluster ({own.url}); the bot makes no team account there. It is a"
        " throwaway cluster the team administers: use that cluster's own kubeconfig, from the instructor who set"
        " it up.",
    )
    assert refused.out == ""
    assert not [r for r in kube_cluster.requests if r.url.path.endswith("/token")]  # no TokenRequest anywhere
    assert not [r for r in own.requests if r.url.path.endswith("/token")]
    assert accounts(kube_cluster) == before

    # Back on the shared cluster, the team's kubeconfig is the bot's again.
    assert (await kubecamp(admin, "team", "cluster", "unset", "--team", "blue")).code == 0
    again = await kubecamp(bot, "team", "kubeconfig", "--team", "blue")
    assert again.code == 0 and "kubeconfig of team blue" in again.err


async def test_a_team_whose_cluster_was_registered_first_is_made_there_only(
    bot: dict[str, str], kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    own = team_clusters["blue"]
    kubeconfig = own_cluster_kubeconfig(own, tmp_path / "blue.yaml", team="blue")
    register_own_cluster(kube_cluster, "blue", kubeconfig.read_text())  # the Secret, made by hand
    added = await kubecamp(bot, "team", "add", "blue")
    assert added.code == 0, added.err
    assert own.get("namespaces", None, "kubecamp-blue") is not None
    assert kube_cluster.get("namespaces", None, "kubecamp-blue") is None
    assert "kubecamp-blue" not in accounts(kube_cluster)  # no account on a cluster the team does not work on


async def test_removing_a_team_on_its_own_cluster_revokes_what_it_had_on_the_shared_one(
    kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], store: Store, tmp_path: Path
) -> None:
    install_chart(kube_cluster)
    settings = chart_kube_settings(team_server=kube_cluster.url)
    shared = bot_cluster(kube_cluster)
    registry = ClusterRegistry(shared=shared, namespace=BOT_NAMESPACE, refresh_seconds=0)
    access = TeamAccess(cluster=shared, setup=AccessSetup.of(settings), namespaces=settings.namespace_setup)
    teams = TeamService(store=store, namespace_prefix="kubecamp-", access=access, clusters=registry)
    own = team_clusters
    try:
        # blue was made on the shared cluster (an account there), then moved; green was on its own from the start.
        await teams.create("blue")
        assert "kubecamp-blue" in accounts(kube_cluster)
        for team in ("blue", "green"):
            path = own_cluster_kubeconfig(own[team], tmp_path / f"{team}.yaml", team=team)
            register_own_cluster(kube_cluster, team, path.read_text())
        await teams.create("green")
        for team in ("blue", "green"):
            await teams.remove(team)
            assert await store.teams.get(team) is None
        assert accounts(kube_cluster) == []  # blue's account revoked; green never had one
        # Their own clusters keep what is there: a throwaway cluster is the instructor's to delete.
        assert own["green"].get("namespaces", None, "kubecamp-green") is not None
    finally:
        await registry.close()
        await shared.close()
