"""``GET pods/{name}/log``: the kubelet's answer for a container's logs."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def pod_log(pod: Obj, container: str | None, previous: bool, logs: dict[tuple[str, str, str], str]) -> str:
    from .apiserver import status_error  # the API server imports the simulator, which imports this

    meta = pod["metadata"]
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    if container is None:
        if len(names) != 1:
            raise status_error(
                400,
                "BadRequest",
                f"a container name must be specified for pod {meta['name']}, choose one of: [{' '.join(names)}]",
            )
        container = names[0]
    statuses = {
        s["name"]: s
        for s in ((pod.get("status") or {}).get("containerStatuses") or [])
        + ((pod.get("status") or {}).get("initContainerStatuses") or [])
    }
    status = statuses.get(container)
    if status is None and container not in names:
        raise status_error(400, "BadRequest", f"container {container} is not valid for pod {meta['name']}")
    waiting = ((status or {}).get("state") or {}).get("waiting") or {}
    if waiting.get("reason") in ("ImagePullBackOff", "ErrImagePull"):
        raise status_error(
            400,
            "BadRequest",
            f'container "{container}" in pod "{meta["name"]}" is waiting to start: trying and failing to pull image',
        )
    if waiting.get("reason") in ("ContainerCreating", "PodInitializing", "CreateContainerConfigError") or (
        status is None
    ):
        reason = waiting.get("reason", "ContainerCreating")
        raise status_error(
            400, "BadRequest", f'container "{container}" in pod "{meta["name"]}" is waiting to start: {reason}'
        )
    return logs.get((meta["namespace"], meta["name"], container), "")
