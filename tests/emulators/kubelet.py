"""The kubelet of the simulated nodes: volumes, image pulls, env, process behaviour, probes, pod status."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .images import ImageRegistry, command_outcome, full_reference, image_id
from .quantities import QuantityError, parse_quantity

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], Obj | None]  # (plural, namespace, name) -> object

CRASH_RESTARTS = 3  # a crash-looping container is shown after this many restarts


@dataclass
class Event:
    type: str
    reason: str
    message: str
    field_path: str | None = None


@dataclass
class ContainerResult:
    status: Obj
    ready: bool = False
    started: bool = False  # the process ran at least once
    completed: bool = False  # terminated with exit code 0 (init containers, restartPolicy != Always)
    failed: bool = False  # terminated with non-zero code and will not be restarted
    blocking: bool = False  # never got to run (image, config) — keeps the pod Pending


@dataclass
class PodResult:
    status: Obj
    events: list[Event] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)


def _hex(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _env_value_set(container: Obj, namespace: str, lookup: Lookup) -> tuple[dict[str, str], str | None]:
    """The environment the container gets, or the CreateContainerConfigError message."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for ref_key, plural, label in (("configMapRef", "configmaps", "configmap"), ("secretRef", "secrets", "secret")):
            ref = source.get(ref_key)
            if not ref:
                continue
            obj = lookup(plural, namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                return env, f'{label} "{ref.get("name")}" not found'
            for key, value in (obj.get("data") or {}).items():
                env[prefix + key] = _decode(value) if plural == "secrets" else str(value)
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "value" in item:
            env[name] = str(item["value"])
            continue
        value_from = item.get("valueFrom") or {}
        for ref_key, plural, label, kind in (
            ("secretKeyRef", "secrets", "secret", "Secret"),
            ("configMapKeyRef", "configmaps", "configmap", "ConfigMap"),
        ):
            ref = value_from.get(ref_key)
            if not ref:
                continue
            obj = lookup(plural, namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    break
                return env, f'{label} "{ref.get("name")}" not found'
            data = obj.get("data") or {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    break
                return env, f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}"
            raw = data[ref["key"]]
            env[name] = _decode(raw) if plural == "secrets" else str(raw)
            break
        else:
            if value_from:
                env[name] = "simulated"
            else:
                env[name] = ""
    return env, None


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value)).decode("utf-8", errors="replace")
    except (ValueError, TypeError):
        return ""


def _volume_errors(pod: Obj, lookup: Lookup) -> list[str]:
    namespace = pod["metadata"]["namespace"]
    errors: list[str] = []
    for volume in pod["spec"].get("volumes") or []:
        vname = volume.get("name")
        sources: list[tuple[str, Obj]] = []
        if volume.get("configMap"):
            sources.append(("configMap", volume["configMap"]))
        if volume.get("secret"):
            sources.append(("secret", volume["secret"]))
        for projected in (volume.get("projected") or {}).get("sources") or []:
            for key in ("configMap", "secret"):
                if projected.get(key):
                    sources.append((key, projected[key]))
        for key, ref in sources:
            plural, label = ("configmaps", "configmap") if key == "configMap" else ("secrets", "secret")
            name = ref.get("name") or ref.get("secretName") or ""
            obj = lookup(plural, namespace, name)
            if obj is None:
                if not ref.get("optional"):
                    errors.append(f'MountVolume.SetUp failed for volume "{vname}" : {label} "{name}" not found')
                continue
            data = obj.get("data") or {}
            for item in ref.get("items") or []:
                if item.get("key") not in data and not ref.get("optional"):
                    noun = "config" if key == "configMap" else "secret"
                    errors.append(
                        f'MountVolume.SetUp failed for volume "{vname}" : {label} references '
                        f"non-existent {noun} key: {item.get('key')}"
                    )
    return errors


def _resolve_port(port: Any, container: Obj) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared.get("containerPort", 0))
    return None


