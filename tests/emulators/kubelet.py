"""The kubelet of the simulated nodes: volumes, image pulls, env, process behaviour, probes, pod status."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .containers import ContainerRuntime, Occurrence, Plan, Start
from .environment import Lookup, environment, volume_errors
from .images import Image, ImageRegistry, command_outcome, full_reference, image_id, normalize, reference_error
from .nodefs import NodeFiles, host_mounts, run_script
from .probes import probe_event, probe_failure, probe_timing
from .programs import Listeners, listeners, mounted_files, program_failure, program_logs
from .quantities import QuantityError, parse_quantity
from .resources import Obj
from .store import Clock, rfc3339

Dial = Callable[[str, int, str], str | None]  # (host, port, the pod's namespace) -> why it fails, or None

MOUNT_RETRY_SECONDS = 122.0  # pkg/volume/util/nestedpendingoperations: durationBeforeRetry caps at 2m2s


@dataclass
class Event:
    type: str
    reason: str
    message: str
    field_path: str | None = None
    at: datetime.datetime | None = None
    first: datetime.datetime | None = None
    count: int = 1
    occurrence: bool = False
    every: float | None = None


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


class Kubelet:
    """Pod status from the containers' runtimes; each sync replays what happened since the previous one."""

    def __init__(
        self, images: ImageRegistry, lookup: Lookup, clock: Clock, dial: Dial, files: NodeFiles | None = None
    ) -> None:
        self.images = images
        self.files = files if files is not None else NodeFiles()
        self.lookup = lookup
        self.clock = clock
        self.dial = dial
        self.runtimes: dict[tuple[str, str, bool], ContainerRuntime] = {}
        self.listening: dict[str, set[int]] = {}  # pod uid -> the ports its running servers listen on
        self.pulled: set[tuple[str, str]] = set()  # (node, image) pulled there already

    def now(self) -> str:
        return self.clock.stamp()

    def forget(self, live: Iterable[str]) -> None:
        """Drop what the kubelets remember of pods that are gone (by uid)."""
        keep = set(live)
        self.runtimes = {key: value for key, value in self.runtimes.items() if key[0] in keep}
        self.listening = {uid: ports for uid, ports in self.listening.items() if uid in keep}

    def sync(self, pod: Obj, node: Obj, pod_ip: str) -> PodResult:
        spec = pod["spec"]
        old = pod.get("status") or {}
        node_ip = next(
            (a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
            "",
        )
        result = PodResult(status={})
        events = result.events
        mount_errors = volume_errors(pod, self.lookup)
        for message in mount_errors:
            # pkg/kubelet/volumemanager retries a failed mount with exponential back-off capped at 2m2s
            events.append(Event("Warning", "FailedMount", message, every=MOUNT_RETRY_SECONDS))
        sandbox = not mount_errors
        init_containers = spec.get("initContainers") or []
        containers = spec.get("containers") or []
        namespace = pod["metadata"]["namespace"]

        def reach(host: str, port: int) -> str | None:
            return self.dial(host, port, namespace)

        def files(container: Obj) -> dict[str, str]:
            return mounted_files(pod, container, lambda name: self._config_map(namespace, name))

        # What would listen in this pod if its servers started now (probes go to the pod IP, so any
        # container's server answers); a running server keeps what it read at its own start.
        starting: Listeners = {}
        for container in containers:
            image = self.images.get(str(container.get("image", "")))
            if image is not None and command_outcome(image, container.get("command"), container.get("args")).serves:
                starting.update(listeners(image, files(container), reach, _words(container)))
        init_statuses: list[Obj] = []
        statuses: list[Obj] = []
        initialized = True
        init_failed = False
        for container in init_containers:
            if not sandbox or not initialized:
                init_statuses.append(self._waiting(container, "PodInitializing"))
                continue
            runtime = self._advance(pod, container, pod_ip, starting, init=True)
            res = self._container(pod, container, runtime, pod_ip, {}, reach, events, result.logs, init=True)
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
        runtimes: list[ContainerRuntime | None] = [
            self._advance(pod, c, pod_ip, starting, init=False) if sandbox and initialized else None for c in containers
        ]
        served: Listeners = {}
        for container, current in zip(containers, runtimes, strict=True):
            image = self.images.get(str(container.get("image", "")))
            if current is None or not current.running or image is None:
                continue
            if command_outcome(image, container.get("command"), container.get("args")).serves:
                served.update(listeners(image, dict(current.plan.files), reach, _words(container)))
        self.listening[str(pod["metadata"].get("uid"))] = set(served)
        for container, current in zip(containers, runtimes, strict=True):
            if current is None:
                statuses.append(self._waiting(container, "ContainerCreating" if not sandbox else "PodInitializing"))
                ready_all = False
                continue
            res = self._container(pod, container, current, pod_ip, served, reach, events, result.logs, init=False)
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
            "lastState": {},
            **_mounts(container),
        }

    def _config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        obj = self.lookup("configmaps", namespace, name)
        return None if obj is None else {k: str(v) for k, v in (obj.get("data") or {}).items()}

    def _advance(self, pod: Obj, container: Obj, pod_ip: str, starting: Listeners, *, init: bool) -> ContainerRuntime:
        """The container's runtime, brought up to now."""
        meta = pod["metadata"]
        reference = str(container.get("image", ""))
        key = (str(meta.get("uid")), str(container["name"]), init)
        runtime = self.runtimes.get(key)
        now = self.clock.now()
        if runtime is None or runtime.image != reference:
            previous = runtime
            runtime = ContainerRuntime(
                name=container["name"],
                image=reference,
                restart_policy=pod["spec"].get("restartPolicy", "Always"),
                init=init,
                pod_ref=f"{meta['name']}_{meta['namespace']}({meta.get('uid')})",
                next_sync=now,
            )
            if previous is not None and previous.instances:  # a new image replaces the container
                runtime.restarts, runtime.instances = previous.restarts, previous.instances
            self.runtimes[key] = runtime
        runtime.advance(now, lambda: self._start(pod, container, pod_ip, starting, init=init), rfc3339)
        return runtime

    def _start(self, pod: Obj, container: Obj, pod_ip: str, starting: Listeners, *, init: bool) -> Start:
        """What starting the container now leads to (pkg/kubelet/kuberuntime/kuberuntime_container.go)."""
        reference = str(container.get("image", ""))
        invalid = reference_error(reference)
        if invalid is not None:
            return Start(invalid_image=invalid)
        image = self.images.get(reference)
        if image is None:
            full = full_reference(reference)
            return Start(
                pull_error=f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
                f'failed to resolve reference "{full}": {full}: not found'
            )
        pulls: tuple[tuple[str, str, str], ...]
        on_node = (str(pod["spec"].get("nodeName")), normalize(reference))
        if container.get("imagePullPolicy") == "Always" or on_node not in self.pulled:
            self.pulled.add(on_node)  # pulls take no time here
            pulls = (
                ("Normal", "Pulling", f'Pulling image "{reference}"'),
                (
                    "Normal",
                    "Pulled",
                    f'Successfully pulled image "{reference}" in 1.02s (1.02s including waiting). '
                    f"Image size: {int(_hex(reference)[:6], 16) * 10} bytes.",
                ),
            )
        else:
            pulls = (("Normal", "Pulled", f'Container image "{reference}" already present on machine'),)
        env, config_error = environment(container, pod["metadata"]["namespace"], self.lookup)
        if config_error:
            return Start(pull_events=pulls, config_error=config_error)
        return Start(pull_events=pulls, plan=self._plan(pod, container, image, env, pod_ip, starting, init=init))

    def _plan(
        self, pod: Obj, container: Obj, image: Image, env: dict[str, str], ip: str, served: Listeners, *, init: bool
    ) -> Plan:
        name = container["name"]
        files = tuple(
            sorted(mounted_files(pod, container, lambda n: self._config_map(pod["metadata"]["namespace"], n)).items())
        )
        outcome = command_outcome(image, container.get("command"), container.get("args"))
        missing = [group for group in image.required_env if not any(env.get(n) for n in group)]
        if outcome.serves and missing:
            return Plan(exit_after=image.exit_after, files=files, output=image.env_error)
        failure = program_failure(image, _words(container)) if outcome.serves else None
        if failure is not None:
            return Plan(exit_after=image.exit_after, files=files, output=failure)
        script = _shell_script(container)
        mounts = host_mounts(pod, container)
        if image.runs_command and script is not None and mounts:
            # A script on the node's own files runs once per start: its changes are made when it starts.
            ran = run_script(script, node=str(pod["spec"].get("nodeName")), files=self.files, mounts=mounts)
            reason = "Completed" if ran.exit_code == 0 else "Error"
            return Plan(0.0, reason, ran.exit_code, files=files, output=ran.output)
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if limit is not None and (outcome.running or outcome.serves):
            try:
                if parse_quantity(limit) < parse_quantity(image.memory):
                    return Plan(exit_after=image.exit_after, exit_reason="OOMKilled", exit_code=137, files=files)
            except QuantityError:
                pass
        if not outcome.running:
            code = outcome.exit_code
            return Plan(image.exit_after, "Completed" if code == 0 else "Error", code, files=files)
        for kind, key in (("Startup", "startupProbe"), ("Liveness", "livenessProbe")):
            probe = container.get(key)
            failure = probe_failure(probe, container, ip, served) if probe and not init else None
            if probe is None or failure is None:
                continue
            # pkg/kubelet/prober/worker.go: failureThreshold failures in a row, periodSeconds apart, then
            # pkg/kubelet/kuberuntime/kuberuntime_manager.go kills it: "Container %s failed %s probe, will be restarted"
            delay, period, threshold = probe_timing(probe)
            offsets = [delay + i * period for i in range(threshold)]
            during = [Occurrence(o, "Warning", "Unhealthy", probe_event(kind, failure)) for o in offsets]
            killing = f"Container {name} failed {kind.lower()} probe, will be restarted"
            during.append(Occurrence(offsets[-1], "Normal", "Killing", killing))
            # a server that handles SIGTERM exits 0; one that does not is killed after the grace period
            reason, code = ("Completed", 0) if image.http_ports and outcome.serves else ("Error", 137)
            return Plan(offsets[-1], reason, code, tuple(during), files)
        return Plan(files=files)

    def _container(
        self,
        pod: Obj,
        container: Obj,
        runtime: ContainerRuntime,
        pod_ip: str,
        served: Listeners,
        dial: Callable[[str, int], str | None],
        events: list[Event],
        logs: dict[str, str],
        *,
        init: bool,
    ) -> ContainerResult:
        name = container["name"]
        reference = str(container.get("image", ""))
        field_path = f"spec.{'initContainers' if init else 'containers'}{{{name}}}"
        for emitted in runtime.take_events():
            events.append(
                Event(
                    emitted.type,
                    emitted.reason,
                    emitted.message,
                    field_path,
                    at=emitted.last,
                    first=emitted.first,
                    count=emitted.count,
                    occurrence=True,
                )
            )
        image = self.images.get(reference)
        if image is not None and runtime.instances:
            outcome = command_outcome(image, container.get("command"), container.get("args"))
            started = runtime.started_at or self.clock.now()
            files = dict(runtime.plan.files)
            output = program_logs(image, files, dial, started, _words(container)) if outcome.serves else []
            logs[name] = runtime.plan.output if runtime.plan.output is not None else "\n".join(output)
        status: Obj = {
            "name": name,
            "image": full_reference(reference) if runtime.instances else reference,
            "imageID": image_id(reference) if runtime.instances else "",
            "ready": False,
            "restartCount": runtime.restarts,
            "started": runtime.running,
            **_mounts(container),
        }
        uid = str(pod["metadata"].get("uid"))
        if runtime.instances:
            status["containerID"] = f"containerd://{_hex(uid, name, str(runtime.instances))}"
        status["lastState"] = {}
        if runtime.last_terminated is not None:
            previous = f"containerd://{_hex(uid, name, str(runtime.last_instance))}"
            status["lastState"] = {"terminated": {**runtime.last_terminated, "containerID": previous}}
        if runtime.terminated is not None:
            code = int(runtime.terminated["exitCode"])
            status["state"] = {"terminated": {**runtime.terminated, "containerID": status["containerID"]}}
            return ContainerResult(status=status, started=True, completed=code == 0, failed=code != 0)
        if runtime.waiting is not None:
            reason, message = runtime.waiting
            status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
            return ContainerResult(status=status, started=bool(runtime.instances), blocking=not runtime.instances)
        assert runtime.started_at is not None
        status["state"] = {"running": {"startedAt": rfc3339(runtime.started_at)}}
        ready = not init
        readiness = container.get("readinessProbe")
        if readiness and not init:
            failure = probe_failure(readiness, container, pod_ip, served)
            if failure is not None:
                ready = False
                _, period, _ = probe_timing(readiness)
                message = probe_event("Readiness", failure)
                events.append(Event("Warning", "Unhealthy", message, field_path, every=period))
        status["ready"] = ready
        return ContainerResult(status=status, ready=ready, started=True)


def _shell_script(container: Obj) -> str | None:
    """The script of ``sh -c <script>`` (command, or command and args), or None."""
    words = _words(container)
    if len(words) >= 3 and words[0] in ("sh", "/bin/sh") and words[1] == "-c":
        return words[2]
    return None


def _words(container: Obj) -> list[str]:
    return [str(w) for w in (*(container.get("command") or []), *(container.get("args") or []))]


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
