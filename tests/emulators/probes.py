"""The kubelet's probes against what a pod's servers listen on (see ``programs.Listeners``)."""

from __future__ import annotations

import re
from typing import Any

from .programs import Listeners
from .resources import Obj


def _resolve_port(port: Any, container: Obj) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared.get("containerPort", 0))
    return None


def probe_failure(probe: Obj, container: Obj, ip: str, served: Listeners) -> str | None:
    """None when the probe succeeds, else the message after "<Kind> probe failed: ".

    kubernetes/kubernetes pkg/probe/http/http.go and pkg/probe/tcp/tcp.go (v1.33): 2xx/3xx succeed,
    else ``HTTP probe failed with statuscode: %d``; a closed port is the dialer's error.
    """
    if probe.get("httpGet"):
        get = probe["httpGet"]
        port = _resolve_port(get.get("port"), container)
        if port is None:
            return f"errored:couldn't find port: {get.get('port')} in {container.get('name')}"
        path = str(get.get("path") or "/")
        scheme = str(get.get("scheme") or "HTTP").lower()
        url = f"{scheme}://{ip}:{port}{path}"
        if port not in served:
            return f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'
        routes = served[port]
        if routes is None:
            return f'Get "{url}": EOF'
        if scheme == "https":
            return f'Get "{url}": http: server gave HTTP response to HTTPS client'
        code = routes.get(path.split("?", 1)[0], routes.get("*", 404))
        if not 200 <= code < 400:
            return f"HTTP probe failed with statuscode: {code}"
        return None
    if probe.get("tcpSocket") or probe.get("grpc"):
        ref = probe.get("tcpSocket") or probe.get("grpc") or {}
        port = _resolve_port(ref.get("port"), container)
        if port is None:
            return f"errored:couldn't find port: {ref.get('port')} in {container.get('name')}"
        if port not in served:
            return f"dial tcp {ip}:{port}: connect: connection refused"
        return None
    if probe.get("exec"):
        text = " ".join(str(w) for w in (probe["exec"].get("command") or []))
        if re.search(r"\bexit\s+[1-9]", text) or re.search(r"(^|[;&|\s])false(\s|$|;)", text):
            return ""
        return None
    return None


def probe_event(kind: str, failure: str) -> str:
    if failure.startswith("errored:"):
        return f"{kind} probe errored and resulted in unknown state: {failure[len('errored:') :]}"
    return f"{kind} probe failed: {failure}"


def probe_timing(probe: Obj) -> tuple[float, float, int]:
    """(initialDelaySeconds, periodSeconds, failureThreshold) with the API defaults."""
    return (
        float(probe.get("initialDelaySeconds") or 0),
        float(probe.get("periodSeconds") or 10),
        int(probe.get("failureThreshold") or 3),
    )
