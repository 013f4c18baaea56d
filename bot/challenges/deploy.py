"""Building a scenario's broken state in a namespace: a clean slate, its good revision, then the broken one.

A start first clears what the team left in its namespace (`clear_namespace`): server-side apply owns
only the fields it sets, so an object a team prepared beforehand would otherwise survive into the run,
with its fixes, and score.

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
from bot.errors import ClusterUnavailable, MessageError
from bot.i18n import Message
from bot.kinds import BY_NAME, ObjectRef
from bot.snapshot import Obj, Snapshot
from bot.team_namespace import FIELD_MANAGER, MANAGED_BY

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long to wait for the Deployment controller to observe the good revision, and how often to look.
ROLLOUT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.25
#: How long a start waits for what it cleared to be gone (Pods' grace periods, claims still mounted).
CLEAR_WAIT_SECONDS = 60.0

#: Kinds a clear leaves alone: Events are the namespace's record, EndpointSlices belong to Services.
_NOT_CLEARED = frozenset({"Event", "EndpointSlice", "Namespace"})
#: What Kubernetes itself puts in every namespace.
_BUILT_IN = frozenset({("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")})


class NamespaceNotCleared(MessageError):
    """Objects a start deleted were still there when it stopped waiting: no run was started."""

    def __init__(self, namespace: str, left: list[str]) -> None:
        super().__init__(Message("run.namespace_not_cleared", {"namespace": namespace, "objects": ", ".join(left)}))


async def clear_namespace(
    cluster: Cluster,
    namespace: str,
    *,
    only: set[ObjectRef] | None = None,
    within: float = CLEAR_WAIT_SECONDS,
) -> list[ObjectRef]:
    """Delete what is in the namespace, or only the objects in `only`, and wait until it is gone.

    Left alone: objects a controller owns (they go with their owner), what Kubernetes puts in every
    namespace, objects carrying the bot's managed-by label (the team's own set-up), Events and
    EndpointSlices. Returns what was deleted; NamespaceNotCleared if some of it is still there after
    `within` seconds (a claim a Pod still mounts, a finalizer nobody removes).
    """
    names = {ref.kind for ref in only} if only is not None else clearable_kinds()
    unserved = await cluster.missing_kinds(BY_NAME[k] for k in names if BY_NAME[k].crd)
    kinds = names - {k.kind for k in unserved}
    snapshot = await cluster.snapshot(namespace, kinds)
    if snapshot.errors:
        kind, reason = sorted(snapshot.errors.items())[0]
        raise ClusterUnavailable(f"could not list {kind} in {namespace} to clear it", reason=reason)
    found = [(_ref(kind, item), item) for kind in sorted(kinds) for item in snapshot.items.get(kind, [])]
    doomed = [
        (ref, (item.get("metadata") or {}).get("uid"))
        for ref, item in found
        if _cleared(ref.kind, item) and (only is None or ref in only)
    ]
    deleted = [ref for ref, _ in doomed if await cluster.delete(namespace, ref)]
    uids = {uid for _, uid in doomed}
    waiting = {ref.kind for ref, _ in doomed}  # only the kinds something was deleted of are listed again

    def still_there(now: Snapshot) -> list[str]:
        return sorted(
            f"{kind}/{(item.get('metadata') or {}).get('name')}"
            for kind in waiting
            for item in now.items.get(kind, [])
            if (item.get("metadata") or {}).get("uid") in uids
        )

    if doomed:
        left = await wait_until_none(cluster, namespace, waiting, still_there, within=within)
        if left:
            raise NamespaceNotCleared(namespace, left)
        log.info("cleared %d objects from %s before a start", len(deleted), namespace)
    return deleted


def clearable_kinds() -> set[str]:
    return {name for name, kind in BY_NAME.items() if kind.namespaced and name not in _NOT_CLEARED}


def _cleared(kind: str, item: Obj) -> bool:
    metadata = item.get("metadata") or {}
    return not (
        metadata.get("ownerReferences")
        or (kind, metadata.get("name")) in _BUILT_IN
        or (metadata.get("labels") or {}).get(MANAGED_BY) == FIELD_MANAGER
    )


def _ref(kind: str, item: Obj) -> ObjectRef:
    return ObjectRef(BY_NAME[kind].api_version, kind, str((item.get("metadata") or {}).get("name")))


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