def _probe(probe: Obj, container: Obj, ip: str, http: dict[int, frozenset[str]], tcp: set[int]) -> str | None:
    """None when the probe succeeds, else the message after "<Kind> probe failed: "."""
    if probe.get("httpGet"):
        get = probe["httpGet"]
        port = _resolve_port(get.get("port"), container)
        if port is None:
            return f"errored:couldn't find port: {get.get('port')} in {container.get('name')}"
        path = str(get.get("path") or "/")
        scheme = str(get.get("scheme") or "HTTP").lower()
        url = f"{scheme}://{ip}:{port}{path}"
        if port not in http and port not in tcp:
            return f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'
        if port not in http:
            return f'Get "{url}": EOF'
        if scheme == "https":
            return f'Get "{url}": http: server gave HTTP response to HTTPS client'
        if path.split("?", 1)[0] not in http[port]:
            return "HTTP probe failed with statuscode: 404"
        return None
    if probe.get("tcpSocket") or probe.get("grpc"):
        ref = probe.get("tcpSocket") or probe.get("grpc") or {}
        port = _resolve_port(ref.get("port"), container)
        if port is None:
            return f"errored:couldn't find port: {ref.get('port')} in {container.get('name')}"
        if port not in tcp and port not in http:
            return f"dial tcp {ip}:{port}: connect: connection refused"
        return None
    if probe.get("exec"):
        text = " ".join(str(w) for w in (probe["exec"].get("command") or []))
        if re.search(r"\bexit\s+[1-9]", text) or re.search(r"(^|[;&|\s])false(\s|$|;)", text):
            return ""
        return None
    return None


def _probe_event(kind: str, failure: str) -> str:
    if failure.startswith("errored:"):
        return f"{kind} probe errored and resulted in unknown state: {failure[len('errored:') :]}"
    return f"{kind} probe failed: {failure}"


