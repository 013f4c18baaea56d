"""The check library: each check is a pure function of one namespace snapshot.

A check returns pass, fail, or "could not check" (when a kind it needs could not be listed), with a
`Message` a student can act on: it says which object, what is wrong, and what the cluster reports
("deployment frontend: 0/3 available; pods waiting: ImagePullBackOff (image nginx:1.27-alpinee) ×3").
A check never passes on missing data.

Scenario files name checks as one-key mappings (`- deployment_available: {name: frontend, min: 3}`);
each check's arguments are a pydantic model, so a wrong argument is a clear load-time error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.challenges.selectors import (
    format_selector,
    map_selector_matches,
    parse_quantity,
    parse_selector,
    scaled_value,
    selector_matches,
)
from bot.i18n import Message
from bot.snapshot import Obj, Snapshot, SnapshotGap


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not check: never counts as solved


@dataclass(frozen=True)
class Outcome:
    """`message` is the symptom, what `kubectl get/describe` shows, and is always shown; `diagnosis`
    names the field and the bound, and is shown only once the scenario's hints reach that far."""

    status: Status
    message: Message
    diagnosis: Message | None = None

    @classmethod
    def ok(cls, message_key: str, /, **params: Any) -> Outcome:
        return cls(Status.PASS, Message(message_key, params))

    @classmethod
    def fail(cls, message_key: str, /, **params: Any) -> Outcome:
        return cls(Status.FAIL, Message(message_key, params))


class CheckSpec(BaseModel):
    """Base of every check: its arguments are the model's fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    check_name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]

    #: A guard keeps passing while the scenario is broken: it pins what the fix must not break
    #: (the Deployment behind a mis-set HPA). Students are told so.
    guard: bool = False

    def evaluate(self, snapshot: Snapshot) -> Outcome:
        try:
            return self.run(snapshot)
        except SnapshotGap as gap:
            return Outcome(
                Status.UNKNOWN, Message("check.could_not_check", {"kind": gap.kind, "reason": gap.reason.to_json()})
            )

    def run(self, snapshot: Snapshot) -> Outcome:
        raise NotImplementedError

    def args(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude={"guard"})


REGISTRY: dict[str, type[CheckSpec]] = {}


def register(name: str, *kinds: str) -> Callable[[type[CheckSpec]], type[CheckSpec]]:
    def wrap(cls: type[CheckSpec]) -> type[CheckSpec]:
        cls.check_name = name
        cls.kinds = kinds
        REGISTRY[name] = cls
        return cls

    return wrap


def parse_check(raw: object) -> CheckSpec:
    """`{check_name: {args}}` → a validated CheckSpec; ValueError with a readable reason otherwise."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError("a check is a mapping with exactly one key, the check's name: {deployment_available: {...}}")
    ((name, args),) = raw.items()
    cls = REGISTRY.get(str(name))
    if cls is None:
        raise ValueError(f"unknown check {name!r}; known checks: {', '.join(sorted(REGISTRY))}")
    if not isinstance(args, dict):
        raise ValueError(f"{name}: arguments must be a mapping, got {type(args).__name__}")
    try:
        return cls.model_validate(args)
    except ValidationError as exc:
        # An unknown argument is usually a typo of a missing one: name the typo first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        problem = {"extra_forbidden": "unknown argument", "missing": "required argument is missing"}.get(
            first["type"], first["msg"]
        )
        raise ValueError(f"{name}.{where}: {problem}") from exc


# --- helpers over plain objects -------------------------------------------------------------------


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", "?"))


