"""What is wrong with a set of Pods, in the words kubectl uses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.challenges.checks._base import find_condition, shorten
from bot.snapshot import Obj


def pod_ready(pod: Obj) -> bool:
    condition = find_condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def pod_problems(pods: Iterable[Obj]) -> str:
    """What is wrong with these pods, grouped: `ImagePullBackOff (image x) ×3; Pending: 0/3 nodes …`."""
    problems: Counter[str] = Counter()
    for pod in pods:
        status = pod.get("status", {})
        if status.get("phase") == "Pending":
            scheduled = find_condition(pod, "PodScheduled")
            if scheduled is not None and scheduled.get("status") == "False":
                problems[f"Pending: {shorten(str(scheduled.get('message') or scheduled.get('reason')))}"] += 1
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
