"""``GET pods/{name}/log``: the kubelet's answer for a container's logs."""

from __future__ import annotations

from .resources import Obj


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
    if status is None:
        raise status_error(400, "BadRequest", f'container "{container}" in pod "{meta["name"]}" is not available')
    # pkg/kubelet/kubelet_pods.go (v1.33) validateContainerLogStatus: the previous run, the current one, or
    # the last one of a container waiting to restart; a container that never ran has nothing to show.
    state = status.get("state") or {}
    terminated_before = ((status.get("lastState") or {}).get("terminated") or {}).get("containerID")
    if previous:
        if not terminated_before:
            raise status_error(
                400, "BadRequest", f'previous terminated container "{container}" in pod "{meta["name"]}" not found'
            )
    elif not (state.get("running") or state.get("terminated") or terminated_before):
        reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        detail = "trying and failing to pull image" if reason in ("ErrImagePull", "ImagePullBackOff") else reason
        raise status_error(
            400, "BadRequest", f'container "{container}" in pod "{meta["name"]}" is waiting to start: {detail}'
        )
    return logs.get((meta["namespace"], meta["name"], container), "")
