"""What a verification reads: the team's namespace, and for cluster-scope checks the views beyond it.

A check names the kinds it reads; besides real kinds (listed in the namespace, or cluster-wide for Node) a
cluster-scope check may name a view (`bot.challenges.checks.nodes`): every namespace's Pods, the kube-system
Pods, the API server's `/readyz?verbose`. A view that cannot be read is recorded like a kind that could not
be listed, so the check says "could not check".
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.challenges.checks.nodes import ALL_PODS, READYZ, SYSTEM_PODS
from bot.cluster import Cluster
from bot.errors import ClusterError
from bot.kinds import BY_NAME
from bot.snapshot import Snapshot

VIEWS = frozenset({ALL_PODS, SYSTEM_PODS, READYZ})


async def snapshot(cluster: Cluster, team: str, namespace: str, kinds: Iterable[str]) -> Snapshot:
    """`Cluster.snapshot` of the real kinds, plus the views among `kinds` (read on `team`'s own cluster only)."""
    wanted = set(kinds)
    taken = await cluster.snapshot(namespace, wanted - VIEWS)
    if SYSTEM_PODS in wanted:
        system = await cluster.snapshot("kube-system", {"Pod"})
        if "Pod" in system.errors:
            taken.errors[SYSTEM_PODS] = system.errors["Pod"]
        else:
            taken.items[SYSTEM_PODS] = system.items["Pod"]
    if ALL_PODS in wanted:
        try:
            taken.items[ALL_PODS] = await cluster.cluster_list(team, BY_NAME["Pod"])
        except ClusterError as exc:
            taken.errors[ALL_PODS] = exc.reason
    if READYZ in wanted:
        try:
            status, text = await cluster.health(READYZ)
            taken.items[READYZ] = [{"status": status, "text": text}]
        except ClusterError as exc:
            taken.errors[READYZ] = exc.reason
    return taken
