"""Which objects an alert concerns: what its labels name, the Pods those lead to, and the Events about them.

An alert's labels (`pod`, `deployment`, `statefulset`, `job_name`, `service`, `persistentvolumeclaim`,
`horizontalpodautoscaler`, `node`) name objects; one snapshot of the namespace gives their Pods (through
ReplicaSets, a Service's selector, volumes, an autoscaler's target, owners, the node) and Events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.incidents.kubectl import event_order, name_of
from bot.pods import pod_ready
from bot.snapshot import Obj, Snapshot
from bot.values import is_dns1123_subdomain

#: Pods shown at most; the named Pod and the unhealthy ones are chosen first.
MAX_PODS = 5


@dataclass(frozen=True)
class Wanted:
    """The objects an alert's labels name (an empty label names nothing)."""

    pod: str | None
    deployment: str | None
    service: str | None
    claim: str | None
    hpa: str | None
    node: str | None
    statefulset: str | None
    job: str | None

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Wanted:
        def label(name: str) -> str | None:
            return labels.get(name) or None

        return cls(
            pod=label("pod"),
            deployment=label("deployment"),
            service=label("service"),
            claim=label("persistentvolumeclaim"),
            hpa=label("horizontalpodautoscaler"),
            node=label("node"),
            statefulset=label("statefulset"),
            job=label("job_name"),  # kube-state-metrics' name for a Job's label
        )

    @property
    def subjects(self) -> tuple[str, ...]:
        """`pod/frontend-…`, `deployment/frontend`: each named object as the text names it."""
        return tuple(f"{word}/{name}" for word, _, name in self._named())

    @property
    def kinds(self) -> list[str]:
        """The kinds to list to find the objects' Pods and Events."""
        kinds = ["Pod", "Event"]
        if self.deployment or self.hpa:
            kinds.append("ReplicaSet")
        if self.service:
            kinds.append("Service")
        if self.hpa:
            kinds.append("HorizontalPodAutoscaler")
        return kinds

    @property
    def field_selectors(self) -> dict[str, str]:
        """When the labels name one Pod and nothing else, only it and its Events are listed (fieldSelector),
        whatever else the namespace holds. A name no Pod can have never goes into a selector (a ',' in it
        would add terms of its own): the namespace is listed as for any other alert."""
        if not self.pod or self._named() != [("pod", "Pod", self.pod)] or not is_dns1123_subdomain(self.pod):
            return {}
        return {"Pod": f"metadata.name={self.pod}", "Event": f"involvedObject.kind=Pod,involvedObject.name={self.pod}"}

    def objects(self) -> set[tuple[str, str]]:
        """(kind, name) of the named objects, whose own Events count too (a Node's are not in the namespace)."""
        return {(kind, name) for _, kind, name in self._named() if kind != "Node"}

    def _named(self) -> list[tuple[str, str, str]]:
        """(kubectl's word for the kind, the kind, the name) of each object a label names."""
        named = [
            ("pod", "Pod", self.pod),
            ("deployment", "Deployment", self.deployment),
            ("service", "Service", self.service),
            ("persistentvolumeclaim", "PersistentVolumeClaim", self.claim),
            ("horizontalpodautoscaler", "HorizontalPodAutoscaler", self.hpa),
            ("node", "Node", self.node),
            ("statefulset", "StatefulSet", self.statefulset),
            ("job", "Job", self.job),
        ]
        return [(word, kind, name) for word, kind, name in named if name]


def _items(snapshot: Snapshot, kind: str) -> list[Obj]:
    """The kind's items, or none when it could not be listed (the gap is reported from `errors`)."""
    return snapshot.items.get(kind, [])