def _labels(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _pod_ready(pod: Obj) -> bool:
    condition = _condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def _containers(template_spec: Obj) -> list[Obj]:
    return list(template_spec.get("containers") or [])


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pod_problems(pods: Iterable[Obj]) -> str:
    """What is wrong with these pods, grouped: `ImagePullBackOff (image x) ×3; Pending: 0/3 nodes …`."""
    problems: Counter[str] = Counter()
    for pod in pods:
        status = pod.get("status", {})
        if status.get("phase") == "Pending":
            scheduled = _condition(pod, "PodScheduled")
            if scheduled is not None and scheduled.get("status") == "False":
                problems[f"Pending: {_shorten(str(scheduled.get('message') or scheduled.get('reason')))}"] += 1
                continue
        images = {c.get("name"): c.get("image") for c in pod.get("spec", {}).get("containers") or []}
        found = False
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
                image = container.get("image") or images.get(container.get("name"))
                problems[f"{waiting['reason']} (image {image})"] += 1
                found = True
            elif not container.get("ready", False):
                restarts = container.get("restartCount", 0)
                detail = f", {restarts} restarts" if restarts else ""
                problems[f"container {container.get('name')} not ready (probe failing{detail})"] += 1
                found = True
        if not found and status.get("phase") == "Pending":
            problems["Pending"] += 1
    return "; ".join(f"{text} ×{count}" if count > 1 else text for text, count in problems.most_common())


def _pods_of(snapshot: Snapshot, selector: Mapping[str, Any] | None) -> list[Obj]:
    return [p for p in snapshot.list("Pod") if selector_matches(selector, _labels(p))]


def _require(snapshot: Snapshot, kind: str, name: str) -> Obj:
    """The named object; a missing one makes the check fail saying so (see _NamedCheck)."""
    obj = snapshot.get(kind, name)
    if obj is None:
        raise _Missing(kind, name)
    return obj


class _Missing(Exception):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind}/{name}")
        self.kind = kind
        self.name = name


class _NamedCheck(CheckSpec):
    """A check about one named object: a missing object is a failure that says so."""

    name: str = Field(min_length=1)

    def evaluate(self, snapshot: Snapshot) -> Outcome:
        try:
            return super().evaluate(snapshot)
        except _Missing as missing:
            return Outcome.fail("check.missing", kind=missing.kind, name=missing.name)


class _SelectorCheck(CheckSpec):
    selector: str = Field(min_length=1)

    @field_validator("selector")
    @classmethod
    def _parsable(cls, value: str) -> str:
        parse_selector(value)
        return value

    def pods(self, snapshot: Snapshot) -> list[Obj]:
        return _pods_of(snapshot, parse_selector(self.selector))


# --- workload checks ------------------------------------------------------------------------------


