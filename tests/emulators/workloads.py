"""Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, HorizontalPodAutoscaler, GC."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import kmock

from .resources import Obj
from .scheduler import tolerates
from .selectors import matches_selector_object, node_selector_matches, selector_to_string
from .store import clone, parse_time, short_hash

if TYPE_CHECKING:
    from .simulator import Simulator

REVISION = "deployment.kubernetes.io/revision"


def owner_ref(obj: Obj, *, controller: bool = True) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: Obj, owner: Obj) -> bool:
    return any(
        ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences") or []
    )


def is_active(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and not pod["metadata"].get(
        "deletionTimestamp"
    )


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def scaled_value(value: Any, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        amount = int(text[:-1]) * total / 100
        return math.ceil(amount) if round_up else math.floor(amount)
    return int(text)


def omit_zero(status: Obj, *keys: str) -> Obj:
    """Go's ``omitempty``: zero counters are absent from real API objects."""
    for key in keys:
        if not status.get(key):
            status.pop(key, None)
    return status


def set_condition(conditions: list[Obj], new: Obj, now: str, *, bump_update: bool = True) -> list[Obj]:
    result = [c for c in conditions if c.get("type") != new["type"]]
    previous = next((c for c in conditions if c.get("type") == new["type"]), None)
    if previous and previous.get("status") == new["status"]:
        new["lastTransitionTime"] = previous.get("lastTransitionTime", now)
        same_reason = previous.get("reason") == new.get("reason") and previous.get("message") == new.get("message")
        new["lastUpdateTime"] = previous.get("lastUpdateTime", now) if same_reason or not bump_update else now
    else:
        new["lastTransitionTime"] = now
        new["lastUpdateTime"] = now
    result.append(new)
    return result


def pod_from_template(owner: Obj, template: Obj, name: str, extra_labels: dict[str, str] | None = None) -> Obj:
    meta = template.get("metadata") or {}
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(meta.get("labels") or {}), **(extra_labels or {})},
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": clone(template.get("spec") or {}),
    }
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    return pod


class GarbageCollector:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        store = self.sim.api.store
        uids = set(store.uids)
        # Only a pod or an object with owners can be collected: the rest is not even gathered.
        candidates = [
            (res, obj)
            for res in self.sim.api.table
            for obj in store.raw(res)
            if res.kind == "Pod" or obj["metadata"].get("ownerReferences")
        ]
        nodes = {o["metadata"]["name"] for o in store.raw(self.sim.api.resource_def("nodes"))}
        for res, obj in candidates:
            if res.kind == "Pod" and obj["spec"].get("nodeName") and obj["spec"]["nodeName"] not in nodes:
                self.sim.api._delete_now(res, obj, "Background")  # the pod GC removes pods of deleted nodes
                continue
            owners = obj["metadata"].get("ownerReferences") or []
            orphaned = owners and not any(o.get("uid") in uids for o in owners)
            if orphaned and self.sim.api.store.peek(res, obj["metadata"].get("namespace"), obj["metadata"]["name"]):
                self.sim.api._delete_now(res, obj, "Background")


