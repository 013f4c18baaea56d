"""The nodes' own files, and the shell a container runs on them through its hostPath mounts.

A node's filesystem holds what the kubelet reads outside the API: the static Pod manifests in
``/etc/kubernetes/manifests`` (``static_pods.py``). A container reaches it only through ``hostPath``
volumes, so the same paths a real privileged Pod would touch are the ones changed here.

The shell is busybox ``sh -c`` for the commands a maintenance script uses on files (``set``, ``test``/``[``,
``cp``, ``mv``, ``rm``, ``mkdir``, ``cat``, ``echo``, ``sed`` with ``s`` expressions, ``grep -q``), lines
joined by ``&&``/``||``, ``>`` redirection, and ``set -e`` semantics (a failing line ends the script with
its status; busybox prints ``<cmd>: <path>: No such file or directory``). Anything else is
``sh: <cmd>: not found`` (127), so a script relying on more fails loudly instead of pretending to work.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The directory the kubelet watches for static Pods (kubeadm's and kind's `staticPodPath`).
MANIFESTS = "/etc/kubernetes/manifests"


@dataclass
class NodeFiles:
    """Every node's files: node name → absolute path → text."""

    files: dict[str, dict[str, str]] = field(default_factory=dict)

    def read(self, node: str, path: str) -> str | None:
        return self.files.get(node, {}).get(posixpath.normpath(path))

    def write(self, node: str, path: str, text: str) -> None:
        self.files.setdefault(node, {})[posixpath.normpath(path)] = text

    def remove(self, node: str, path: str) -> bool:
        return self.files.get(node, {}).pop(posixpath.normpath(path), None) is not None

    def listing(self, node: str, directory: str) -> dict[str, str]:
        """The files directly in ``directory`` (path → text), sorted by path."""
        prefix = posixpath.normpath(directory) + "/"
        return {
            path: text
            for path, text in sorted(self.files.get(node, {}).items())
            if path.startswith(prefix) and "/" not in path[len(prefix) :]
        }


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class ShellRun:
    exit_code: int
    output: str


def host_mounts(pod: Mapping[str, object], container: Mapping[str, object]) -> dict[str, str]:
    """The container's hostPath mounts: mountPath → the node's path."""
    spec = pod.get("spec") or {}
    assert isinstance(spec, dict)
    host = {
        str(v.get("name")): str((v.get("hostPath") or {}).get("path"))
        for v in spec.get("volumes") or []
        if v.get("hostPath")
    }
    mounts = container.get("volumeMounts") or []
    assert isinstance(mounts, list)
    return {str(m["mountPath"]): host[str(m.get("name"))] for m in mounts if str(m.get("name")) in host}


def run_script(script: str, *, node: str, files: NodeFiles, mounts: Mapping[str, str]) -> ShellRun:
    """Run ``sh -c script`` in a container whose hostPath ``mounts`` (mountPath → host path) are on ``node``."""
    shell = _Shell(node, files, mounts)
    try:
        for line in script.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            status = shell.line(line)
            if status != 0:
                raise _Exit(status)
    except _Exit as stop:
        return ShellRun(stop.code, "".join(shell.output))
    return ShellRun(0, "".join(shell.output))


