"""What a running container listens on and answers, from its image and the config files it read at start.

``Listeners`` maps a port to its HTTP routes (path -> status; ``"*"`` answers any other path, else 404),
or to None for a port that accepts TCP but does not speak HTTP.
"""

from __future__ import annotations

import datetime
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence

from .images import Image
from .resources import Obj
from .static_pods import apiserver_failure, apiserver_port

Routes = dict[str, int]
Listeners = dict[int, Routes | None]
Dial = Callable[[str, int], str | None]  # (host, port) dialled from the container -> why it fails, or None


def listeners(image: Image, files: Mapping[str, str], dial: Dial, words: Sequence[str] = ()) -> Listeners:
    """``words``: the container's command and args (a server may be pointed at another config file)."""
    if image.program == "nginx":
        configured = _nginx_ports(files)
        if configured:
            return {port: {"*": 200} for port in configured}
    if image.program == "fluent-bit":
        return fluent_bit_listeners(files.get(fluent_bit_config_path(words), ""), dial)
    if image.program == "kube-apiserver":
        if apiserver_failure(list(words)) is not None:
            return {}
        return {apiserver_port(list(words)): {"/livez": 200, "/readyz": 200, "/healthz": 200}}
    served: Listeners = {port: dict.fromkeys(image.http_paths, 200) for port in image.http_ports}
    for port in image.tcp_ports:
        served.setdefault(port, None)
    return served


def program_failure(image: Image, words: Sequence[str]) -> str | None:
    """What a server prints before it exits because of how it was started, or None when it keeps running."""
    if image.program == "kube-apiserver":
        return apiserver_failure(list(words))
    return None


def program_logs(
    image: Image, files: Mapping[str, str], dial: Dial, started: datetime.datetime, words: Sequence[str] = ()
) -> list[str]:
    """The log of a server that runs: its image's lines, or what its config made it say."""
    if image.program == "fluent-bit":
        return fluent_bit_logs(files.get(fluent_bit_config_path(words), ""), dial, started)
    return list(image.logs)


def _nginx_ports(files: Mapping[str, str]) -> set[int]:
    """``listen`` directives of a mounted nginx config (``/etc/nginx/...``).

    A config of its own is taken to answer every path with 200 (what a stub's ``return 200`` does); the
    locations of a real site are not modelled.
    """
    ports: set[int] = set()
    for path, text in files.items():
        if path.startswith("/etc/nginx/"):
            for match in re.finditer(r"^\s*listen\s+(?:[\w.\[\]:]*:)?(\d+)", text, re.MULTILINE):
                ports.add(int(match.group(1)))
    return ports


# --- Fluent Bit -----------------------------------------------------------------------------------
# fluent/fluent-bit (v3.2): src/http_server/api/v1/health.c answers /api/v1/health with 200 "ok" or 500
# "error" once, within HC_Period seconds, more output errors than HC_Errors_Count or more retry failures
# than HC_Retry_Failure_Count happened; the HTTP server (HTTP_Server, default Off, HTTP_Port 2020) is
# configured in [SERVICE] and read once at start.

FLUENT_BIT_CONFIG = "/fluent-bit/etc/fluent-bit.conf"  # the image's CMD: fluent-bit -c <this>


def fluent_bit_config_path(words: Sequence[str]) -> str:
    """The file ``-c``/``--config`` names, else the image's default."""
    for index, word in enumerate(words):
        if word in ("-c", "--config") and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--config="):
            return word.split("=", 1)[1]
    return FLUENT_BIT_CONFIG


