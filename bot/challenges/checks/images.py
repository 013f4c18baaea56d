"""What a container image is and where it listens, read from its reference.

A declared `containerPort` is informational: the process listens where its image makes it listen. For
the images the course uses, the port is known (nginx 80, nginx-unprivileged 8080, redis 6379,
postgres 5432, mongo 27017: each image's documented default), so a Service or probe aimed elsewhere is
judged by what really serves, not by what the manifest declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LISTENING_PORTS: dict[str, frozenset[int]] = {
    "nginx": frozenset({80}),
    "nginxinc/nginx-unprivileged": frozenset({8080}),
    "redis": frozenset({6379}),
    "postgres": frozenset({5432}),
    "mongo": frozenset({27017}),
}


def repository(reference: str) -> str:
    """`docker.io/library/nginx:1.27-alpine@sha256:…` → `nginx`; `ghcr.io/x/y:1` → `ghcr.io/x/y`."""
    name = reference.split("@", 1)[0]
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1 :]:
        name = name[: name.rfind(":")]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def listening_ports(reference: str) -> frozenset[int] | None:
    """The ports the image's process listens on, when the image is one the course knows."""
    return LISTENING_PORTS.get(repository(reference))


def served_ports(container: Mapping[str, Any]) -> set[int]:
    """Where the container's process listens: by its image when known, else its declared ports.

    A container that changes how the image starts (its own command or args, a configuration mounted
    over /etc) may listen elsewhere: its declared ports count too.
    """
    declared = {int(port["containerPort"]) for port in container.get("ports") or []}
    known = listening_ports(str(container.get("image") or ""))
    if known is None:
        return declared
    customised = (
        container.get("command")
        or container.get("args")
        or any(str(mount.get("mountPath", "")).startswith("/etc/") for mount in container.get("volumeMounts") or [])
    )
    return set(known) | declared if customised else set(known)
