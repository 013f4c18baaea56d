"""What a start needs on a team's own cluster, asked of that cluster's RBAC authorizer (SelfSubjectAccessReview).

The team's cluster runs the emulator's RBAC: the bot's kubeconfig there holds a bound token of the ServiceAccount
that helm/kubecamp-bot/files/team-cluster-rbac.yaml makes, so what that file grants is what the bot may do.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio import client as k8s

from bot.challenges import access
from bot.challenges.cluster_fit import ChallengeUnavailable
from bot.challenges.runs import RunService
from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.i18n import render
from bot.store import Store
from tests.challenges.test_runs import Clock
from tests.emulators.fixtures import BOT_NAMESPACE, bot_cluster, register_own_cluster
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

RBAC_FILE = Path(__file__).resolve().parents[2] / "helm" / "kubecamp-bot" / "files" / "team-cluster-rbac.yaml"
NAMESPACE = "kubecamp-blue"


def documented() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC_FILE.read_text()) if d]


async def bound_token(kube: KubeCluster, rules: list[dict[str, Any]] | None = None) -> str:
    """Apply the required permissions on `kube` (with `rules` in place of the ClusterRole's), as its admin, and
    ask the TokenRequest API for a token of the ServiceAccount, as `kubectl create token` does."""
    for document in documented():
        body = copy.deepcopy(document)
        if body["kind"] == "ClusterRole" and rules is not None:
            body["rules"] = rules
        kube.create(body["kind"], body, body["metadata"].get("namespace"))
    account = next(d for d in documented() if d["kind"] == "ServiceAccount")["metadata"]
    async with kube.api_client() as api:
        answer = await k8s.CoreV1Api(api).create_namespaced_service_account_token(
            account["name"], account["namespace"], {"spec": {"expirationSeconds": 7200}}
        )
    return str(answer.status.token)


@pytest.fixture
async def shared(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    client = bot_cluster(kube_cluster)
    yield client
    await client.close()


async def service_for(
    store: Store, shared: Cluster, kube_cluster: KubeCluster, own: KubeCluster, token: str, tmp_path: Path
) -> tuple[RunService, ClusterRegistry]:
    await store.teams.create("blue", NAMESPACE)
    config = own.write_kubeconfig(tmp_path / "blue.yaml", token=token, context="kind-blue")
    register_own_cluster(kube_cluster, "blue", config.read_text())
    registry = ClusterRegistry(shared=shared, namespace=BOT_NAMESPACE, refresh_seconds=0)
    return RunService(catalog=CATALOG, store=store, cluster=shared, clusters=registry, clock=Clock()), registry


async def test_the_documented_permissions_carry_a_run_from_start_to_stop(
    store: Store, shared: Cluster, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    blue = team_clusters["blue"]
    token = await bound_token(blue)
    service, registry = await service_for(store, shared, kube_cluster, blue, token, tmp_path)
    try:
        own = await registry.for_team("blue")
        for challenge in CATALOG:  # every scenario, the cluster-scope ones included: nothing is missing
            assert await access.missing(own, challenge.scenarios, NAMESPACE) == [], challenge.id
        report = await service.start("blue", 2)
        assert report.skipped == {} and blue.get("deployments", NAMESPACE, "frontend") is not None
        broken = await service.verify("blue")
        assert broken.result == "fail"  # read under RBAC: every check saw its kinds
        stopped = await service.stop("blue")
        assert stopped.deleted == len(report.applied)
        assert blue.objects("deployments", NAMESPACE) == []
    finally:
        await registry.close()


async def test_a_missing_permission_refuses_the_start_naming_it(
    store: Store, shared: Cluster, kube_cluster: KubeCluster, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> None:
    blue = team_clusters["blue"]
    role = next(d for d in documented() if d["kind"] == "ClusterRole")
    # The role without patching nodes (what the cluster-scope scenarios do) nor deleting Deployments.
    rules = []
    for rule in copy.deepcopy(role["rules"]):
        if rule["resources"] == ["nodes"]:
            rule["verbs"] = ["get", "list"]
        if "deployments" in rule["resources"]:
            rules.append({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]})
            rule["resources"] = [r for r in rule["resources"] if r != "deployments"]
        rules.append(rule)
    token = await bound_token(blue, rules)
    service, registry = await service_for(store, shared, kube_cluster, blue, token, tmp_path)
    try:
        with pytest.raises(ChallengeUnavailable) as caught:
            await service.start("blue", 21)  # its node-taint scenario patches a node
        assert render(caught.value.message, "en") == (
            f"not started: the kubeconfig registered for team blue's cluster ({blue.url}) cannot "
            f"delete deployments.apps in {NAMESPACE}, patch nodes. Grant it and start again"
        )
        assert "patch nodes" in render(caught.value.message, "ko")
        team = await store.teams.get("blue")
        assert team is not None and await store.runs.of_team(team.id) == []
        assert blue.get("namespaces", None, NAMESPACE) is None  # refused before anything was touched
    finally:
        await registry.close()
