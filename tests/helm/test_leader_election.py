"""The chart with two replicas: only with PostgreSQL, a PodDisruptionBudget, the leader election settings, RBAC for
the one Lease, and an admission policy that lets the bot's ServiceAccount write that Lease and no other."""

from __future__ import annotations

from typing import Any

import helm_python
import pytest

from bot.cluster import Cluster
from bot.errors import ClusterForbidden
from bot.leader import LeaderElector, LeaseSettings
from tests import kube_schemas
from tests.emulators.admission import chart_settings
from tests.emulators.fixtures import bot_cluster
from tests.emulators.kube import KubeCluster
from tests.helm.test_chart import FULLNAME, INSTRUCTOR, NAMESPACE, kinds, merged, one, render

URL = "postgresql+asyncpg://kubecamp:s3cret@postgres.databases.svc:5432/kubecamp"
TWO: dict[str, Any] = merged(INSTRUCTOR, {"replicaCount": 2, "database": {"url": URL}})
LEASE = f"{FULLNAME}-leader"


def emulated_lease() -> str:
    """The Lease the emulated cluster's chart (two replicas) names: asked when a test runs, as rendering that
    chart at import cost every test process a fifteenth of a second of its collection."""
    return chart_settings(2)["KUBECAMP_LEADER_LEASE_NAME"]


def configmap(objects: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(objects, "ConfigMap", FULLNAME)["data"]
    return data


def test_one_replica_is_as_before_no_lease_no_budget() -> None:
    objects = render(INSTRUCTOR)
    deployment = one(objects, "Deployment", FULLNAME)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "PodDisruptionBudget" not in kinds(objects)
    assert not [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == LEASE]
    assert not [k for k in configmap(objects) if k.startswith("KUBECAMP_LEADER_")]


def test_two_replicas_on_postgresql_elect_a_leader_on_the_charts_lease() -> None:
    objects = render(merged(TWO, {"leaderElection": {"leaseSeconds": 20}}))
    for obj in objects:
        if obj["kind"] != "Pod":
            kube_schemas.validate(obj)
    deployment = one(objects, "Deployment", FULLNAME)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    budget = one(objects, "PodDisruptionBudget", FULLNAME)
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    settings = configmap(objects)
    assert {k: v for k, v in settings.items() if k.startswith("KUBECAMP_LEADER_")} == {
        "KUBECAMP_LEADER_ELECTION": "true",
        "KUBECAMP_LEADER_LEASE_NAME": LEASE,
        "KUBECAMP_LEADER_LEASE_NAMESPACE": NAMESPACE,
        "KUBECAMP_LEADER_LEASE_SECONDS": "20",
    }
    role = one(objects, "Role", LEASE)
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [LEASE],
            "verbs": ["get", "update"],
        },
        # create cannot name its object in RBAC: the admission policy holds the bot to this one Lease
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]
    binding = one(objects, "RoleBinding", LEASE)
    assert binding["roleRef"]["name"] == LEASE
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]


def test_two_replicas_without_postgresql_are_refused_by_the_schema() -> None:
    with pytest.raises(helm_python.HelmValuesError, match="database"):
        render(merged(INSTRUCTOR, {"replicaCount": 2}))


@pytest.mark.parametrize("count", [0, 3])
def test_a_replica_count_other_than_one_or_two_is_refused(count: int) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="replicaCount"):
        render(merged(TWO, {"replicaCount": count}))


async def test_the_policy_lets_the_bot_write_its_lease_and_no_other() -> None:
    async with KubeCluster(replicas=2) as kube:
        kube.create("namespaces", {"metadata": {"name": "kubecamp"}})
        client = bot_cluster(kube)
        try:
            elector = LeaderElector(
                cluster=client,
                lease=LeaseSettings(namespace="kubecamp", name=emulated_lease(), identity="pod-a"),
            )
            assert await elector.attempt()  # created
            assert await elector.attempt()  # renewed
            with pytest.raises(ClusterForbidden, match="ValidatingAdmissionPolicy"):
                await client.call(
                    "POST",
                    "/apis/coordination.k8s.io/v1/namespaces/kubecamp/leases",
                    body={"metadata": {"name": "another"}, "spec": {"holderIdentity": "pod-a"}},
                )
        finally:
            await client.close()


async def test_with_one_replica_the_policy_refuses_the_bot_a_lease() -> None:
    async with KubeCluster() as kube:
        kube.create("namespaces", {"metadata": {"name": "kubecamp"}})
        client: Cluster = bot_cluster(kube)
        try:
            elector = LeaderElector(
                cluster=client,
                lease=LeaseSettings(namespace="kubecamp", name=emulated_lease(), identity="pod-a"),
            )
            assert not await elector.attempt()
        finally:
            await client.close()