class _Shell:
    def __init__(self, node: str, files: NodeFiles, mounts: Mapping[str, str]) -> None:
        self.node = node
        self.files = files
        # longest mount path first, so /a/b wins over /a
        self.mounts = sorted(mounts.items(), key=lambda m: -len(m[0]))
        self.output: list[str] = []

    def line(self, line: str) -> int:
        """A line of commands joined by && and ||, evaluated left to right as sh does."""
        parts = re.split(r"\s+(&&|\|\|)\s+", line)
        status = self.command(parts[0])
        for operator, command in zip(parts[1::2], parts[2::2], strict=True):
            if (operator == "&&" and status == 0) or (operator == "||" and status != 0):
                status = self.command(command)
        return status

    def host(self, path: str) -> str | None:
        path = posixpath.normpath(path)
        for mount, host in self.mounts:
            if path == mount or path.startswith(mount.rstrip("/") + "/"):
                return posixpath.normpath(host + path[len(mount) :])
        return None  # the container's own filesystem: nothing a node keeps

    def read(self, path: str) -> str | None:
        host = self.host(path)
        return None if host is None else self.files.read(self.node, host)

    def write(self, path: str, text: str) -> bool:
        host = self.host(path)
        if host is None:
            return False
        self.files.write(self.node, host, text)
        return True

    def missing(self, command: str, path: str) -> int:
        self.output.append(f"{command}: {path}: No such file or directory\n")
        return 1

    def command(self, text: str) -> int:
        words = shlex.split(text)
        redirect: str | None = None
        if len(words) >= 2 and words[-2] == ">":
            redirect, words = words[-1], words[:-2]
        if not words:
            return 0
        name, args = words[0], words[1:]
        if name == "set":
            return 0
        if name == "exit":
            raise _Exit(int(args[0]) if args else 0)
        if name in ("test", "["):
            args = args[:-1] if name == "[" and args and args[-1] == "]" else args
            negate = bool(args) and args[0] == "!"
            args = args[1:] if negate else args
            found = len(args) == 2 and args[0] in ("-f", "-e", "-s") and self.read(args[1]) is not None
            if found and args[0] == "-s":
                found = bool(self.read(args[1]))
            return int(found == negate)
        if name == "mkdir":
            return 0
        if name == "echo":
            return self.emit(" ".join(args) + "\n", redirect)
        if name == "cat":
            texts = [self.read(a) for a in args]
            for arg, content in zip(args, texts, strict=True):
                if content is None:
                    return self.missing("cat", arg)
            return self.emit("".join(t or "" for t in texts), redirect)
        if name in ("cp", "mv"):
            source, target = args[-2], args[-1]
            content = self.read(source)
            if content is None:
                return self.missing(name, source)
            if not self.write(target, content):
                return self.missing(name, target)
            if name == "mv":
                host = self.host(source)
                assert host is not None
                self.files.remove(self.node, host)
            return 0
        if name == "rm":
            force = "-f" in args
            for arg in (a for a in args if not a.startswith("-")):
                host = self.host(arg)
                if (host is None or not self.files.remove(self.node, host)) and not force:
                    return self.missing("rm", arg)
            return 0
        if name == "sed":
            return self.sed(args, redirect)
        if name == "grep":
            return self.grep(args)
        self.output.append(f"sh: {name}: not found\n")
        return 127

    def emit(self, text: str, redirect: str | None) -> int:
        if redirect is None:
            self.output.append(text)
            return 0
        return 0 if self.write(redirect, text) else self.missing("sh", redirect)

    def sed(self, args: list[str], redirect: str | None) -> int:
        """``sed [-i] -e 's<d>regex<d>replacement<d>[g]' ... FILE``: basic regular expressions whose only
        special characters here are ``.``, ``*``, ``^``, ``$`` (what Python's re reads the same way)."""
        in_place = "-i" in args
        expressions: list[str] = []
        rest = [a for a in args if a != "-i"]
        path = ""
        index = 0
        while index < len(rest):
            if rest[index] == "-e":
                expressions.append(rest[index + 1])
                index += 2
            else:
                path = rest[index]
                index += 1
        text = self.read(path)
        if text is None:
            return self.missing("sed", path)
        for expression in expressions:
            delimiter = expression[1]
            _, pattern, replacement, flags = expression.split(delimiter)
            count = 0 if "g" in flags else 1  # without g, the first match on each line
            text = "".join(
                re.sub(pattern, replacement.replace("\\", "\\\\"), line, count=count)
                for line in text.splitlines(keepends=True)
            )
        if in_place:
            self.write(path, text)
            return 0
        return self.emit(text, redirect)

    def grep(self, args: list[str]) -> int:
        """``grep -q [-F] [-e] PATTERN FILE``: 0 when a line matches, 1 when none does."""
        fixed = "-F" in args
        words = [a for a in args if a not in ("-q", "-F", "-e")]
        pattern, path = words[0], words[1]
        text = self.read(path)
        if text is None:
            self.output.append(f"grep: {path}: No such file or directory\n")
            return 2
        lines = text.splitlines()
        found = any(pattern in line if fixed else re.search(pattern, line) for line in lines)
        return 0 if found else 1
