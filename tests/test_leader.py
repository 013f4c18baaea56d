"""Leader election on the emulated API server's Leases: one leader, a takeover once the Lease expires, a release
on a clean stop, and a race for an expired Lease that the resourceVersion decides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.cluster import Cluster
from bot.errors import ApplyFailed
from bot.leader import LeaderElector, LeaseSettings
from tests.emulators.kube import KubeCluster

NAMESPACE = "kubecamp"
LEASE = "kubecamp-bot"


class _Clock:
    """A monotonic clock the test moves: how long a candidate has seen the Lease unchanged."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def lease_client(kube_cluster: KubeCluster) -> AsyncIterator[Cluster]:
    kube_cluster.create("namespaces", {"metadata": {"name": NAMESPACE}})
    client = Cluster.for_host(kube_cluster.url, token="admin")
    yield client
    await client.close()


def candidate(cluster: Cluster, name: str, clock: _Clock, seconds: float = 15) -> LeaderElector:
    return LeaderElector(
        cluster=cluster,
        lease=LeaseSettings(namespace=NAMESPACE, name=LEASE, identity=name, duration_seconds=seconds),
        monotonic=clock,
    )


def lease_spec(kube: KubeCluster) -> dict[str, object]:
    lease = kube.get("leases", NAMESPACE, LEASE)
    assert lease is not None
    return dict(lease["spec"])


async def test_the_first_candidate_creates_the_lease_and_the_second_follows(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    a, b = candidate(lease_client, "pod-a", clock), candidate(lease_client, "pod-b", clock)
    with pytest.raises(ConnectionError, match="the Lease kubecamp/kubecamp-bot not read yet"):
        b.check_read()  # not ready: it cannot say who leads
    assert await a.attempt()
    assert not await b.attempt()
    b.check_read()
    assert b.holder == "pod-a"
    clock.now += 14  # renewed within the duration: still a's
    assert await a.attempt()
    assert not await b.attempt()
    spec = lease_spec(kube_cluster)
    assert spec["holderIdentity"] == "pod-a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0


async def test_a_follower_takes_an_expired_lease_and_the_old_leader_stops_leading(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    a, b = candidate(lease_client, "pod-a", clock), candidate(lease_client, "pod-b", clock)
    assert await a.attempt()
    assert not await b.attempt()
    clock.now += 14.9  # a stops renewing (killed): b waits out the duration from when it last saw a change
    assert not await b.attempt()
    clock.now += 0.2
    assert await b.attempt()
    spec = lease_spec(kube_cluster)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("pod-b", 1)
    # a comes back (a paused process): it sees b's record and stops leading at once
    assert not await a.attempt()
    assert a.lost.is_set() and not a.leading.is_set()


async def test_two_candidates_racing_for_an_expired_lease_one_wins(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    old = candidate(lease_client, "pod-old", clock)
    assert await old.attempt()
    a, b = candidate(lease_client, "pod-a", clock), candidate(lease_client, "pod-b", clock)
    assert not await a.attempt() and not await b.attempt()
    clock.now += 16
    won = await asyncio.gather(a.attempt(), b.attempt())
    assert sorted(won) == [False, True]
    winner = "pod-a" if won[0] else "pod-b"
    assert lease_spec(kube_cluster)["holderIdentity"] == winner


async def test_a_clean_stop_gives_the_lease_up_and_the_follower_takes_it_at_once(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    a, b = candidate(lease_client, "pod-a", clock), candidate(lease_client, "pod-b", clock)
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    assert not await b.attempt()
    await a.aclose()
    assert not a.leading.is_set() and not a.lost.is_set()
    assert not lease_spec(kube_cluster).get("holderIdentity")
    assert await b.attempt()  # no wait for the duration: the Lease is free
    await b.aclose()


async def test_a_leader_that_cannot_reach_the_api_server_stops_leading_before_the_lease_expires(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    a = candidate(lease_client, "pod-a", clock, seconds=15)
    assert await a.attempt()
    await kube_cluster.stop()
    try:
        clock.now += 5
        assert await a.attempt()  # one renewal missed: still within two thirds of the duration
        clock.now += 5.1
        assert not await a.attempt()
        assert a.lost.is_set()
    finally:
        await kube_cluster.start()


async def test_the_emulated_api_server_refuses_a_stale_lease_update(
    kube_cluster: KubeCluster, lease_client: Cluster
) -> None:
    clock = _Clock()
    assert await candidate(lease_client, "pod-a", clock).attempt()
    path = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{LEASE}"
    lease = await lease_client.call("GET", path)
    renewed = {**lease, "spec": {**lease["spec"], "renewTime": "2030-01-01T00:00:00.000000Z"}}
    taken = {**lease, "spec": {**lease["spec"], "holderIdentity": "pod-x"}}
    await lease_client.call("PUT", path, body=renewed)
    with pytest.raises(ApplyFailed, match=r"409 Operation cannot be fulfilled on leases\.coordination\.k8s\.io"):
        await lease_client.call("PUT", path, body=taken)  # read before the renewal: its resourceVersion is stale
    assert lease_spec(kube_cluster)["holderIdentity"] == "pod-a"
