"""The simulated image registry: which images exist and how their containers behave once started."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Image:
    """What a container from this image does.

    :param http_ports: ports it answers HTTP on (``http_paths`` → 200, any other path → 404).
    :param tcp_ports: ports it accepts TCP connections on (HTTP ports are TCP ports too).
    :param required_env: groups of env names; each group needs at least one set, else the process
        exits 1 right after start (``CrashLoopBackOff``), printing ``env_error``.
    :param runs_command: the image has no server of its own: its behaviour follows ``command``/``args``
        (a long ``sleep``, ``tail -f``, ``while true`` keep running; anything else exits).
    :param binaries: the executables of its server process; an explicit ``command`` that names none of
        them replaces the server (then the container serves nothing).
    :param memory: the working set once started; a memory limit below it is ``OOMKilled``.
    :param exit_after: how long a process that fails (missing env, a command that exits) runs first.
    :param program: a server whose ports and answers depend on the config it reads at start
        (``nginx``, ``fluent-bit``; see ``programs.py``).
    """

    http_ports: frozenset[int] = frozenset()
    http_paths: frozenset[str] = frozenset({"/", "/index.html"})
    tcp_ports: frozenset[int] = frozenset()
    required_env: tuple[tuple[str, ...], ...] = ()
    env_error: str = ""
    runs_command: bool = False
    binaries: tuple[str, ...] = ()
    memory: str = "16Mi"
    logs: tuple[str, ...] = ()
    exit_after: float = 0.0
    program: str = ""

    @property
    def listening(self) -> frozenset[int]:
        return self.http_ports | self.tcp_ports


_NGINX_LOGS = (
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
    "2025/01/01 00:00:00 [notice] 1#1: nginx/1.27.5",
    "2025/01/01 00:00:00 [notice] 1#1: start worker processes",
)


def default_images() -> dict[str, Image]:
    nginx = Image(
        http_ports=frozenset({80}),
        binaries=("nginx", "/docker-entrypoint.sh"),
        memory="8Mi",
        logs=_NGINX_LOGS,
        program="nginx",
    )
    return {
        "nginx:1.27-alpine": nginx,
        "nginx:1.27": nginx,
        "nginxinc/nginx-unprivileged:1.27-alpine": Image(
            http_ports=frozenset({8080}),
            binaries=("nginx", "/docker-entrypoint.sh"),
            memory="8Mi",
            logs=_NGINX_LOGS,
            program="nginx",
        ),
        "busybox:1.36": Image(runs_command=True, memory="1Mi"),
        "redis:7.4-alpine": Image(
            tcp_ports=frozenset({6379}),
            binaries=("redis-server", "docker-entrypoint.sh"),
            memory="8Mi",
            logs=("1:M 01 Jan 2025 00:00:00.000 * Ready to accept connections tcp",),
        ),
        "postgres:16-alpine": Image(
            tcp_ports=frozenset({5432}),
            binaries=("postgres", "docker-entrypoint.sh"),
            memory="64Mi",
            required_env=(("POSTGRES_PASSWORD", "POSTGRES_HOST_AUTH_METHOD"),),
            env_error=(
                "Error: Database is uninitialized and superuser password is not specified.\n"
                "       You must specify POSTGRES_PASSWORD to a non-empty value for the\n"
                '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".'
            ),
            logs=("LOG:  database system is ready to accept connections",),
        ),
        "mongo:7.0": Image(
            tcp_ports=frozenset({27017}),
            binaries=("mongod", "docker-entrypoint.sh"),
            memory="160Mi",
            logs=(
                '{"t":{"$date":"2025-01-01T00:00:00.000+00:00"},"s":"I","c":"NETWORK","msg":"Waiting for '
                'connections","attr":{"port":27017}}',
            ),
        ),
        "registry.k8s.io/pause:3.10": Image(binaries=("/pause",), memory="1Mi"),
        # The control plane's static Pods (kind v0.29 node image, Kubernetes v1.33.1).
        "registry.k8s.io/kube-apiserver:v1.33.1": Image(
            binaries=("kube-apiserver",), memory="256Mi", program="kube-apiserver", exit_after=20.0
        ),
        "registry.k8s.io/etcd:3.5.21-0": Image(tcp_ports=frozenset({2379, 2380}), binaries=("etcd",), memory="64Mi"),
        # The monitoring stack a build deploys: Prometheus and Alertmanager answer their readiness and health
        # endpoints (web/web.go: /-/ready, /-/healthy), Grafana its /api/health and login page.
        "prom/prometheus:v2.55.1": Image(
            http_ports=frozenset({9090}),
            http_paths=frozenset({"/", "/graph", "/-/ready", "/-/healthy", "/metrics"}),
            binaries=("/bin/prometheus",),
            memory="48Mi",
            logs=(
                'ts=2025-01-01T00:00:00.000Z caller=main.go:1324 level=info msg="Server is ready to receive web requests."',  # noqa: E501
            ),
        ),
        "prom/alertmanager:v0.27.0": Image(
            http_ports=frozenset({9093}),
            http_paths=frozenset({"/", "/-/ready", "/-/healthy", "/metrics"}),
            binaries=("/bin/alertmanager",),
            memory="16Mi",
            logs=(
                'ts=2025-01-01T00:00:00.000Z caller=tls_config.go:313 level=info msg="Listening on" address=[::]:9093',
            ),
        ),
        "grafana/grafana:11.3.0": Image(
            http_ports=frozenset({3000}),
            http_paths=frozenset({"/", "/login", "/api/health"}),
            binaries=("/run.sh", "grafana", "grafana-server"),
            memory="64Mi",
            logs=(
                'logger=http.server t=2025-01-01T00:00:00.000Z level=info msg="HTTP Server Listen" address=[::]:3000',
            ),
        ),
    }


@functools.lru_cache(maxsize=1024)
def normalize(reference: str) -> str:
    """``docker.io/library/nginx:1.27`` → ``nginx:1.27``; no tag → ``:latest``. (Cached: every kubelet step asks.)"""
    ref = reference.strip()
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    if ref.startswith("library/"):
        ref = ref[len("library/") :]
    last = ref.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        ref += ":latest"
    return ref


def full_reference(reference: str) -> str:
    """What containerd reports: ``docker.io/library/nginx:1.27-alpine``."""
    ref = normalize(reference)
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def image_id(reference: str) -> str:
    name = full_reference(reference).rsplit(":", 1)[0]
    return f"{name}@sha256:{hashlib.sha256(normalize(reference).encode()).hexdigest()}"


FLUENT_BIT = Image(
    binaries=("/fluent-bit/bin/fluent-bit", "fluent-bit"),
    memory="16Mi",
    logs=("Fluent Bit v3.2.0", "[ info] [fluent bit] version=3.2.0, commit=, pid=1"),
    program="fluent-bit",
)


def default_families() -> dict[str, Image]:
    """Repositories whose every tag exists (``fluent/fluent-bit:3.2``, ``fluent/fluent-bit:latest``)."""
    return {"fluent/fluent-bit": FLUENT_BIT}


# github.com/distribution/reference regexp.go (what the kubelet's parsers.ParseImageName uses).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)


def reference_error(reference: str) -> str | None:
    """The kubelet's ``InvalidImageName`` message for a reference it cannot parse, else None.

    kubernetes/kubernetes pkg/kubelet/images/image_manager.go (v1.33) ``Failed to apply default image
    tag %q: %v`` around pkg/util/parsers/parsers.go ``couldn't parse image name %q: %v``.
    """
    if _REFERENCE.match(reference):
        return None
    detail = "repository name must be lowercase" if _REFERENCE.match(reference.lower()) else "invalid reference format"
    return f'Failed to apply default image tag "{reference}": couldn\'t parse image name "{reference}": {detail}'


@dataclass
class ImageRegistry:
    images: dict[str, Image] = field(default_factory=default_images)
    families: dict[str, Image] = field(default_factory=default_families)

    def add(self, reference: str, image: Image) -> None:
        self.images[normalize(reference)] = image

    def remove(self, reference: str) -> None:
        self.images.pop(normalize(reference), None)

    def get(self, reference: str) -> Image | None:
        name = normalize(reference)
        found = self.images.get(name)
        if found is None and "@" not in name:
            found = self.families.get(name.rsplit(":", 1)[0])
        return found


# --- what a command does ------------------------------------------------------------------------

_RUNS_FOREVER = (
    re.compile(r"\bsleep\s+(infinity|inf|\d{3,}[smhd]?|\d+[hd])\b"),
    re.compile(r"\btail\s+-f\b"),
    re.compile(r"\bwhile\s+(true|:|\[\s*1\s*\])"),
    re.compile(r"\buntil\b"),
    re.compile(r"\bhttpd\s+-f\b"),
    re.compile(r"\bnc\s+-l"),
    re.compile(r"\bsleep\s+\d+\s*;\s*done\b"),
)


@dataclass(frozen=True)
class Outcome:
    running: bool
    exit_code: int = 0
    serves: bool = False  # the image's own server runs (ports answer)


def command_outcome(image: Image, command: Iterable[str] | None, args: Iterable[str] | None) -> Outcome:
    words = [*(command or []), *(args or [])]
    text = " ".join(words)
    if not image.runs_command and not command:
        return Outcome(running=True, serves=True)
    if not image.runs_command and any(b in text for b in image.binaries):
        return Outcome(running=True, serves=True)
    if not words:  # busybox's default command is `sh`, which exits at once without a terminal
        return Outcome(running=False, exit_code=0)
    if any(pattern.search(text) for pattern in _RUNS_FOREVER):
        return Outcome(running=True)
    exited = re.search(r"\bexit\s+(\d+)", text)
    if exited:
        return Outcome(running=False, exit_code=int(exited.group(1)))
    if re.search(r"(^|[;&|\s])false(\s|$|;)", text):
        return Outcome(running=False, exit_code=1)
    return Outcome(running=False, exit_code=0)
