"""Applying a scenario's cluster-scope breaks (`bot.challenges.breaks`) through the API, and undoing them.

Only on a team's own cluster: every request goes through `Cluster.cluster_request`, which refuses unless the
cluster is registered as that team's. What `stop` needs to undo a break is returned as a record the run keeps
in the store (`record`), and is also written on the node it changed (annotation `kubecamp.io/break`), so an
instructor reading the node sees what the bot did there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.challenges.breaks import (
    BREAK_ANNOTATION,
    BREAKS_NAMESPACE,
    CONTROL_PLANE_LABEL,
    BreakSpec,
    EditStaticPod,
    ExhaustNode,
    OnWorker,
    TaintNode,
    breaks_namespace,
    hog_daemonset,
    hostpath_pod,
)
from bot.cluster import Cluster
from bot.errors import ApplyFailed, ClusterUnavailable, MessageError
from bot.i18n import Message
from bot.kinds import BY_NAME
from bot.team_namespace import FIELD_MANAGER
from bot.values import parse_quantity

log = logging.getLogger(__name__)

#: How long the Pod that edits a static Pod manifest may take (image pull included), and how often to look.
EDIT_WAIT_SECONDS = 120.0
POLL_SECONDS = 0.5

_MERGE = "application/merge-patch+json"


class ClusterTooSmall(MessageError):
    """The team's cluster lacks the nodes a break needs; nothing was changed."""


@dataclass(frozen=True)
class NodePlan:
    """The nodes breaks may pick, read once before any break changes them."""

    workers: tuple[str, ...]
    control_plane: tuple[str, ...]

    @classmethod
    async def read(cls, cluster: Cluster, team: str) -> NodePlan:
        nodes = sorted(await cluster.cluster_list(team, BY_NAME["Node"]), key=lambda n: str(n["metadata"]["name"]))
        workers = tuple(str(n["metadata"]["name"]) for n in nodes if _open_to_pods(n))
        control_plane = tuple(
            str(n["metadata"]["name"]) for n in nodes if CONTROL_PLANE_LABEL in (n["metadata"].get("labels") or {})
        )
        return cls(workers=workers, control_plane=control_plane)

    def check(self, breaks: Sequence[BreakSpec]) -> None:
        """ClusterTooSmall unless every break finds its node."""
        wanted = max((b.node + 1 for b in breaks if isinstance(b, OnWorker)), default=0)
        if wanted > len(self.workers):
            raise ClusterTooSmall(Message("run.cluster_too_small", {"needed": wanted, "found": len(self.workers)}))
        if any(isinstance(b, EditStaticPod) for b in breaks) and not self.control_plane:
            raise ClusterTooSmall(Message("run.no_control_plane_node", {}))


