"""What a Pod's status says, in the words kubectl uses: ready, placed, starting, each container's problem,
and kubectl's STATUS column.

One reading of a Pod for the checks (`bot.challenges.checks`) and the incident threads (`bot.incidents`):
pure functions over the Pod as the API server returns it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.limits import shorten
from bot.snapshot import Obj, find_condition

#: Waiting reasons of a container that is still being set up: not yet a verdict.
STARTING = frozenset({"ContainerCreating", "PodInitializing"})
#: The kubelet alternates these two while an image cannot be pulled.
IMAGE_PULL = frozenset({"ErrImagePull", "ImagePullBackOff"})


def pod_ready(pod: Obj) -> bool:
    condition = find_condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def live(pods: Iterable[Obj]) -> list[Obj]:
    """Pods that count: not being deleted, not finished (a ReplicaSet ignores both)."""
    return [
        p
        for p in pods
        if not p.get("metadata", {}).get("deletionTimestamp")
        and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
    ]


def declared_image(pod: Obj, container: Obj) -> str:
    """The image of a container (its status) as the Pod's spec names it."""
    spec = pod.get("spec", {})
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]  # names are unique across both
    declared = {c.get("name"): c.get("image") for c in containers}
    # The spec's reference, as the student wrote it; the status may show it fully qualified.
    return str(declared.get(container.get("name")) or container.get("image") or "?")


def crash_looping(container: Obj) -> bool:
    """Waiting in CrashLoopBackOff, or running between two back-offs after a restart."""
    state = container.get("state") or {}
    if ((state.get("waiting") or {}).get("reason")) == "CrashLoopBackOff":
        return True
    restarted = int(container.get("restartCount") or 0) > 0 and (container.get("lastState") or {}).get("terminated")
    return bool(restarted and state.get("running") and not container.get("ready", False))


def container_problem(pod: Obj, container: Obj) -> str | None:
    """One container's problem as kubectl shows it, or None when it is fine or still starting."""
    state = container.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason")
    image = declared_image(pod, container)
    if reason in IMAGE_PULL:
        return f"ErrImagePull/ImagePullBackOff (image {image})"
    if crash_looping(container):
        return f"CrashLoopBackOff (image {image})"
    if reason == "CreateContainerConfigError":
        return f"CreateContainerConfigError: {shorten(str(waiting.get('message') or ''), 120)}"
    if reason and reason not in STARTING:
        return f"{reason} (image {image})"
    if state.get("running") and not container.get("ready", False):
        return f"container {container.get('name')}: Running, not Ready"
    terminated = state.get("terminated")
    if terminated and terminated.get("exitCode", 0) != 0:
        name, reason, code = container.get("name"), terminated.get("reason"), terminated.get("exitCode")
        return f"container {name}: Terminated ({reason}, exit code {code})"
    return None


def unschedulable(pod: Obj) -> str | None:
    """The scheduler's message for a Pod it could not place (PodScheduled=False)."""
    if pod.get("status", {}).get("phase") != "Pending" or pod.get("spec", {}).get("nodeName"):
        return None
    scheduled = find_condition(pod, "PodScheduled")
    if scheduled is None or scheduled.get("status") != "False":
        return None
    # The scheduler appends what preemption found ("preemption: 0/3 nodes are available: …"): it repeats
    # the node count and says nothing a student acts on.
    # Named by the condition's reason (Unschedulable), as `kubectl describe pod` shows it: the phase, Pending,
    # is what the checks' own texts say already ("2 Pending — Unschedulable: 0/3 nodes are available: …").
    reason = str(scheduled.get("reason") or "Unschedulable")
    message = str(scheduled.get("message") or "").split(" preemption: ", 1)[0]
    return f"{reason}: {shorten(message)}" if message else reason


def problems_of(pod: Obj) -> list[str]:
    pending = unschedulable(pod)
    if pending is not None:
        return [pending]
    statuses = pod.get("status", {})
    containers = (statuses.get("initContainerStatuses") or []) + (statuses.get("containerStatuses") or [])
    return [p for c in containers if (p := container_problem(pod, c)) is not None]


def scheduled(pod: Obj) -> bool:
    condition = find_condition(pod, "PodScheduled") or {}
    return bool(pod.get("spec", {}).get("nodeName")) or condition.get("status") == "True"


def starting(pod: Obj) -> bool:
    """Not ready, but nothing is wrong yet: placed on a node, its containers being created or initialised.

    A Pod not yet placed is not "starting": the scheduler places a new Pod at once, and one still unplaced
    may be waiting on a volume the provisioner refused (its status then shows nothing but `Pending`).
    """
    return scheduled(pod) and not pod_ready(pod) and not problems_of(pod)


def kubectl_status(pod: Obj) -> str:
    """kubectl's STATUS column (printPod): the first container's waiting or terminated reason wins."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    initializing = False
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    for i, container in enumerate(status.get("initContainerStatuses") or []):
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if container.get("started") and (init_specs.get(container.get("name")) or {}).get("restartPolicy") == "Always":
            continue  # a sidecar (an init container that restarts, restartPolicy Always) that has started
        initializing = True
        if terminated:
            reason = "Init:" + _terminated_reason(terminated)
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing:
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            state = container.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and "running" in state:
                running = True
        if reason == "Completed" and running:
            reason = "Running" if pod_ready(pod) else "NotReady"
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"  # a Pod that has finished keeps its last word
    return reason


def _terminated_reason(terminated: Obj) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode')}"