class ReplicaSetController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        for rs in self.sim.objects("replicasets"):
            self._sync(rs)

    def _sync(self, rs: Obj) -> None:
        sim = self.sim
        meta, spec = rs["metadata"], rs["spec"]
        namespace = meta["namespace"]
        pods = [p for p in sim.objects("pods", namespace) if owned_by(p, rs) and is_active(p)]
        wanted = int(spec.get("replicas", 1))
        failure: str | None = None
        if len(pods) < wanted and not meta.get("deletionTimestamp"):
            used = {p["metadata"]["name"] for p in sim.objects("pods", namespace)}
            for _ in range(wanted - len(pods)):
                name = sim.unique_name(f"{meta['name']}-", namespace, used)
                used.add(name)
                pod = pod_from_template(rs, spec.get("template") or {}, name)
                pod["metadata"]["generateName"] = f"{meta['name']}-"
                try:
                    created = sim.create("pods", pod)
                except kmock.KubernetesError as exc:
                    failure = f"Error creating: {exc.message}"
                    failure = failure.replace(f'pods "{name}"', f'pods "{meta["name"]}-"')
                    sim.events.record(
                        rs, "Warning", "FailedCreate", failure, component="replicaset-controller", rate_limited=True
                    )
                    break
                pods.append(created)
                sim.events.record(
                    rs, "Normal", "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller"
                )
        elif len(pods) > wanted:
            for pod in sorted(pods, key=_deletion_rank)[: len(pods) - wanted]:
                sim.delete("pods", namespace, pod["metadata"]["name"])
                sim.events.record(
                    rs,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component="replicaset-controller",
                )
            pods = sorted(pods, key=_deletion_rank)[len(pods) - wanted :]
        ready = [p for p in pods if is_ready(p)]
        labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(
                1 for p in pods if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
            ),
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),
            "observedGeneration": meta.get("generation", 1),
        }
        conditions = [c for c in (rs.get("status") or {}).get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        if failure:
            conditions.append(
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "message": failure,
                    "lastTransitionTime": sim.now(),
                }
            )
        elif len(pods) < wanted:
            conditions = (rs.get("status") or {}).get("conditions") or []
        if conditions:
            status["conditions"] = conditions
        omit_zero(status, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
        if rs.get("status") != status:
            rs["status"] = status
            sim.save("replicasets", rs)


def _deletion_rank(pod: Obj) -> tuple[int, int, int, str]:
    """The ReplicaSet controller deletes unscheduled, then pending, then not-ready pods first."""
    status = pod.get("status") or {}
    return (
        0 if not pod["spec"].get("nodeName") else 1,
        {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0),
        1 if is_ready(pod) else 0,
        pod["metadata"].get("creationTimestamp", ""),
    )


def template_hash(template: Obj, collisions: int = 0) -> str:
    meta = template.get("metadata") or {}
    labels = meta.get("labels", {})
    clean = template
    if "pod-template-hash" in labels:  # hashed without it (and without copying the rest: every pass asks)
        clean = {
            **template,
            "metadata": {**meta, "labels": {k: v for k, v in labels.items() if k != "pod-template-hash"}},
        }
    return short_hash(json.dumps(clean, sort_keys=True), str(collisions), length=10)


class DeploymentController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        # A Deployment's template hash by (uid, generation): every change of its spec bumps the generation, and
        # hashing the template again at every pass was most of the controller's CPU.
        self._hashes: dict[tuple[str, int], str] = {}

    def sync(self) -> None:
        for deployment in self.sim.objects("deployments"):
            if not deployment["metadata"].get("deletionTimestamp"):
                self._sync(deployment)

    def _replica_sets(self, deployment: Obj) -> list[Obj]:
        return sorted(
            (
                rs
                for rs in self.sim.objects("replicasets", deployment["metadata"]["namespace"])
                if owned_by(rs, deployment)
            ),
            key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]),
        )

    def _sync(self, d: Obj) -> None:
        sim = self.sim
        meta, spec = d["metadata"], d["spec"]
        namespace = meta["namespace"]
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        known = (str(meta["uid"]), int(meta["generation"]))
        pod_hash = self._hashes.get(known) or self._hashes.setdefault(known, template_hash(template))
        all_rs = self._replica_sets(d)
        new_rs = next(
            (rs for rs in all_rs if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None
        )
        revisions = [int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")) for rs in all_rs]
        max_revision = max(revisions, default=0)
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        rolling_update = strategy.get("rollingUpdate") or {}
        surge = scaled_value(rolling_update.get("maxSurge", "25%"), replicas, round_up=True) if rolling else 0
        unavailable = (
            scaled_value(rolling_update.get("maxUnavailable", "25%"), replicas, round_up=False) if rolling else 0
        )
        if rolling and surge == 0 and unavailable == 0:
            unavailable = 1
        created_new = False
        paused = bool(spec.get("paused"))
        if new_rs is None and not paused:
            old_total = sum(int(rs["spec"].get("replicas", 0)) for rs in all_rs)
            if rolling:
                initial = min(max(replicas + surge - old_total, 0), replicas)
            else:
                initial = replicas if old_total == 0 and not self._old_pods(d, all_rs) else 0
            rs_template = clone(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = clone(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            rs_name = f"{meta['name']}-{pod_hash}"
            new_rs = sim.create(
                "replicasets",
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": namespace,
                        "labels": {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": pod_hash},
                        "annotations": {
                            REVISION: str(max_revision + 1),
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                        },
                        "ownerReferences": [owner_ref(d)],
                    },
                    "spec": {
                        "replicas": initial,
                        "minReadySeconds": spec.get("minReadySeconds", 0),
                        "selector": selector,
                        "template": rs_template,
                    },
                },
            )
            sim.events.record(
                d,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {rs_name} from 0 to {initial}",
                component="deployment-controller",
            )
            created_new = True
            all_rs = self._replica_sets(d)
        elif new_rs is not None:
            annotations = new_rs["metadata"].setdefault("annotations", {})
            if int(annotations.get(REVISION, "0")) < max_revision:
                annotations[REVISION] = str(max_revision + 1)
                sim.save("replicasets", new_rs)
        old_rs = [rs for rs in all_rs if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        if new_rs is not None and not paused:
            if rolling:
                self._rolling(d, new_rs, old_rs, replicas, surge, unavailable)
            else:
                self._recreate(d, new_rs, old_rs, replicas)
            self._cleanup(d, old_rs)
        self._status(d, new_rs, replicas, unavailable, created_new)

    def _old_pods(self, d: Obj, old_rs: list[Obj]) -> bool:
        pods = self.sim.objects("pods", d["metadata"]["namespace"])
        return any(owned_by(p, rs) for rs in old_rs for p in pods)

    def _scale(self, d: Obj, rs: Obj, count: int) -> None:
        old = int(rs["spec"].get("replicas", 0))
        if old == count:
            return
        rs["spec"]["replicas"] = count
        rs = self.sim.saved("replicasets", rs)
        verb = "up" if count > old else "down"
        self.sim.events.record(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {count}",
            component="deployment-controller",
        )

    def _rolling(self, d: Obj, new_rs: Obj, old_rs: list[Obj], replicas: int, surge: int, unavailable: int) -> None:
        # reconcileNewReplicaSet
        new_count = int(new_rs["spec"].get("replicas", 0))
        all_rs = [new_rs, *old_rs]
        total = sum(int(rs["spec"].get("replicas", 0)) for rs in all_rs)
        if new_count > replicas:
            self._scale(d, new_rs, replicas)
        elif new_count < replicas:
            max_total = replicas + surge
            if total < max_total:
                self._scale(d, new_rs, new_count + min(max_total - total, replicas - new_count))
        # reconcileOldReplicaSets
        new_rs = self.sim.get("replicasets", new_rs["metadata"]["namespace"], new_rs["metadata"]["name"]) or new_rs
        old_rs = [
            self.sim.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs for rs in old_rs
        ]
        if sum(int(rs["spec"].get("replicas", 0)) for rs in old_rs) == 0:
            return
        all_count = int(new_rs["spec"].get("replicas", 0)) + sum(int(rs["spec"].get("replicas", 0)) for rs in old_rs)
        min_available = replicas - unavailable
        new_unavailable = int(new_rs["spec"].get("replicas", 0)) - int(
            (new_rs.get("status") or {}).get("availableReplicas", 0)
        )
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        cleaned = 0
        for rs in old_rs:  # cleanupUnhealthyReplicas, oldest first
            if cleaned >= max_scaled_down:
                break
            count = int(rs["spec"].get("replicas", 0))
            healthy = int((rs.get("status") or {}).get("availableReplicas", 0))
            if count == 0 or count == healthy:
                continue
            down = min(max_scaled_down - cleaned, count - healthy)
            self._scale(d, rs, count - down)
            rs["spec"]["replicas"] = count - down
            cleaned += down
        available = int((new_rs.get("status") or {}).get("availableReplicas", 0)) + sum(
            min(int((rs.get("status") or {}).get("availableReplicas", 0)), int(rs["spec"].get("replicas", 0)))
            for rs in old_rs
        )
        if available <= min_available:
            return
        to_scale_down = min(available - min_available, max_scaled_down - cleaned)
        done = 0
        for rs in old_rs:
            if done >= to_scale_down:
                break
            count = int(rs["spec"].get("replicas", 0))
            if count == 0:
                continue
            down = min(count, to_scale_down - done)
            self._scale(d, rs, count - down)
            done += down

    def _recreate(self, d: Obj, new_rs: Obj, old_rs: list[Obj], replicas: int) -> None:
        for rs in old_rs:
            self._scale(d, rs, 0)
        if self._old_pods(d, old_rs):
            return  # wait for the old pods to be gone
        self._scale(d, new_rs, replicas)

    def _cleanup(self, d: Obj, old_rs: list[Obj]) -> None:
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in old_rs
            if int(rs["spec"].get("replicas", 0)) == 0 and not int((rs.get("status") or {}).get("replicas", 0))
        ]
        for rs in idle[: max(0, len(idle) - limit)]:
            self.sim.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _status(self, d: Obj, new_rs: Obj | None, replicas: int, unavailable: int, created_new: bool) -> None:
        sim = self.sim
        all_rs = self._replica_sets(d)
        if new_rs is not None:
            new_rs = next((rs for rs in all_rs if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        old_status = d.get("status") or {}
        available = sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in all_rs)
        total_spec = sum(int(rs["spec"].get("replicas", 0)) for rs in all_rs)
        status: Obj = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in all_rs),
            "updatedReplicas": int(((new_rs or {}).get("status") or {}).get("replicas", 0)),
            "readyReplicas": sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in all_rs),
            "availableReplicas": available,
            "unavailableReplicas": max(total_spec - available, 0),
        }
        now = sim.now()
        conditions: list[Obj] = list(old_status.get("conditions") or [])
        min_available = replicas - unavailable
        if available >= min_available:
            conditions = set_condition(
                conditions,
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                },
                now,
            )
        else:
            conditions = set_condition(
                conditions,
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability.",
                },
                now,
            )
        rs_name = (new_rs or {}).get("metadata", {}).get("name", "")
        complete = (
            status["updatedReplicas"] == replicas
            and status["replicas"] == replicas
            and available == replicas
            and new_rs is not None
        )
        progressing = next((c for c in conditions if c.get("type") == "Progressing"), None)
        progressed = created_new or _progressing(old_status, status)
        if d["spec"].get("paused"):
            conditions = set_condition(
                conditions,
                {
                    "type": "Progressing",
                    "status": "Unknown",
                    "reason": "DeploymentPaused",
                    "message": "Deployment is paused",
                },
                now,
            )
        elif complete:
            conditions = set_condition(
                conditions,
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
                },
                now,
            )
        elif created_new:
            conditions = set_condition(
                conditions,
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetCreated",
                    "message": f'Created new replica set "{rs_name}"',
                },
                now,
            )
        else:
            # pkg/controller/deployment/progress.go syncRolloutStatus with util.DeploymentTimedOut (v1.33):
            # a rollout that once completed never times out, and no progress leaves the condition as it is
            deadline = int(d["spec"].get("progressDeadlineSeconds", 600))
            last = parse_time((progressing or {}).get("lastUpdateTime")) if progressing else None
            reason = (progressing or {}).get("reason")
            timed_out = (
                not progressed
                and reason != "NewReplicaSetAvailable"
                and (
                    reason == "ProgressDeadlineExceeded"
                    or (last is not None and (sim.clock.now() - last).total_seconds() > deadline)
                )
            )
            if timed_out:
                conditions = set_condition(
                    conditions,
                    {
                        "type": "Progressing",
                        "status": "False",
                        "reason": "ProgressDeadlineExceeded",
                        "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
                    },
                    now,
                )
            elif progressed or progressing is None:
                conditions = set_condition(
                    conditions,
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "ReplicaSetUpdated",
                        "message": f'ReplicaSet "{rs_name}" is progressing.',
                    },
                    now,
                )
                for c in conditions:
                    if c["type"] == "Progressing":
                        c["lastUpdateTime"] = now
        failure = next(
            (
                c
                for c in ((new_rs or {}).get("status") or {}).get("conditions") or []
                if c.get("type") == "ReplicaFailure"
            ),
            None,
        )
        previous_failure = [c for c in old_status.get("conditions") or [] if c.get("type") == "ReplicaFailure"]
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
        if failure:
            conditions += set_condition(
                previous_failure,
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "FailedCreate",
                    "message": failure.get("message", ""),
                },
                now,
            )
        order = {"Available": 0, "Progressing": 1, "ReplicaFailure": 2}
        unique: dict[str, Obj] = {c["type"]: c for c in conditions}
        status["conditions"] = sorted(unique.values(), key=lambda c: order.get(c["type"], 9))
        omit_zero(status, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")
        changed = False
        if d.get("status") != status:
            d["status"] = status
            changed = True
        if new_rs is not None:
            revision = (new_rs["metadata"].get("annotations") or {}).get(REVISION)
            annotations = d["metadata"].setdefault("annotations", {})
            if revision and annotations.get(REVISION) != revision:
                annotations[REVISION] = revision
                changed = True
        if changed:
            sim.save("deployments", d)


def _progressing(old: Obj, new: Obj) -> bool:
    """pkg/controller/deployment/util/deployment_util.go (v1.33) ``DeploymentProgressing``: more updated,
    ready or available replicas, or fewer old ones; a pod that stops being ready is no progress."""

    def count(status: Obj, key: str) -> int:
        return int(status.get(key) or 0)

    old_rest = count(old, "replicas") - count(old, "updatedReplicas")
    new_rest = count(new, "replicas") - count(new, "updatedReplicas")
    return (
        count(new, "updatedReplicas") > count(old, "updatedReplicas")
        or new_rest < old_rest
        or count(new, "readyReplicas") > count(old, "readyReplicas")
        or count(new, "availableReplicas") > count(old, "availableReplicas")
    )


class StatefulSetController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        for sts in self.sim.objects("statefulsets"):
            if not sts["metadata"].get("deletionTimestamp"):
                self._sync(sts)

    def _sync(self, sts: Obj) -> None:
        sim = self.sim
        meta, spec = sts["metadata"], sts["spec"]
        namespace, name = meta["namespace"], meta["name"]
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = f"{name}-{template_hash(template)}"
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {p["metadata"]["name"]: p for p in sim.objects("pods", namespace) if owned_by(p, sts)}
        for ordinal in range(replicas):
            pod_name = f"{name}-{ordinal}"
            if pod_name in pods:
                continue
            if ordered and any(not is_ready(pods[f"{name}-{i}"]) for i in range(ordinal) if f"{name}-{i}" in pods):
                break
            if ordered and any(f"{name}-{i}" not in pods for i in range(ordinal)):
                break
            pod = pod_from_template(
                sts,
                template,
                pod_name,
                {
                    "controller-revision-hash": revision,
                    "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(ordinal),
                },
            )
            pod["spec"]["hostname"] = pod_name
            if spec.get("serviceName"):
                pod["spec"]["subdomain"] = spec["serviceName"]
            volumes = pod["spec"].setdefault("volumes", [])
            for claim_template in spec.get("volumeClaimTemplates") or []:
                claim_name = f"{claim_template['metadata']['name']}-{pod_name}"
                if not sim.exists("persistentvolumeclaims", namespace, claim_name):
                    claim = {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {
                            "name": claim_name,
                            "namespace": namespace,
                            "labels": dict((spec.get("selector") or {}).get("matchLabels") or {}),
                        },
                        "spec": clone(claim_template.get("spec") or {}),
                    }
                    try:
                        sim.create("persistentvolumeclaims", claim)
                        sim.events.record(
                            sts,
                            "Normal",
                            "SuccessfulCreate",
                            f"create Claim {claim_name} Pod {pod_name} in StatefulSet {name} success",
                            component="statefulset-controller",
                        )
                    except kmock.KubernetesError as exc:
                        sim.events.record(
                            sts,
                            "Warning",
                            "FailedCreate",
                            f"create Claim {claim_name} for Pod {pod_name} in StatefulSet {name} "
                            f"failed error: {exc.message}",
                            component="statefulset-controller",
                            rate_limited=True,
                        )
                        break
                volumes[:] = [v for v in volumes if v.get("name") != claim_template["metadata"]["name"]]
                volumes.append(
                    {"name": claim_template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
                )
            try:
                created = sim.create("pods", pod)
            except kmock.KubernetesError as exc:
                sim.events.record(
                    sts,
                    "Warning",
                    "FailedCreate",
                    f"create Pod {pod_name} in StatefulSet {name} failed error: {exc.message}",
                    component="statefulset-controller",
                    rate_limited=True,
                )
                break
            pods[pod_name] = created
            sim.events.record(
                sts,
                "Normal",
                "SuccessfulCreate",
                f"create Pod {pod_name} in StatefulSet {name} successful",
                component="statefulset-controller",
            )
            if ordered:
                break
        for pod_name in sorted(pods, key=lambda n: -_ordinal(n)):
            if _ordinal(pod_name) >= replicas:
                sim.delete("pods", namespace, pod_name)
                del pods[pod_name]
                if ordered:
                    break
        # RollingUpdate: replace the highest outdated pod once all the others are ready.
        update = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        if update == "RollingUpdate":
            partition = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0))
            outdated = [
                p
                for n, p in pods.items()
                if _ordinal(n) >= partition
                and p["metadata"].get("labels", {}).get("controller-revision-hash") != revision
            ]
            if outdated:
                victim = max(outdated, key=lambda p: _ordinal(p["metadata"]["name"]))
                others_ready = all(is_ready(p) for p in pods.values() if p is not victim)
                if others_ready or not is_ready(victim):
                    sim.delete("pods", namespace, victim["metadata"]["name"])
                    del pods[victim["metadata"]["name"]]
        current = [p for p in pods.values() if is_active(p)]
        updated = [p for p in current if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision]
        ready = [p for p in current if is_ready(p)]
        old_status = sts.get("status") or {}
        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(current),
            "readyReplicas": len(ready),
            "currentReplicas": len(updated),
            "updatedReplicas": len(updated),
            "availableReplicas": len(ready),
            "currentRevision": revision
            if len(updated) == len(current)
            else old_status.get("currentRevision", revision),
            "updateRevision": revision,
            "collisionCount": 0,
        }
        omit_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")
        if sts.get("status") != status:
            sts["status"] = status
            sim.save("statefulsets", sts)


