"""What is wrong with a set of Pods, in the words kubectl uses (kept as they are in a Korean post too: the
words a student then finds in `kubectl get`/`describe`).

Texts are short and stable across verifications: a Pod that alternates between ErrImagePull and
ImagePullBackOff, or a crash-looping container caught running between two back-offs, reads the same
each time, so a thread can name each reason once (checks pass these texts as the `problems` param).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from bot.challenges.checks._base import Outcome, find_condition, shorten
from bot.i18n import Message
from bot.snapshot import Obj

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


def _image(pod: Obj, container: Obj) -> str:
    declared = {c.get("name"): c.get("image") for c in pod.get("spec", {}).get("containers") or []}
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
    image = _image(pod, container)
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


def pod_problems(pods: Iterable[Obj]) -> str:
    """What is wrong with these pods, grouped: `ErrImagePull/ImagePullBackOff (image x) ×3; Unschedulable: 0/3 …`."""
    problems: Counter[str] = Counter()
    for pod in live(pods):
        found = problems_of(pod)
        problems.update(found)
        if not found and starting(pod):
            problems["still starting"] += 1
        elif not found and not scheduled(pod):
            problems["Node: <none>"] += 1  # as `kubectl describe pod` shows one no scheduler has seen yet
    return "; ".join(f"{text} ×{count}" if count > 1 else text for text, count in problems.most_common())


def pod_diagnosis(pods: Iterable[Obj]) -> Message | None:
    """The kubelet's own words for the first image or configuration failure: what to look at, exactly."""
    for pod in live(pods):
        for container in pod.get("status", {}).get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in IMAGE_PULL or reason in ("InvalidImageName", "CreateContainerConfigError"):
                return Message(
                    "check.diagnosis.container_waiting",
                    {
                        "container": container.get("name"),
                        "image": _image(pod, container),
                        "reason": reason,
                        # Since 1.30 the back-off message carries the last pull error after this marker.
                        "detail": shorten(str(waiting.get("message") or "-").split(": ErrImagePull: ", 1)[-1]),
                    },
                )
    return None


def failing_pods(message_key: str, pods: list[Obj], /, **params: Any) -> Outcome:
    """A failure whose symptom lists what these Pods are doing and whose diagnosis is the kubelet's words."""
    return Outcome.fail(message_key, problems=pod_problems(pods) or "-", diagnosis=pod_diagnosis(pods), **params)