@register("deployment_available", "Deployment", "Pod")
class DeploymentAvailable(_NamedCheck):
    min: int | None = Field(default=None, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = _require(snapshot, "Deployment", self.name)
        wanted = self.min if self.min is not None else int(deployment.get("spec", {}).get("replicas", 1))
        available = int(deployment.get("status", {}).get("availableReplicas") or 0)
        if available >= wanted:
            return Outcome.ok("check.deployment_available.pass", name=self.name, available=available, wanted=wanted)
        pods = _pods_of(snapshot, deployment.get("spec", {}).get("selector"))
        return Outcome.fail(
            "check.deployment_available.fail",
            name=self.name,
            available=available,
            wanted=wanted,
            problems=pod_problems(pods) or "-",
        )


@register("rollout_complete", "Deployment", "Pod")
class RolloutComplete(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        deployment = _require(snapshot, "Deployment", self.name)
        spec, status = deployment.get("spec", {}), deployment.get("status", {})
        replicas = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        observed = int(status.get("observedGeneration") or 0)
        generation = int(deployment.get("metadata", {}).get("generation") or 0)
        if observed >= generation and updated == replicas == available and total == replicas:
            return Outcome.ok("check.rollout_complete.pass", name=self.name, replicas=replicas)
        progressing = _condition(deployment, "Progressing") or {}
        pods = _pods_of(snapshot, spec.get("selector"))
        return Outcome.fail(
            "check.rollout_complete.fail",
            name=self.name,
            updated=updated,
            replicas=replicas,
            available=available,
            reason=progressing.get("reason") or "-",
            problems=pod_problems(pods) or "-",
        )


@register("pods_ready", "Pod")
class PodsReady(_SelectorCheck):
    min: int = Field(default=1, ge=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        pods = self.pods(snapshot)
        ready = [p for p in pods if _pod_ready(p)]
        if len(ready) >= self.min:
            return Outcome.ok("check.pods_ready.pass", selector=self.selector, ready=len(ready), total=len(pods))
        return Outcome.fail(
            "check.pods_ready.fail",
            selector=self.selector,
            ready=len(ready),
            wanted=self.min,
            total=len(pods),
            problems=pod_problems(p for p in pods if not _pod_ready(p)) or "-",
        )


@register("no_waiting_pods", "Pod")
class NoWaitingPods(_SelectorCheck):
    reasons: list[str] = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        waiting: Counter[str] = Counter()
        for pod in self.pods(snapshot):
            images = {c.get("name"): c.get("image") for c in pod.get("spec", {}).get("containers") or []}
            for container in pod.get("status", {}).get("containerStatuses") or []:
                reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
                if reason in self.reasons:
                    waiting[f"{reason} (image {container.get('image') or images.get(container.get('name'))})"] += 1
        if not waiting:
            return Outcome.ok("check.no_waiting_pods.pass", selector=self.selector)
        listed = "; ".join(f"{t} ×{n}" if n > 1 else t for t, n in waiting.most_common())
        return Outcome.fail("check.no_waiting_pods.fail", selector=self.selector, waiting=listed)


@register("no_pending_pods", "Pod")
class NoPendingPods(_SelectorCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        pending = [p for p in self.pods(snapshot) if p.get("status", {}).get("phase") == "Pending"]
        if not pending:
            return Outcome.ok("check.no_pending_pods.pass", selector=self.selector)
        return Outcome.fail(
            "check.no_pending_pods.fail", selector=self.selector, count=len(pending), problems=pod_problems(pending)
        )


# --- service checks -------------------------------------------------------------------------------


def _near_misses(selector: Mapping[str, str], pods: list[Obj]) -> str:
    """For a selector that matches nothing: the labels of pods that differ from it in one key only."""
    hints: set[str] = set()
    for pod in pods:
        labels = _labels(pod)
        wrong = [k for k, v in selector.items() if labels.get(k) != v]
        if len(wrong) == 1:
            key = wrong[0]
            hints.add(f"{key}={labels[key]}" if key in labels else f"no {key} label")
    return ", ".join(sorted(hints))


def _selects_nothing(name: str, selector: Mapping[str, str], pods: list[Obj]) -> Outcome:
    return Outcome.fail(
        "check.service_selects_pods.fail",
        name=name,
        selector=format_selector(selector),
        near=_near_misses(selector, pods) or "-",
    )


def _port_declared(port: int | str, numbers: set[int], names: Collection[str]) -> bool:
    """A port given as a number or as a container port's name (IntOrString), among the declared ones."""
    if isinstance(port, str) and not port.isdigit():
        return port in names
    return int(port) in numbers


@register("service_selects_pods", "Service", "Pod")
class ServiceSelectsPods(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        service = _require(snapshot, "Service", self.name)
        selector = service.get("spec", {}).get("selector") or {}
        pods = snapshot.list("Pod")
        selected = [p for p in pods if map_selector_matches(selector, _labels(p))]
        if selected:
            return Outcome.ok("check.service_selects_pods.pass", name=self.name, count=len(selected))
        return _selects_nothing(self.name, selector, pods)


def _container_ports(pods: list[Obj]) -> tuple[set[int], dict[str, int]]:
    numbers: set[int] = set()
    names: dict[str, int] = {}
    for pod in pods:
        for container in pod.get("spec", {}).get("containers") or []:
            for port in container.get("ports") or []:
                numbers.add(int(port["containerPort"]))
                if port.get("name"):
                    names[str(port["name"])] = int(port["containerPort"])
    return numbers, names


@register("service_endpoints_ready", "Service", "EndpointSlice", "Pod")
class ServiceEndpointsReady(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        service = _require(snapshot, "Service", self.name)
        spec = service.get("spec", {})
        selector = spec.get("selector") or {}
        pods = [p for p in snapshot.list("Pod") if map_selector_matches(selector, _labels(p))]
        if not pods:
            return _selects_nothing(self.name, selector, snapshot.list("Pod"))
        numbers, names = _container_ports(pods)
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if (numbers or names) and not _port_declared(target, numbers, names):
                return Outcome.fail(
                    "check.service_endpoints_ready.port_mismatch",
                    name=self.name,
                    target=target,
                    ports=", ".join(str(n) for n in sorted(numbers)) or "-",
                )
        ready = 0
        for slice_ in snapshot.list("EndpointSlice"):
            if _labels(slice_).get("kubernetes.io/service-name") != self.name or not slice_.get("ports"):
                continue
            ready += sum(
                1
                for endpoint in slice_.get("endpoints") or []
                if (endpoint.get("conditions") or {}).get("ready") is not False
            )
        if ready:
            return Outcome.ok("check.service_endpoints_ready.pass", name=self.name, ready=ready)
        return Outcome.fail(
            "check.service_endpoints_ready.fail",
            name=self.name,
            count=len(pods),
            problems=pod_problems(pods) or "-",
        )


def _quantity_arg(value: str | None) -> str | None:
    if value is not None:
        parse_quantity(value)
    return value


# --- storage --------------------------------------------------------------------------------------


@register("pvc_bound", "PersistentVolumeClaim", "StorageClass", "Event")
class PvcBound(_NamedCheck):
    max_storage: str | None = None
    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] | None = None

    _quantities = field_validator("max_storage")(_quantity_arg)

    def run(self, snapshot: Snapshot) -> Outcome:
        pvc = _require(snapshot, "PersistentVolumeClaim", self.name)
        spec = pvc.get("spec", {})
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
        if self.max_storage is not None and parse_quantity(requested) > parse_quantity(self.max_storage):
            return Outcome.fail("check.pvc_bound.too_large", name=self.name, size=requested, max=self.max_storage)
        modes = list(spec.get("accessModes") or [])
        if self.access_modes is not None and not set(modes) <= set(self.access_modes):
            return Outcome.fail(
                "check.pvc_bound.access_mode",
                name=self.name,
                modes=", ".join(modes),
                allowed=", ".join(self.access_modes),
            )
        phase = pvc.get("status", {}).get("phase", "Pending")
        if phase == "Bound":
            return Outcome.ok("check.pvc_bound.pass", name=self.name)
        classes = snapshot.list("StorageClass")
        class_name = spec.get("storageClassName")
        if class_name and all(_name(c) != class_name for c in classes):
            return Outcome.fail(
                "check.pvc_bound.no_class",
                name=self.name,
                storage_class=class_name,
                available=", ".join(sorted(_name(c) for c in classes)) or "-",
            )
        events = [
            e
            for e in snapshot.list("Event")
            if (e.get("involvedObject") or {}).get("name") == self.name
            and (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
        ]
        events.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        last = _shorten(str(events[-1].get("message", ""))) if events else "-"
        return Outcome.fail("check.pvc_bound.fail", name=self.name, phase=phase, event=last)


# --- deployment spec checks -----------------------------------------------------------------------


@register("rolling_update_safe", "Deployment")
class RollingUpdateSafe(_NamedCheck):
    max_unavailable: int | str = "25%"

    @field_validator("max_unavailable")
    @classmethod
    def _int_or_percent(cls, value: int | str) -> int | str:
        scaled_value(value, 100, round_up=False)
        return value

    def run(self, snapshot: Snapshot) -> Outcome:
        spec = _require(snapshot, "Deployment", self.name).get("spec", {})
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            return Outcome.fail("check.rolling_update_safe.recreate", name=self.name)
        rolling = strategy.get("rollingUpdate") or {}
        declared = rolling.get("maxUnavailable", "25%")
        unavailable = scaled_value(declared, replicas, round_up=False)
        bound = scaled_value(self.max_unavailable, replicas, round_up=False)
        if unavailable > max(bound, 0) or (replicas > 1 and unavailable >= replicas):
            return Outcome.fail(
                "check.rolling_update_safe.fail",
                name=self.name,
                declared=declared,
                unavailable=unavailable,
                replicas=replicas,
                bound=self.max_unavailable,
            )
        return Outcome.ok("check.rolling_update_safe.pass", name=self.name, declared=declared)


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


@register("probes_sane", "Deployment")
class ProbesSane(_NamedCheck):
    min_timeout_seconds: int = Field(default=1, ge=1)
    paths: list[str] | None = None

    def run(self, snapshot: Snapshot) -> Outcome:
        template = _require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        for container in _containers(template):
            declared = container.get("ports") or []
            numbers = {int(p["containerPort"]) for p in declared}
            names = {str(p["name"]) for p in declared if p.get("name")}
            for probe_kind in _PROBES:
                probe = container.get(probe_kind)
                if not probe:
                    continue
                where = {"name": self.name, "container": container.get("name"), "probe": probe_kind}
                timeout = int(probe.get("timeoutSeconds", 1))
                if timeout < self.min_timeout_seconds:
                    return Outcome.fail(
                        "check.probes_sane.timeout", **where, timeout=timeout, min=self.min_timeout_seconds
                    )
                action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                port = (action or {}).get("port")
                if port is not None and declared and not _port_declared(port, numbers, names):
                    return Outcome.fail(
                        "check.probes_sane.port",
                        **where,
                        port=port,
                        ports=", ".join(str(n) for n in sorted(numbers)),
                    )
                http = probe.get("httpGet")
                if http and self.paths is not None and http.get("path", "/") not in self.paths:
                    return Outcome.fail(
                        "check.probes_sane.path", **where, path=http.get("path", "/"), paths=", ".join(self.paths)
                    )
        return Outcome.ok("check.probes_sane.pass", name=self.name)


@register("resource_requests_within", "Deployment")
class ResourceRequestsWithin(_NamedCheck):
    max_cpu: str | None = None
    max_memory: str | None = None

    _quantities = field_validator("max_cpu", "max_memory")(_quantity_arg)

    def run(self, snapshot: Snapshot) -> Outcome:
        template = _require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        limits = {"cpu": self.max_cpu, "memory": self.max_memory}
        for container in _containers(template):
            requests = (container.get("resources") or {}).get("requests") or {}
            for resource, bound in limits.items():
                if bound is None or resource not in requests:
                    continue
                if parse_quantity(requests[resource]) > parse_quantity(bound):
                    return Outcome.fail(
                        "check.resource_requests_within.fail",
                        name=self.name,
                        container=container.get("name"),
                        resource=resource,
                        requested=requests[resource],
                        max=bound,
                    )
        return Outcome.ok("check.resource_requests_within.pass", name=self.name)


def _node_matches_term(node: Obj, term: Mapping[str, Any]) -> bool:
    labels = _labels(node)
    for expression in term.get("matchExpressions") or []:
        if not _node_expression(expression, labels):
            return False
    fields = {"metadata.name": _name(node)}
    return all(_node_expression(expression, fields) for expression in term.get("matchFields") or [])


def _node_expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    operator = expression.get("operator")
    if operator in ("Gt", "Lt"):
        key = expression.get("key", "")
        values = expression.get("values") or ["0"]
        if key not in labels or not labels[key].lstrip("-").isdigit():
            return False
        value, limit = int(labels[key]), int(values[0])
        return value > limit if operator == "Gt" else value < limit
    return selector_matches({"matchExpressions": [expression]}, labels)


@register("node_affinity_satisfiable", "Deployment", "Node")
class NodeAffinitySatisfiable(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        template = _require(snapshot, "Deployment", self.name).get("spec", {}).get("template", {}).get("spec", {})
        nodes = snapshot.list("Node")
        node_names = ", ".join(sorted(_name(n) for n in nodes)) or "-"
        node_selector = template.get("nodeSelector") or {}
        if node_selector and not any(map_selector_matches(node_selector, _labels(n)) for n in nodes):
            return Outcome.fail(
                "check.node_affinity_satisfiable.fail",
                name=self.name,
                requirement=format_selector(node_selector),
                nodes=node_names,
            )
        required = ((template.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        terms = required.get("nodeSelectorTerms") or []
        if terms and not any(_node_matches_term(n, t) for n in nodes for t in terms):
            requirement = " OR ".join(
                format_selector({"matchExpressions": (t.get("matchExpressions") or []) + (t.get("matchFields") or [])})
                for t in terms
            )
            return Outcome.fail(
                "check.node_affinity_satisfiable.fail", name=self.name, requirement=requirement, nodes=node_names
            )
        return Outcome.ok("check.node_affinity_satisfiable.pass", name=self.name)


# --- autoscaling, configuration and monitoring ----------------------------------------------------


def _cpu_targets(hpa: Obj) -> list[int]:
    metrics = hpa.get("spec", {}).get("metrics")
    if not metrics:
        return [80]  # the HPA default when no metric is given
    return [
        int(((m.get("resource") or {}).get("target") or {}).get("averageUtilization", 0))
        for m in metrics
        if m.get("type") == "Resource"
        and (m.get("resource") or {}).get("name") == "cpu"
        and ((m.get("resource") or {}).get("target") or {}).get("type") == "Utilization"
    ]


@register("hpa_bounds", "HorizontalPodAutoscaler")
class HpaBounds(_NamedCheck):
    min_max_replicas: int | None = Field(default=None, ge=1)
    max_cpu_utilization: int | None = Field(default=None, ge=1, le=100)

    def run(self, snapshot: Snapshot) -> Outcome:
        hpa = _require(snapshot, "HorizontalPodAutoscaler", self.name)
        max_replicas = int(hpa.get("spec", {}).get("maxReplicas", 0))
        if self.min_max_replicas is not None and max_replicas < self.min_max_replicas:
            return Outcome.fail(
                "check.hpa_bounds.max_replicas", name=self.name, max_replicas=max_replicas, wanted=self.min_max_replicas
            )
        if self.max_cpu_utilization is not None:
            for target in _cpu_targets(hpa):
                if target > self.max_cpu_utilization:
                    return Outcome.fail(
                        "check.hpa_bounds.cpu", name=self.name, target=target, max=self.max_cpu_utilization
                    )
        return Outcome.ok("check.hpa_bounds.pass", name=self.name, max_replicas=max_replicas)


@register("configmap_key", "ConfigMap")
class ConfigMapKey(_NamedCheck):
    key: str = Field(min_length=1)
    contains: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)

    def run(self, snapshot: Snapshot) -> Outcome:
        config_map = _require(snapshot, "ConfigMap", self.name)
        data = config_map.get("data") or {}
        if self.key not in data:
            return Outcome.fail("check.configmap_key.no_key", name=self.name, key=self.key)
        value = str(data[self.key])
        for needle in self.not_contains:
            if needle in value:
                return Outcome.fail("check.configmap_key.contains", name=self.name, key=self.key, text=needle)
        for needle in self.contains:
            if needle not in value:
                return Outcome.fail("check.configmap_key.missing", name=self.name, key=self.key, text=needle)
        return Outcome.ok("check.configmap_key.pass", name=self.name, key=self.key)


@register("prometheus_selects_servicemonitors", "Prometheus", "ServiceMonitor")
class PrometheusSelectsServiceMonitors(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        prometheus = _require(snapshot, "Prometheus", self.name)
        # prometheus-operator: a missing selector selects no ServiceMonitor, an empty one selects all.
        selector = prometheus.get("spec", {}).get("serviceMonitorSelector")
        monitors = snapshot.list("ServiceMonitor")
        selected = [m for m in monitors if selector_matches(selector, _labels(m))]
        if selected:
            return Outcome.ok(
                "check.prometheus_selects_servicemonitors.pass",
                name=self.name,
                monitors=", ".join(sorted(_name(m) for m in selected)),
            )
        labels = "; ".join(f"{_name(m)}: {format_selector(_labels(m))}" for m in monitors) or "-"
        return Outcome.fail(
            "check.prometheus_selects_servicemonitors.fail",
            name=self.name,
            selector=format_selector(selector) if selector is not None else "<none>",
            labels=labels,
        )


@register("servicemonitor_matches_service", "ServiceMonitor", "Service")
class ServiceMonitorMatchesService(_NamedCheck):
    def run(self, snapshot: Snapshot) -> Outcome:
        monitor = _require(snapshot, "ServiceMonitor", self.name)
        spec = monitor.get("spec", {})
        services = [s for s in snapshot.list("Service") if selector_matches(spec.get("selector") or {}, _labels(s))]
        if not services:
            return Outcome.fail(
                "check.servicemonitor_matches_service.no_service",
                name=self.name,
                selector=format_selector(spec.get("selector")),
            )
        wanted = {e.get("port") for e in spec.get("endpoints") or [] if e.get("port")}
        named = {p.get("name") for s in services for p in s.get("spec", {}).get("ports") or []}
        missing = sorted(str(p) for p in wanted - named)
        if missing:
            return Outcome.fail(
                "check.servicemonitor_matches_service.no_port",
                name=self.name,
                ports=", ".join(missing),
                services=", ".join(sorted(_name(s) for s in services)),
            )
        return Outcome.ok(
            "check.servicemonitor_matches_service.pass",
            name=self.name,
            services=", ".join(sorted(_name(s) for s in services)),
        )


def _vpa_controls_cpu_or_memory(vpa: Obj) -> bool:
    policies = (vpa.get("spec", {}).get("resourcePolicy") or {}).get("containerPolicies") or []
    if not policies:
        return True
    for policy in policies:
        if policy.get("mode") == "Off":
            continue
        controlled = policy.get("controlledResources") or ["cpu", "memory"]
        if {"cpu", "memory"} & set(controlled):
            return True
    return False


@register("no_vpa_hpa_conflict", "HorizontalPodAutoscaler", "VerticalPodAutoscaler")
class NoVpaHpaConflict(CheckSpec):
    deployment: str = Field(min_length=1)

    def run(self, snapshot: Snapshot) -> Outcome:
        def targets(obj: Obj, ref_key: str) -> bool:
            ref = obj.get("spec", {}).get(ref_key) or {}
            return bool(ref.get("kind") == "Deployment" and ref.get("name") == self.deployment)

        hpas = [
            h for h in snapshot.list("HorizontalPodAutoscaler") if targets(h, "scaleTargetRef") and _hpa_on_resources(h)
        ]
        vpas = [
            v
            for v in snapshot.list("VerticalPodAutoscaler")
            if targets(v, "targetRef")
            and ((v.get("spec", {}).get("updatePolicy") or {}).get("updateMode", "Auto")) != "Off"
            and _vpa_controls_cpu_or_memory(v)
        ]
        if hpas and vpas:
            mode = (vpas[0].get("spec", {}).get("updatePolicy") or {}).get("updateMode", "Auto")
            return Outcome.fail(
                "check.no_vpa_hpa_conflict.fail",
                deployment=self.deployment,
                hpa=_name(hpas[0]),
                vpa=_name(vpas[0]),
                mode=mode,
            )
        return Outcome.ok("check.no_vpa_hpa_conflict.pass", deployment=self.deployment)


def _hpa_on_resources(hpa: Obj) -> bool:
    metrics = hpa.get("spec", {}).get("metrics")
    if not metrics:
        return True  # defaults to CPU
    return any(
        m.get("type") in ("Resource", "ContainerResource")
        and ((m.get("resource") or m.get("containerResource") or {}).get("name") in ("cpu", "memory"))
        for m in metrics
    )
