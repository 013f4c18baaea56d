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

from bot.challenges.checks._base import Outcome, shorten
from bot.i18n import Message
from bot.pods import IMAGE_PULL, declared_image, live, problems_of, scheduled, starting
from bot.snapshot import Obj


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
                        "image": declared_image(pod, container),
                        "reason": reason,
                        # Since 1.30 the back-off message carries the last pull error after this marker.
                        "detail": shorten(str(waiting.get("message") or "-").split(": ErrImagePull: ", 1)[-1]),
                    },
                )
    return None


def failing_pods(message_key: str, pods: list[Obj], /, **params: Any) -> Outcome:
    """A failure whose symptom lists what these Pods are doing and whose diagnosis is the kubelet's words."""
    return Outcome.fail(message_key, problems=pod_problems(pods) or "-", diagnosis=pod_diagnosis(pods), **params)