def _open_to_pods(node: dict[str, Any]) -> bool:
    """Ready, not cordoned, and without a taint that keeps Pods away: a node the team's Pods would go to."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    tainted = any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or [])
    return ready and not spec.get("unschedulable") and not tainted


async def apply_break(
    cluster: Cluster, team: str, spec: BreakSpec, plan: NodePlan, *, wait: float = EDIT_WAIT_SECONDS
) -> dict[str, Any]:
    """Apply one break; the record `undo_break` needs (also the run's record of it: apiVersion, kind, name)."""
    if isinstance(spec, TaintNode):
        node = plan.workers[spec.node]
        undo = {"labels": sorted(spec.label), "taint": spec.taint()}
        await _change_node(cluster, team, node, labels=spec.label, add_taint=spec.taint(), note=undo)
        return _record("v1", "Node", node, spec, undo)
    if isinstance(spec, ExhaustNode):
        node = plan.workers[spec.node]
        await _ensure_breaks_namespace(cluster, team)
        cpu, memory = await _free(cluster, team, node)
        hog_cpu = max(cpu - parse_quantity(spec.leave_cpu), Decimal(0))
        hog_memory = max(memory - parse_quantity(spec.leave_memory), Decimal(0))
        undo = {"labels": sorted(spec.label), "namespace": BREAKS_NAMESPACE, "daemonset": spec.name}
        await _change_node(cluster, team, node, labels=spec.label, note=undo)
        body = hog_daemonset(spec, cpu=f"{int(hog_cpu * 1000)}m", memory=str(int(hog_memory)))
        await cluster.cluster_request(
            team,
            "PATCH",
            BY_NAME["DaemonSet"].object_path(BREAKS_NAMESPACE, spec.name),
            body=body,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )
        return _record("v1", "Node", node, spec, undo)
    if isinstance(spec, EditStaticPod):
        node = plan.control_plane[0]
        await _ensure_breaks_namespace(cluster, team)
        prefix = f"kubecamp-break-{spec.manifest.removesuffix('.yaml')}-"
        body = hostpath_pod(prefix, node=node, script=spec.break_script(), purpose="break")
        name = await _run_once(cluster, team, body, wait)
        undo = {"node": node, "pod": name, "manifest": spec.manifest, "restore": spec.restore_script()}
        return _record("v1", "Pod", name, spec, undo)
    raise TypeError(f"no way to apply {type(spec).__name__}")  # pragma: no cover - every BreakSpec is handled


def _record(api_version: str, kind: str, name: str, spec: BreakSpec, undo: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "break": spec.break_name, "undo": undo}


def is_break(record: dict[str, Any]) -> bool:
    """Whether a run's applied record is a cluster-scope break (not an object in the team's namespace)."""
    return "break" in record


async def undo_break(cluster: Cluster, team: str, record: dict[str, Any], *, wait: float = EDIT_WAIT_SECONDS) -> None:
    """Put back what `apply_break` changed (what the team already put back stays so). ClusterUnavailable
    when the API server does not answer: the run keeps its record for the next attempt."""
    undo = record["undo"]
    if record["break"] in ("taint_node", "exhaust_node"):
        if "daemonset" in undo:
            await cluster.cluster_request(
                team,
                "DELETE",
                BY_NAME["DaemonSet"].object_path(undo["namespace"], undo["daemonset"]),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
            )
        await _restore_node(cluster, team, record["name"], undo)
        return
    if record["break"] == "edit_static_pod":
        pods = BY_NAME["Pod"]
        await cluster.cluster_request(team, "DELETE", pods.object_path(BREAKS_NAMESPACE, undo["pod"]))
        prefix = f"kubecamp-restore-{undo['manifest'].removesuffix('.yaml')}-"
        body = hostpath_pod(prefix, node=undo["node"], script=undo["restore"], purpose="restore")
        name = await _run_once(cluster, team, body, wait)
        await cluster.cluster_request(team, "DELETE", pods.object_path(BREAKS_NAMESPACE, name))
        return
    raise ValueError(f"unknown break record {record['break']!r}")


async def _change_node(
    cluster: Cluster,
    team: str,
    node: str,
    *,
    labels: dict[str, str],
    note: dict[str, Any],
    add_taint: dict[str, str] | None = None,
) -> None:
    current = await cluster.cluster_request(team, "GET", BY_NAME["Node"].object_path(None, node))
    if current is None:
        raise ApplyFailed(f"node {node} is gone", reason=Message("run.node_gone", {"node": node}))
    patch: dict[str, Any] = {
        "metadata": {
            "labels": dict(labels),
            "annotations": {BREAK_ANNOTATION: json.dumps(note, sort_keys=True)},
            # the taint list is replaced whole: refuse (409) if someone changed the node since it was read
            "resourceVersion": current["metadata"].get("resourceVersion"),
        }
    }
    if add_taint is not None:
        taints = [t for t in (current.get("spec") or {}).get("taints") or [] if not _same_taint(t, add_taint)]
        patch["spec"] = {"taints": [*taints, add_taint]}
    await cluster.cluster_request(
        team, "PATCH", BY_NAME["Node"].object_path(None, node), body=patch, content_type=_MERGE
    )
    log.info("team %s: node %s changed for a scenario (%s)", team, node, note)


async def _restore_node(cluster: Cluster, team: str, node: str, undo: dict[str, Any]) -> None:
    current = await cluster.cluster_request(team, "GET", BY_NAME["Node"].object_path(None, node))
    if current is None:
        return  # the node is gone: nothing to put back
    patch: dict[str, Any] = {
        "metadata": {
            "labels": dict.fromkeys(undo["labels"]),
            "annotations": {BREAK_ANNOTATION: None},
            "resourceVersion": current["metadata"].get("resourceVersion"),
        }
    }
    if "taint" in undo:
        taints = (current.get("spec") or {}).get("taints") or []
        kept = [t for t in taints if not _same_taint(t, undo["taint"])]
        if len(kept) != len(taints):
            patch["spec"] = {"taints": kept or None}
    await cluster.cluster_request(
        team, "PATCH", BY_NAME["Node"].object_path(None, node), body=patch, content_type=_MERGE
    )


def _same_taint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


async def _free(cluster: Cluster, team: str, node: str) -> tuple[Decimal, Decimal]:
    """The node's allocatable CPU (cores) and memory (bytes) less what the Pods bound to it request."""
    found = await cluster.cluster_request(team, "GET", BY_NAME["Node"].object_path(None, node)) or {}
    allocatable = (found.get("status") or {}).get("allocatable") or {}
    pods = await cluster.cluster_list(team, BY_NAME["Pod"], field_selector=f"spec.nodeName={node}")
    cpu, memory = parse_quantity(allocatable.get("cpu", "0")), parse_quantity(allocatable.get("memory", "0"))
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for container in (pod.get("spec") or {}).get("containers") or []:
            requests = (container.get("resources") or {}).get("requests") or {}
            cpu -= parse_quantity(requests.get("cpu", "0"))
            memory -= parse_quantity(requests.get("memory", "0"))
    return cpu, memory


async def _ensure_breaks_namespace(cluster: Cluster, team: str) -> None:
    path = BY_NAME["Namespace"].object_path(None, BREAKS_NAMESPACE)
    if await cluster.cluster_request(team, "GET", path) is None:
        await cluster.cluster_request(team, "POST", BY_NAME["Namespace"].collection_path(None), body=breaks_namespace())


async def _run_once(cluster: Cluster, team: str, pod: dict[str, Any], wait: float) -> str:
    """Create the Pod (a fresh name each time: a previous one may still be terminating), wait until it has
    run, and return its name.

    A Pod that edits the kube-apiserver manifest may take the API server down with it: once the Pod
    exists, an API server that stops answering is the edit taking effect, not a failure."""
    pods = BY_NAME["Pod"]
    created = await cluster.cluster_request(team, "POST", pods.collection_path(BREAKS_NAMESPACE), body=pod) or {}
    name = str((created.get("metadata") or {}).get("name"))
    path = pods.object_path(BREAKS_NAMESPACE, name)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            live = await cluster.cluster_request(team, "GET", path) or {}
        except ClusterUnavailable:
            log.info("team %s: the API server stopped answering after %s ran", team, name)
            return name
        status = live.get("status") or {}
        if status.get("phase") == "Succeeded":
            return name
        if status.get("phase") == "Failed" or loop.time() >= deadline:
            terminated = ((status.get("containerStatuses") or [{}])[0].get("state") or {}).get("terminated") or {}
            detail = str(terminated.get("message") or terminated.get("reason") or status.get("phase") or "Pending")
            raise ApplyFailed(
                f"{BREAKS_NAMESPACE}/{name} did not succeed: {detail}",
                reason=Message("run.break_failed", {"pod": f"{BREAKS_NAMESPACE}/{name}", "detail": detail[:300]}),
            )
        await asyncio.sleep(POLL_SECONDS)
