"""Preflight: prove on the instructor's own cluster, before the class, that every scenario breaks and heals.

Each namespaced scenario gets a scratch namespace of its own (`<prefix>preflight-<random>`, labelled as
the bot's). Its broken state is applied as a run applies it, and its checks must fail; then its solution
is applied as a student would, and every check must pass. A real cluster takes time to schedule, pull and
roll out, so each state is polled until its checks stop changing (bounded by a timeout) before it is
judged. When a state does not behave, the report carries what the cluster said: pod states, warning
Events, a StorageClass that does not exist here, the nodes' sizes. The scratch namespace is deleted after
its scenario whatever happened, cancellation included.

Cluster-scope scenarios are skipped (they never run in a shared cluster); a scenario whose CRDs are not
installed is reported as unavailable, as is one the cluster refuses, and the others still run.

With `broken_only` the solutions are not applied: the catalogue the bot is deployed with carries none, so
the in-cluster preflight (`helm test`) proves that the bot's ServiceAccount may apply every broken state
and that each breaks as its checks say; that each heals is proven from the instructor's checkout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.challenges.catalog import Catalog, Challenge, Scenario
from bot.challenges.checks import Status, find_condition, name_of
from bot.challenges.deploy import apply_scenario, wait_until_none
from bot.challenges.reports import CheckResult, ScenarioResult
from bot.cluster import Cluster
from bot.errors import ApplyFailed, ClusterError, KindNotServed, MessageError, NamespaceNotManaged, UnknownScenario
from bot.i18n import Message
from bot.kinds import KINDS, Kind, ObjectRef
from bot.snapshot import Obj, Snapshot, SnapshotGap

log = logging.getLogger(__name__)

#: The team label of a scratch namespace (`kubecamp.io/team`): it belongs to no team.
PREFLIGHT_TEAM = "preflight"
#: What is read, besides the checks' kinds, to say what the cluster said about a state that misbehaved.
OBSERVED_KINDS = ("Pod", "Event", "PersistentVolumeClaim", "StorageClass", "Node")
_MAX_EVENTS = 8
_MAX_PODS_NAMED = 3

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]


class BuildNotPreflighted(MessageError):
    """A build deploys nothing broken: the preflight has no scenario of it to prove."""


class Verdict(StrEnum):
    BEHAVED = "behaved"  # the checks failed on the broken state and passed on the solution
    BROKE = "broke"  # broken_only: the checks failed on the broken state; no solution was applied
    DID_NOT_BREAK = "did_not_break"  # some non-guard check passed on the broken state
    DID_NOT_HEAL = "did_not_heal"  # some check did not pass on the solution
    UNAVAILABLE = "unavailable"  # a kind it applies is not served here (its CRD is not installed)
    CLUSTER_ERROR = "cluster_error"  # the cluster refused a manifest or failed a request
    SKIPPED = "skipped"  # cluster scope: never run in a shared cluster

    @property
    def ok(self) -> bool:
        return self in (Verdict.BEHAVED, Verdict.BROKE, Verdict.SKIPPED)


def broke(checks: Sequence[CheckResult]) -> bool:
    """The broken state as the scenario means it: every non-guard check fails or cannot be checked,
    and at least one fails (a state nothing could be checked on proves nothing)."""
    judged = [c.status for c in checks if not c.guard]
    return Status.FAIL in judged and Status.PASS not in judged


def healed(checks: Sequence[CheckResult]) -> bool:
    return all(c.status is Status.PASS for c in checks)


@dataclass(frozen=True)
class StateReport:
    """One state of a scenario (broken, or solved) as the cluster settled on it."""

    checks: tuple[CheckResult, ...]
    seconds: float  # from the first apply to the verdict
    settled: bool  # the checks had stopped changing (for `settle` seconds) when the state was judged
    cluster_said: tuple[Message, ...] = ()


@dataclass(frozen=True)
class ScenarioPreflight:
    challenge_id: int
    scenario_id: str
    verdict: Verdict
    namespace: str | None = None
    broken: StateReport | None = None
    solution: StateReport | None = None
    reason: Message | None = None  # why it was skipped, unavailable or a cluster error


@dataclass(frozen=True)
class PreflightReport:
    scenarios: tuple[ScenarioPreflight, ...]
    seconds: float
    #: Scratch namespaces that could not be deleted, and why: delete them by hand.
    namespaces_left: dict[str, str] = field(default_factory=dict)

    @property
    def all_behaved(self) -> bool:
        return all(s.verdict.ok for s in self.scenarios) and not self.namespaces_left


def scratch_namespace(prefix: str) -> str:
    return f"{prefix}preflight-{secrets.token_hex(4)}"


async def apply_like_a_student(
    cluster: Cluster,
    namespace: str,
    scenario: Scenario,
    *,
    gone_within: float = 120.0,
    interval: float = 1.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """The solution, applied as a student would: `kubectl apply -f solution/`. The server refuses a change
    to an immutable field (a PVC's size, class, access modes); the student then runs `kubectl delete -f
    broken/`, which waits until the objects are gone (a PVC in use goes only after its pods), and applies
    again. Where the hints say roll back, the student does that first: the good revision's template (what
    `kubectl rollout undo` restores) frees the nodes the broken Pods hold, so the fixed strategy's surge
    Pods can schedule."""
    if scenario.solution is None:
        raise ValueError(f"scenario {scenario.id}: the catalogue was loaded without solutions")
    for manifest in scenario.previous:
        await cluster.apply(namespace, manifest.body)
    try:
        for manifest in scenario.solution:
            await cluster.apply(namespace, manifest.body)
    except ApplyFailed:
        refs = [manifest.ref for manifest in reversed(scenario.manifests)]
        for ref in refs:
            await cluster.delete(namespace, ref)
        await _wait_until_gone(
            cluster, namespace, refs, within=gone_within, interval=interval, clock=clock, sleep=sleep
        )
        for manifest in scenario.solution:
            await cluster.apply(namespace, manifest.body)


async def _wait_until_gone(
    cluster: Cluster,
    namespace: str,
    refs: Sequence[ObjectRef],
    *,
    within: float,
    interval: float,
    clock: Clock,
    sleep: Sleep,
) -> None:
    def present(snapshot: Snapshot) -> list[ObjectRef]:
        return [ref for ref in refs if _present(snapshot, ref)]

    kinds = {ref.kind for ref in refs}
    remaining = await wait_until_none(
        cluster, namespace, kinds, present, within=within, interval=interval, clock=clock, sleep=sleep
    )
    if remaining:
        names = ", ".join(str(ref) for ref in remaining)
        raise ApplyFailed(f"{names} still being deleted after {within:g}s")


def _present(snapshot: Snapshot, ref: ObjectRef) -> bool:
    try:
        return snapshot.get(ref.kind, ref.name) is not None
    except SnapshotGap:
        return True  # cannot tell yet: keep waiting


class PreflightService:
    """Runs the preflight. `timeout`: seconds each state may take to settle; `settle`: seconds its checks
    must stay the same before it is judged; `interval`: seconds between two polls; `broken_only`: judge the
    broken state only (a catalogue without solutions)."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        cluster: Cluster,
        namespace_prefix: str,
        timeout: float = 180.0,
        settle: float = 15.0,
        interval: float = 2.0,
        broken_only: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not broken_only:
            unsolved = [f"{c.id}/{s.id}" for c in catalog for s in c.scenarios if s.solution is None]
            if unsolved:
                raise ValueError(f"loaded without solutions ({', '.join(unsolved)}): prove them with broken_only")
        self._catalog = catalog
        self._cluster = cluster
        self._prefix = namespace_prefix
        self._timeout = timeout
        self._settle = settle
        self._interval = interval
        self._broken_only = broken_only
        self._clock = clock
        self._sleep = sleep

    def select(
        self, challenge_ids: Sequence[int] = (), scenario_id: str | None = None
    ) -> list[tuple[Challenge, Scenario]]:
        """The scenarios to prove: of the named challenges (all by default), only `scenario_id` if given."""
        challenges = [self._catalog.get(i) for i in dict.fromkeys(challenge_ids)] or list(self._catalog)
        builds = [c.id for c in challenges if c.scored_by_items and challenge_ids]
        if builds:  # named on purpose: say why there is nothing to prove (unnamed, a build is passed over)
            raise BuildNotPreflighted(Message("preflight.build", {"challenge": builds[0]}))
        selected = [(c, s) for c in challenges for s in c.scenarios if scenario_id in (None, s.id)]
        if not selected:
            known = sorted({s.id for c in challenges for s in c.scenarios})
            raise UnknownScenario(str(scenario_id), known)
        return selected

    async def run(self, challenge_ids: Sequence[int] = (), scenario_id: str | None = None) -> PreflightReport:
        selected = self.select(challenge_ids, scenario_id)
        began = self._clock()
        await self._cluster.ping()  # an unreachable cluster stops the preflight, not each scenario
        namespaced = [s for _, s in selected if s.spec.scope == "namespace"]
        missing = set(await self._cluster.missing_kinds({k for s in namespaced for k in _kinds_applied(s) if k.crd}))
        results: list[ScenarioPreflight] = []
        left: dict[str, str] = {}
        for challenge, scenario in selected:
            if scenario.spec.scope == "cluster":
                results.append(
                    ScenarioPreflight(
                        challenge.id,
                        scenario.id,
                        Verdict.SKIPPED,
                        reason=Message("preflight.skipped_cluster_scope", {}),
                    )
                )
                continue
            absent = sorted((k for k in _kinds_applied(scenario) if k in missing), key=lambda k: k.kind)
            if absent:
                results.append(
                    ScenarioPreflight(challenge.id, scenario.id, Verdict.UNAVAILABLE, reason=_crds_missing(absent))
                )
                continue
            results.append(await self._scenario(challenge, scenario, left))
        return PreflightReport(scenarios=tuple(results), seconds=self._clock() - began, namespaces_left=left)

    async def _scenario(self, challenge: Challenge, scenario: Scenario, left: dict[str, str]) -> ScenarioPreflight:
        namespace = scratch_namespace(self._prefix)
        log.info("preflight of challenge %s scenario %s in %s", challenge.id, scenario.id, namespace)
        try:
            await self._cluster.ensure_namespace(namespace, team=PREFLIGHT_TEAM)
            return await self._prove(challenge, scenario, namespace)
        except KindNotServed as exc:  # a CRD went away since discovery
            reason = _crds_missing([KINDS[(exc.api_version, exc.kind)]])
            return ScenarioPreflight(challenge.id, scenario.id, Verdict.UNAVAILABLE, namespace, reason=reason)
        except ClusterError as exc:
            reason = Message("preflight.cluster_error", {"detail": str(exc)})
            return ScenarioPreflight(challenge.id, scenario.id, Verdict.CLUSTER_ERROR, namespace, reason=reason)
        finally:
            await self._remove(namespace, left)

    async def _prove(self, challenge: Challenge, scenario: Scenario, namespace: str) -> ScenarioPreflight:
        began = self._clock()
        await apply_scenario(self._cluster, namespace, scenario)
        broken = await self._settled(namespace, scenario, broke, began)
        if self._broken_only:
            verdict = Verdict.BROKE if broke(broken.checks) else Verdict.DID_NOT_BREAK
            return ScenarioPreflight(challenge.id, scenario.id, verdict, namespace, broken)
        began = self._clock()
        await apply_like_a_student(
            self._cluster,
            namespace,
            scenario,
            gone_within=self._timeout,
            interval=self._interval,
            clock=self._clock,
            sleep=self._sleep,
        )
        solution = await self._settled(namespace, scenario, healed, began)
        if not broke(broken.checks):
            verdict = Verdict.DID_NOT_BREAK
        elif not healed(solution.checks):
            verdict = Verdict.DID_NOT_HEAL
        else:
            verdict = Verdict.BEHAVED
        return ScenarioPreflight(challenge.id, scenario.id, verdict, namespace, broken, solution)

    async def _settled(
        self, namespace: str, scenario: Scenario, wanted: Callable[[Sequence[CheckResult]], bool], began: float
    ) -> StateReport:
        """Poll the checks until they show what is wanted and their verdicts have not changed for `settle`
        seconds, or until the timeout (a state that is not what is wanted may still be on its way there).
        Verdicts, not messages: on a real cluster a crash loop's restart count and an Event's count climb
        for as long as the state lasts, so its messages never stop changing."""
        deadline = began + self._timeout
        last: tuple[Status, ...] = ()
        unchanged_since = began
        while True:
            checks = ScenarioResult.of(scenario, await self._cluster.snapshot(namespace, scenario.kinds)).checks
            now = self._clock()
            verdicts = tuple(check.status for check in checks)
            if verdicts != last:
                last, unchanged_since = verdicts, now
            steady = now - unchanged_since >= self._settle
            if wanted(checks) and steady:
                return StateReport(checks, now - began, settled=True)
            if now >= deadline:
                said = () if wanted(checks) else await self._cluster_said(namespace)
                return StateReport(checks, now - began, settled=steady, cluster_said=said)
            await self._sleep(max(0.0, min(self._interval, deadline - now)))

    async def _cluster_said(self, namespace: str) -> tuple[Message, ...]:
        return cluster_said(await self._cluster.snapshot(namespace, OBSERVED_KINDS))

    async def _remove(self, namespace: str, left: dict[str, str]) -> None:
        try:
            await self._cluster.delete_namespace(namespace)
        except NamespaceNotManaged:
            pass  # it existed before and is not the bot's: nothing was applied to it, nothing to delete
        except ClusterError as exc:
            log.warning("could not delete the scratch namespace %s: %s", namespace, exc)
            left[namespace] = str(exc)


def _kinds_applied(scenario: Scenario) -> set[Kind]:
    return {
        KINDS[(m.body["apiVersion"], m.body["kind"])]
        for m in scenario.previous + scenario.manifests + (scenario.solution or ())
    }


def _crds_missing(kinds: Iterable[Kind]) -> Message:
    return Message("preflight.crd_missing", {"kinds": ", ".join(f"{k.kind} ({k.api_version})" for k in kinds)})


# --- what the cluster said ------------------------------------------------------------------------


def cluster_said(snapshot: Snapshot) -> tuple[Message, ...]:
    """What a namespace shows about a state that did not behave: pod states (grouped), a StorageClass
    that does not exist, the nodes' sizes when pods got scheduled, and the latest warning Events."""
    said = [
        Message("preflight.said.unlisted", {"kind": kind, "reason": reason.to_json()})
        for kind, reason in sorted(snapshot.errors.items())
    ]
    pods = sorted(snapshot.items.get("Pod", []), key=name_of)
    said += _grouped((name_of(pod), _said_of_pod(pod)) for pod in pods)
    said += _storage_said(snapshot.items.get("PersistentVolumeClaim", []), snapshot.items.get("StorageClass", []))
    if any(pod.get("spec", {}).get("nodeName") for pod in pods) and snapshot.items.get("Node"):
        said.append(Message("preflight.said.nodes", {"nodes": _node_sizes(snapshot.items["Node"])}))
    said += _events_said(snapshot.items.get("Event", []))
    return tuple(said)


def _said_of_pod(pod: Obj) -> list[tuple[str, dict[str, str]]]:
    """(message key, parameters without the pod's name) for one pod."""
    status = pod.get("status", {})
    scheduled = find_condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        message = str(scheduled.get("message") or scheduled.get("reason"))
        return [("preflight.said.pod_unscheduled", {"message": message})]
    out: list[tuple[str, dict[str, str]]] = []
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        for condition in ("waiting", "terminated"):
            if condition in state:
                detail = state[condition]
                out.append(
                    (
                        f"preflight.said.pod_{condition}",
                        {
                            "container": str(container.get("name")),
                            "reason": str(detail.get("reason") or "-"),
                            "message": " ".join(str(detail.get("message") or "-").split()),
                        },
                    )
                )
    if not out:
        node = str(pod.get("spec", {}).get("nodeName") or "-")
        out.append(("preflight.said.pod_scheduled", {"node": node, "phase": str(status.get("phase") or "-")}))
    return out


def _grouped(pods: Iterable[tuple[str, list[tuple[str, dict[str, str]]]]]) -> list[Message]:
    """One line per distinct observation, naming the pods that show it (the first few)."""
    named: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
    for pod, observations in pods:
        for key, params in observations:
            named.setdefault((key, tuple(sorted(params.items()))), []).append(pod)
    said = []
    for (key, items), names in named.items():
        more = len(names) - _MAX_PODS_NAMED
        listed = ", ".join(names[:_MAX_PODS_NAMED]) + (f" (+{more})" if more > 0 else "")
        said.append(Message(key, {**dict(items), "pods": listed}))
    return said


def _storage_said(claims: list[Obj], classes: list[Obj]) -> list[Message]:
    names = sorted(name_of(c) for c in classes)
    default = [
        n
        for c in classes
        for n in [name_of(c)]
        if (c.get("metadata", {}).get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    listed = ", ".join(names) or "-"
    said = []
    for claim in sorted(claims, key=name_of):
        wanted = claim.get("spec", {}).get("storageClassName")
        if wanted and wanted not in names:
            said.append(
                Message(
                    "preflight.said.storage_class_missing",
                    {"pvc": name_of(claim), "storage_class": wanted, "classes": listed},
                )
            )
        elif wanted is None and not default:
            said.append(Message("preflight.said.no_default_storage_class", {"pvc": name_of(claim), "classes": listed}))
    return said


def _node_sizes(nodes: list[Obj]) -> str:
    sizes = []
    for node in sorted(nodes, key=name_of):
        allocatable = node.get("status", {}).get("allocatable") or {}
        sizes.append(f"{name_of(node)} (cpu {allocatable.get('cpu', '?')}, memory {allocatable.get('memory', '?')})")
    return ", ".join(sizes)


def _events_said(events: list[Obj]) -> list[Message]:
    """The latest distinct warning Events, oldest first."""
    warnings = sorted((e for e in events if e.get("type") == "Warning"), key=_event_time)
    seen: dict[tuple[str, str], Message] = {}
    for event in warnings:
        involved = event.get("involvedObject") or {}
        reason, message = str(event.get("reason") or "-"), " ".join(str(event.get("message") or "").split())
        seen.pop((reason, message), None)  # keep the latest occurrence, in time order
        seen[(reason, message)] = Message(
            "preflight.said.event",
            {
                "object": f"{involved.get('kind', '?')}/{involved.get('name', '?')}",
                "reason": reason,
                "message": message,
            },
        )
    return list(seen.values())[-_MAX_EVENTS:]


def _event_time(event: Obj) -> str:
    return str(
        event.get("lastTimestamp") or event.get("eventTime") or event.get("metadata", {}).get("creationTimestamp") or ""
    )