def _ordinal(name: str) -> int:
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


class DaemonSetController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        for ds in self.sim.objects("daemonsets"):
            if not ds["metadata"].get("deletionTimestamp"):
                self._sync(ds)

    def _eligible(self, ds: Obj, node: Obj) -> bool:
        spec = (ds["spec"].get("template") or {}).get("spec") or {}
        tolerations = list(spec.get("tolerations") or []) + [
            {"key": key, "operator": "Exists", "effect": effect}
            for key, effect in (
                ("node.kubernetes.io/not-ready", "NoExecute"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                ("node.kubernetes.io/unschedulable", "NoSchedule"),
            )
        ]
        for taint in (node.get("spec") or {}).get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
                return False
        labels = node["metadata"].get("labels") or {}
        if not all(labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items()):
            return False
        required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        return node_selector_matches(required, node)

    def _sync(self, ds: Obj) -> None:
        sim = self.sim
        meta, spec = ds["metadata"], ds["spec"]
        namespace = meta["namespace"]
        template = spec.get("template") or {}
        revision = template_hash(template)
        nodes = [n for n in sim.objects("nodes") if self._eligible(ds, n)]
        pods = [p for p in sim.objects("pods", namespace) if owned_by(p, ds) and is_active(p)]
        by_node: dict[str, Obj] = {}
        for pod in pods:
            target = _ds_target(pod)
            if target in by_node or target not in {n["metadata"]["name"] for n in nodes}:
                sim.delete("pods", namespace, pod["metadata"]["name"])
                continue
            by_node[target] = pod
        max_unavailable = (
            scaled_value(
                ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1),
                len(nodes),
                round_up=True,
            )
            or 1
        )
        unavailable = sum(1 for p in by_node.values() if not is_ready(p))
        for node_name, pod in sorted(by_node.items()):
            outdated = pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision
            rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
            if outdated and rolling and (not is_ready(pod) or unavailable < max_unavailable):
                if is_ready(pod):
                    unavailable += 1
                sim.delete("pods", namespace, pod["metadata"]["name"])
                del by_node[node_name]
        used = {p["metadata"]["name"] for p in sim.objects("pods", namespace)}
        for node in nodes:
            node_name = node["metadata"]["name"]
            if node_name in by_node:
                continue
            name = sim.unique_name(f"{meta['name']}-", namespace, used)
            used.add(name)
            pod = pod_from_template(ds, template, name, {"controller-revision-hash": revision})
            affinity = pod["spec"].setdefault("affinity", {})
            affinity["nodeAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
                    ]
                }
            }
            try:
                by_node[node_name] = sim.create("pods", pod)
            except kmock.KubernetesError as exc:
                failure = f"Error creating: {exc.message}"
                sim.events.record(
                    ds, "Warning", "FailedCreate", failure, component="daemonset-controller", rate_limited=True
                )
                break
            sim.events.record(
                ds, "Normal", "SuccessfulCreate", f"Created pod: {name}", component="daemonset-controller"
            )
        current = list(by_node.values())
        ready = [p for p in current if is_ready(p)]
        scheduled = [p for p in current if p["spec"].get("nodeName")]
        status = {
            "observedGeneration": meta.get("generation", 1),
            "desiredNumberScheduled": len(nodes),
            "currentNumberScheduled": len(scheduled),
            "numberMisscheduled": 0,
            "numberReady": len(ready),
            "numberAvailable": len(ready),
            "numberUnavailable": len(nodes) - len(ready),
            "updatedNumberScheduled": sum(
                1 for p in current if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision
            ),
        }
        omit_zero(status, "numberAvailable", "numberUnavailable", "updatedNumberScheduled")
        if ds.get("status") != status:
            ds["status"] = status
            sim.save("daemonsets", ds)


def _ds_target(pod: Obj) -> str:
    terms = (
        ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return str(pod["spec"].get("nodeName") or "")


__all__ = [
    "DaemonSetController",
    "DeploymentController",
    "GarbageCollector",
    "ReplicaSetController",
    "StatefulSetController",
    "matches_selector_object",
    "selector_to_string",
]