def _owned_by(obj: Obj, kind: str, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(
        ref.get("kind") == kind and ref.get("name") in wanted
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


class Related:
    """The Pods and other objects an alert concerns, found in one snapshot."""

    def __init__(self, snapshot: Snapshot, wanted: Wanted) -> None:
        self.snapshot = snapshot
        self.wanted = wanted
        self.pods: dict[str, Obj] = {}
        self.objects = wanted.objects()
        self.not_found: list[str] = []
        all_pods = _items(snapshot, "Pod")
        if wanted.pod and (pod := self._find("Pod", wanted.pod)) is not None:
            self.pods[wanted.pod] = pod
        if wanted.deployment:
            self._add_deployment(all_pods, wanted.deployment)
        if wanted.service:
            self._add_service(all_pods, wanted.service)
        if wanted.claim:
            self._add(p for p in all_pods if wanted.claim in _claims(p))
        if wanted.hpa:
            self._add_hpa(all_pods, wanted.hpa)
        if wanted.node:
            self._add(p for p in all_pods if (p.get("spec") or {}).get("nodeName") == wanted.node)
        if wanted.statefulset:
            self._add(p for p in all_pods if _owned_by(p, "StatefulSet", [wanted.statefulset]))
        if wanted.job:
            self._add(p for p in all_pods if _owned_by(p, "Job", [wanted.job]))

    def pods_to_show(self) -> tuple[list[Obj], int]:
        """At most MAX_PODS of the Pods, by name, and how many are left out."""
        # The named Pod first, then the ones in trouble: those are what the alert is about.
        ranked = sorted(self.pods.values(), key=lambda p: (name_of(p) != self.wanted.pod, _healthy(p), name_of(p)))
        shown = sorted(ranked[:MAX_PODS], key=name_of)
        return shown, len(ranked) - len(shown)

    def events_to_show(self, shown_pods: Iterable[Obj], max_events: int) -> tuple[list[Obj], int]:
        """The newest `max_events` Events about the objects and the Pods shown, newest first; how many are left out."""
        # Events about Pods not shown stay out: the text speaks about the Pods it lists.
        objects = {pair for pair in self.objects if pair[0] != "Pod"}
        objects |= {("Pod", name_of(p)) for p in shown_pods}
        if self.wanted.pod:
            objects.add(("Pod", self.wanted.pod))  # a Pod that is gone still has its recent Events
        about = [
            e
            for e in _items(self.snapshot, "Event")
            if ((e.get("involvedObject") or {}).get("kind"), (e.get("involvedObject") or {}).get("name")) in objects
        ]
        about.sort(key=event_order, reverse=True)
        kept = about[:max_events]
        return kept, len(about) - len(kept)

    def _add(self, pods: Iterable[Obj]) -> None:
        for pod in pods:
            self.pods.setdefault(name_of(pod), pod)

    def _add_deployment(self, all_pods: list[Obj], deployment: str) -> None:
        self.objects.add(("Deployment", deployment))
        if "ReplicaSet" in self.snapshot.items:
            sets = [
                name_of(rs) for rs in self.snapshot.items["ReplicaSet"] if _owned_by(rs, "Deployment", [deployment])
            ]
            self.objects.update(("ReplicaSet", name) for name in sets)
            self._add(p for p in all_pods if _owned_by(p, "ReplicaSet", sets))
            return
        # Without ReplicaSets, the Deployment controller's naming still ties a Pod to it exactly:
        # its ReplicaSet is "<deployment>-<pod-template-hash>".
        for pod in all_pods:
            template_hash = ((pod.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
            if template_hash and _owned_by(pod, "ReplicaSet", [f"{deployment}-{template_hash}"]):
                self._add([pod])

    def _find(self, kind: str, name: str) -> Obj | None:
        """The named object; None when it is not there (then said in `not_found`) or its kind was not listed."""
        if kind not in self.snapshot.items:
            return None
        found = next((o for o in self.snapshot.items[kind] if name_of(o) == name), None)
        if found is None:
            self.not_found.append(f"{kind.lower()}/{name}")
        return found

    def _add_service(self, all_pods: list[Obj], service: str) -> None:
        found = self._find("Service", service)
        if found is None:
            return
        selector: dict[str, Any] = (found.get("spec") or {}).get("selector") or {}
        # A Service selector is a plain equality map; an empty one selects no Pod (no endpoints are managed).
        if selector:
            self._add(
                p
                for p in all_pods
                if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in selector.items())
            )

    def _add_hpa(self, all_pods: list[Obj], hpa: str) -> None:
        found = self._find("HorizontalPodAutoscaler", hpa)
        if found is None:
            return
        target = (found.get("spec") or {}).get("scaleTargetRef") or {}
        kind, name = str(target.get("kind") or ""), str(target.get("name") or "")
        if not name:
            return
        if kind == "Deployment":
            self._add_deployment(all_pods, name)
        elif kind in ("StatefulSet", "ReplicaSet"):
            self.objects.add((kind, name))
            self._add(p for p in all_pods if _owned_by(p, kind, [name]))


def _claims(pod: Obj) -> set[str]:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return {str(claim) for v in volumes if (claim := (v.get("persistentVolumeClaim") or {}).get("claimName"))}


def _healthy(pod: Obj) -> bool:
    """Ready, as the checks read it (a readiness gate counts), or done with its work."""
    return pod_ready(pod) or (pod.get("status") or {}).get("phase") == "Succeeded"