def parse_fluent_bit(text: str) -> list[tuple[str, dict[str, str]]]:
    """The classic format: ``[SECTION]`` headers, then ``Key Value`` lines (keys case-insensitive)."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("@"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            sections.append((header.group(1).upper(), {}))
            continue
        if sections:
            key, _, value = line.partition(" ")
            sections[-1][1][key.lower()] = value.strip()
    return sections


def _on(value: str | None) -> bool:
    return (value or "").lower() in ("on", "true", "yes", "1")


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default


def fluent_bit_listeners(config: str, dial: Dial) -> Listeners:
    sections = parse_fluent_bit(config)
    service = next((keys for name, keys in sections if name == "SERVICE"), {})
    if not _on(service.get("http_server")):
        return {}
    port = int(_number(service.get("http_port"), 2020))
    routes: Routes = {"/": 200, "/api/v1/uptime": 200, "/api/v1/metrics": 200}
    if _on(service.get("health_check")):
        routes["/api/v1/health"] = 500 if _fluent_bit_failures(sections, service, dial) else 200
    return {port: routes}


def _es_outputs(sections: list[tuple[str, dict[str, str]]]) -> list[tuple[str, int, int]]:
    """(host, port, index among outputs) of the ``es`` outputs; Host defaults to 127.0.0.1, Port to 9200."""
    outputs = [keys for name, keys in sections if name == "OUTPUT"]
    return [
        (keys.get("host", "127.0.0.1"), int(_number(keys.get("port"), 9200)), index)
        for index, keys in enumerate(outputs)
        if keys.get("name", "").lower() in ("es", "elasticsearch")
    ]


def _fluent_bit_failures(sections: list[tuple[str, dict[str, str]]], service: dict[str, str], dial: Dial) -> bool:
    """Whether a period holds more failed flushes than HC_Errors_Count/HC_Retry_Failure_Count allow.

    An output that cannot reach its host fails every flush (``Flush``, default 1 s), so the period
    holds ``HC_Period / Flush`` errors; an output that connects is taken to succeed (the stub's
    answer is not parsed).
    """
    period = _number(service.get("hc_period"), 60)
    flush = _number(service.get("flush"), 1) or 1
    allowed = min(_number(service.get("hc_errors_count"), 5), _number(service.get("hc_retry_failure_count"), 5))
    failing = [host for host, port, _ in _es_outputs(sections) if dial(host, port) is not None]
    return bool(failing) and period / flush > allowed


def fluent_bit_logs(config: str, dial: Dial, started: datetime.datetime) -> list[str]:
    """What ``kubectl logs`` shows: the banner, then one failed flush per unreachable ``es`` output.

    Wording from fluent/fluent-bit v3.2 src/flb_network.c (``getaddrinfo(host='%s', err=%i): %s``,
    ``TCP connection failed: %s:%i (%s)``), src/flb_upstream.c and src/flb_engine.c.
    """
    stamp = started.strftime("[%Y/%m/%d %H:%M:%S]")
    lines = [
        "Fluent Bit v3.2.0",
        "* Copyright (C) 2015-2024 The Fluent Bit Authors",
        f"{stamp} [ info] [fluent bit] version=3.2.0, commit=, pid=1",
        f"{stamp} [ info] [sp] stream processor started",
    ]
    sections = parse_fluent_bit(config)
    inputs = [keys.get("name", "") for name, keys in sections if name == "INPUT"] or ["cpu"]
    for host, port, index in _es_outputs(sections):
        error = dial(host, port)
        if error is None:
            continue
        if error == "Domain name not found":
            lines.append(f"{stamp} [ warn] [net] getaddrinfo(host='{host}', err=4): Domain name not found")
        else:
            lines.append(f"{stamp} [error] [net] TCP connection failed: {host}:{port} ({error})")
        lines.append(f"{stamp} [error] [output:es:es.{index}] no upstream connections available")
        lines.append(
            f"{stamp} [ warn] [engine] failed to flush chunk '1-{int(started.timestamp())}.000000000.flb', "
            f"retry in 10 seconds: task_id=0, input={inputs[0]}.0 > output=es.{index} (out_id={index})"
        )
    return lines


def mounted_files(pod: Obj, container: Obj, data: Callable[[str], dict[str, str] | None]) -> dict[str, str]:
    """The ConfigMap files a container sees, by absolute path (``data`` gives a ConfigMap's data)."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        source = (volumes.get(mount.get("name")) or {}).get("configMap")
        if not source:
            continue
        content = data(str(source.get("name", ""))) or {}
        items = source.get("items")
        paths = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in content}
        base = str(mount.get("mountPath", "/"))
        sub = mount.get("subPath")
        for key, path in paths.items():
            if key not in content:
                continue
            if sub:
                if path == sub:
                    files[base] = content[key]
                continue
            files[posixpath.join(base, path)] = content[key]
    return files
