"""Building a scenario's broken state in a namespace: its good revision first, then the broken one.

A scenario with a `previous` folder is rolled out twice, as a team's cluster would have seen it: the
good revision, then the broken update. Between the two the Deployment controller must have observed
the good one (status.observedGeneration ≥ metadata.generation), or it would only ever create a
ReplicaSet for the broken template and `kubectl rollout undo` would find no revision to go back to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from bot.challenges.catalog import Manifest, Scenario
from bot.cluster import Cluster
from bot.kinds import ObjectRef
from bot.snapshot import Snapshot

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long to wait for the Deployment controller to observe the good revision, and how often to look.
ROLLOUT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.25


async def apply_scenario(
    cluster: Cluster,
    namespace: str,
    scenario: Scenario,
    *,
    on_applied: Callable[[ObjectRef], Awaitable[None]] | None = None,
    rollout_wait: float = ROLLOUT_WAIT_SECONDS,
) -> list[ObjectRef]:
    """Apply the scenario's previous revision (if any), wait until its Deployments are observed, then
    apply the broken manifests. Returns every object applied, once each, in order; `on_applied` is
    called as each first goes in, so a caller can record it before the next apply may fail."""
    applied: list[ObjectRef] = []

    async def put(manifests: Iterable[Manifest]) -> None:
        for manifest in manifests:
            ref = await cluster.apply(namespace, manifest.body)
            if ref not in applied:
                applied.append(ref)
                if on_applied is not None:
                    await on_applied(ref)

    await put(scenario.previous)
    deployments = {m.ref.name for m in scenario.previous if m.ref.kind == "Deployment"}
    if deployments:
        await wait_observed(cluster, namespace, deployments, within=rollout_wait)
    await put(scenario.manifests)
    return applied


async def wait_observed(cluster: Cluster, namespace: str, names: set[str], *, within: float) -> bool:
    """True once every named Deployment's controller has observed its latest spec; False (logged)
    if `within` seconds pass first: the run goes on, only without a revision to roll back to."""

    def unobserved(snapshot: Snapshot) -> list[str]:
        waiting = set(names)
        for item in snapshot.items.get("Deployment", []):
            metadata, status = item.get("metadata") or {}, item.get("status") or {}
            if status.get("observedGeneration", 0) >= metadata.get("generation", 1):
                waiting.discard(metadata.get("name", ""))
        return sorted(waiting)

    waiting = await wait_until_none(cluster, namespace, {"Deployment"}, unobserved, within=within)
    if waiting:
        log.warning("deployments %s in %s not observed within %gs", waiting, namespace, within)
    return not waiting


async def wait_until_none(
    cluster: Cluster,
    namespace: str,
    kinds: set[str],
    remaining: Callable[[Snapshot], list[T]],
    *,
    within: float,
    interval: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> list[T]:
    """Snapshot `kinds` of the namespace every `interval` seconds until `remaining` finds nothing left to
    wait for; what it still found once `within` seconds have passed (empty: nothing was left)."""
    deadline = clock() + within
    while True:
        left = remaining(await cluster.snapshot(namespace, kinds))
        if not left or clock() >= deadline:
            return left
        await sleep(interval)