class Kubelet:
    def __init__(self, images: ImageRegistry, lookup: Lookup, now: Callable[[], str]) -> None:
        self.images = images
        self.lookup = lookup
        self.now = now

    def sync(self, pod: Obj, node: Obj, pod_ip: str) -> PodResult:
        spec = pod["spec"]
        old = pod.get("status") or {}
        node_ip = next(
            (a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
            "",
        )
        result = PodResult(status={})
        events = result.events
        volume_errors = _volume_errors(pod, self.lookup)
        for message in volume_errors:
            events.append(Event("Warning", "FailedMount", message))
        sandbox = not volume_errors
        init_containers = spec.get("initContainers") or []
        containers = spec.get("containers") or []
        # What listens in this pod (probes go to the pod IP, so any container's server answers).
        http: dict[int, frozenset[str]] = {}
        tcp: set[int] = set()
        for container in containers:
            image = self.images.get(str(container.get("image", "")))
            if image is None:
                continue
            outcome = command_outcome(image, container.get("command"), container.get("args"))
            if outcome.serves:
                for port in image.http_ports:
                    http[port] = image.http_paths
                tcp.update(image.tcp_ports)
        init_statuses: list[Obj] = []
        statuses: list[Obj] = []
        initialized = True
        init_failed = False
        for container in init_containers:
            if not sandbox or not initialized:
                init_statuses.append(self._waiting(container, "PodInitializing"))
                continue
            res = self._container(
                pod,
                container,
                f"spec.initContainers{{{container['name']}}}",
                pod_ip,
                http,
                tcp,
                events,
                result.logs,
                init=True,
                old=self._old(old, "initContainerStatuses", container),
            )
            init_statuses.append(res.status)
            if not res.completed:
                initialized = False
                init_failed = init_failed or res.failed
        incomplete = [
            c["name"]
            for c, s in zip(init_containers, init_statuses, strict=True)
            if (s.get("state") or {}).get("terminated", {}).get("exitCode") != 0
        ]
        ready_all = True
        running_any = False
        terminal: list[ContainerResult] = []
        for container in containers:
            if not sandbox:
                statuses.append(self._waiting(container, "ContainerCreating"))
                ready_all = False
                continue
            if not initialized:
                statuses.append(self._waiting(container, "PodInitializing"))
                ready_all = False
                continue
            res = self._container(
                pod,
                container,
                f"spec.containers{{{container['name']}}}",
                pod_ip,
                http,
                tcp,
                events,
                result.logs,
                init=False,
                old=self._old(old, "containerStatuses", container),
            )
            statuses.append(res.status)
            ready_all = ready_all and res.ready
            running_any = running_any or res.started
            if res.completed or res.failed:
                terminal.append(res)
        # phase
        if init_failed:
            phase = "Failed"
        elif containers and len(terminal) == len(containers):
            phase = "Succeeded" if all(r.completed for r in terminal) else "Failed"
        elif running_any:
            phase = "Running"
        else:
            phase = "Pending"
        unready = [c["name"] for c, s in zip(containers, statuses, strict=True) if not s.get("ready")]
        now = self.now()
        conditions: list[Obj] = [
            {"type": "PodReadyToStartContainers", "status": "True" if sandbox else "False"},
            {
                "type": "Initialized",
                "status": "True" if initialized else "False",
                **(
                    {}
                    if initialized
                    else {
                        "reason": "ContainersNotInitialized",
                        "message": f"containers with incomplete status: [{' '.join(incomplete)}]",
                    }
                ),
            },
            {
                "type": "Ready",
                "status": "True" if ready_all and initialized else "False",
                **(
                    {}
                    if ready_all and initialized
                    else {
                        "reason": "PodCompleted" if phase == "Succeeded" else "ContainersNotReady",
                        "message": f"containers with unready status: [{' '.join(unready)}]",
                    }
                ),
            },
            {
                "type": "ContainersReady",
                "status": "True" if ready_all and initialized else "False",
                **(
                    {}
                    if ready_all and initialized
                    else {
                        "reason": "PodCompleted" if phase == "Succeeded" else "ContainersNotReady",
                        "message": f"containers with unready status: [{' '.join(unready)}]",
                    }
                ),
            },
            {"type": "PodScheduled", "status": "True"},
        ]
        old_conditions = {c.get("type"): c for c in old.get("conditions") or []}
        for condition in conditions:
            previous = old_conditions.get(condition["type"])
            same = previous is not None and previous.get("status") == condition["status"]
            condition["lastProbeTime"] = None
            condition["lastTransitionTime"] = previous.get("lastTransitionTime") if same and previous else now
        status: Obj = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "startTime": old.get("startTime") or now,
            "qosClass": qos_class(pod),
            "containerStatuses": statuses,
        }
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        if sandbox:
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
        result.status = status
        return result

    @staticmethod
    def _old(old_status: Obj, key: str, container: Obj) -> Obj | None:
        for status in old_status.get(key) or []:
            if status.get("name") == container.get("name"):
                return status  # type: ignore[no-any-return]
        return None

    @staticmethod
    def _waiting(container: Obj, reason: str, message: str | None = None) -> Obj:
        waiting: Obj = {"reason": reason}
        if message:
            waiting["message"] = message
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"waiting": waiting},
            **_mounts(container),
        }

    def _container(
        self,
        pod: Obj,
        container: Obj,
        field_path: str,
        pod_ip: str,
        http: dict[int, frozenset[str]],
        tcp: set[int],
        events: list[Event],
        logs: dict[str, str],
        *,
        init: bool,
        old: Obj | None,
    ) -> ContainerResult:
        meta, spec = pod["metadata"], pod["spec"]
        name = container["name"]
        reference = str(container.get("image", ""))
        image = self.images.get(reference)
        restart_policy = spec.get("restartPolicy", "Always")
        pod_ref = f"{meta['name']}_{meta['namespace']}({meta.get('uid')})"

        def ev(type_: str, reason: str, message: str) -> None:
            events.append(Event(type_, reason, message, field_path))

        if image is None:
            full = full_reference(reference)
            ev("Normal", "Pulling", f'Pulling image "{reference}"')
            ev(
                "Warning",
                "Failed",
                f'Failed to pull image "{reference}": rpc error: code = NotFound desc = failed to '
                f'pull and unpack image "{full}": failed to resolve reference "{full}": {full}: not found',
            )
            ev("Warning", "Failed", "Error: ErrImagePull")
            ev("Normal", "BackOff", f'Back-off pulling image "{reference}"')
            ev("Warning", "Failed", "Error: ImagePullBackOff")
            status = self._waiting(container, "ImagePullBackOff", f'Back-off pulling image "{reference}"')
            return ContainerResult(status=status, blocking=True)
        if container.get("imagePullPolicy") == "Always":
            ev("Normal", "Pulling", f'Pulling image "{reference}"')
            ev(
                "Normal",
                "Pulled",
                f'Successfully pulled image "{reference}" in 1.02s (1.02s including waiting). '
                f"Image size: {int(_hex(reference)[:6], 16) * 10} bytes.",
            )
        else:
            ev("Normal", "Pulled", f'Container image "{reference}" already present on machine')
        env, config_error = _env_value_set(container, meta["namespace"], self.lookup)
        base = {
            "name": name,
            "image": full_reference(reference),
            "imageID": image_id(reference),
            **_mounts(container),
        }
        if config_error:
            ev("Warning", "Failed", f"Error: {config_error}")
            status = {
                **base,
                "imageID": "",
                "image": reference,
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": {"waiting": {"reason": "CreateContainerConfigError", "message": config_error}},
            }
            return ContainerResult(status=status, blocking=True)
        ev("Normal", "Created", f"Created container: {name}")
        ev("Normal", "Started", f"Started container {name}")
        outcome = command_outcome(image, container.get("command"), container.get("args"))
        logs[name] = "\n".join(image.logs) if outcome.serves else ""
        crash: tuple[str, int] | None = None  # (reason, exit code) of the last termination when crash-looping
        exit_code: int | None = None
        if outcome.serves and image.required_env:
            missing = [group for group in image.required_env if not any(env.get(n) for n in group)]
            if missing:
                logs[name] = image.env_error
                exit_code = 1
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if exit_code is None and limit is not None and (outcome.running or outcome.serves):
            try:
                if parse_quantity(limit) < parse_quantity(image.memory):
                    crash = ("OOMKilled", 137)
            except QuantityError:
                pass
        if exit_code is None and crash is None and not outcome.running:
            exit_code = outcome.exit_code
        container_id = f"containerd://{_hex(str(meta.get('uid')), name)}"
        started_at = self.now()
        if exit_code is not None and crash is None:
            restarts = (restart_policy == "Always" and not init) or (exit_code != 0 and restart_policy != "Never")
            if not restarts:
                terminated = {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                    "startedAt": started_at,
                    "finishedAt": started_at,
                    "containerID": container_id,
                }
                old_terminated = ((old or {}).get("state") or {}).get("terminated")
                if old_terminated and old_terminated.get("exitCode") == exit_code:
                    terminated["startedAt"] = old_terminated.get("startedAt", started_at)
                    terminated["finishedAt"] = old_terminated.get("finishedAt", started_at)
                status = {
                    **base,
                    "containerID": container_id,
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"terminated": terminated},
                }
                return ContainerResult(status=status, started=True, completed=exit_code == 0, failed=exit_code != 0)
            crash = ("Completed" if exit_code == 0 else "Error", exit_code)
        if crash is None:
            for kind, key in (("Startup", "startupProbe"), ("Liveness", "livenessProbe")):
                probe = container.get(key)
                if probe and not init:
                    failure = _probe(probe, container, pod_ip, http, tcp)
                    if failure is not None:
                        ev("Warning", "Unhealthy", _probe_event(kind, failure))
                        ev("Normal", "Killing", f"Container {name} failed {kind.lower()} probe, will be restarted")
                        crash = ("Completed", 0) if image.http_ports and outcome.serves else ("Error", 137)
                        break
        if crash is not None:
            reason, code = crash
            ev("Warning", "BackOff", f"Back-off restarting failed container {name} in pod {pod_ref}")
            last = {
                "terminated": {
                    "exitCode": code,
                    "reason": reason,
                    "startedAt": started_at,
                    "finishedAt": started_at,
                    "containerID": container_id,
                }
            }
            old_last = ((old or {}).get("lastState") or {}).get("terminated")
            if old_last and old_last.get("reason") == reason:
                last["terminated"]["startedAt"] = old_last.get("startedAt", started_at)
                last["terminated"]["finishedAt"] = old_last.get("finishedAt", started_at)
            status = {
                **base,
                "containerID": container_id,
                "ready": False,
                "restartCount": CRASH_RESTARTS,
                "started": False,
                "lastState": last,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 40s restarting failed container={name} pod={pod_ref}",
                    }
                },
            }
            return ContainerResult(status=status, started=True)
        ready = True
        readiness = container.get("readinessProbe")
        if readiness and not init:
            failure = _probe(readiness, container, pod_ip, http, tcp)
            if failure is not None:
                ready = False
                ev("Warning", "Unhealthy", _probe_event("Readiness", failure))
        old_running = ((old or {}).get("state") or {}).get("running")
        status = {
            **base,
            "containerID": container_id,
            "ready": ready,
            "restartCount": 0,
            "started": True,
            "state": {"running": {"startedAt": (old_running or {}).get("startedAt", started_at)}},
        }
        if init:
            # An init container that keeps running blocks the pod forever (Init:0/1).
            status["ready"] = False
        return ContainerResult(status=status, ready=ready, started=True)


def _mounts(container: Obj) -> Obj:
    mounts = [{"name": m.get("name"), "mountPath": m.get("mountPath")} for m in container.get("volumeMounts") or []]
    return {"volumeMounts": mounts} if mounts else {}


def qos_class(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits.get(name))) != str(limits.get(name)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
