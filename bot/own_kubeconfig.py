"""A team's own kubeconfig: read, cut down to one context, and checked to work from inside the bot's pod.

What the bot keeps of a kubeconfig is one context, its cluster and its user, with everything inline: a
file named by a path (a CA, a client certificate, a token file) exists on the instructor's machine, not in
the bot's pod, so `from_file` reads it in (as `kubectl config view --flatten --minify` does) and a Secret
that still names one is refused. A user that runs a command (`exec`) or an `auth-provider` is refused too:
the bot's image has no cloud CLI, and a kubeconfig must not be a way to run a program in the bot's pod.

No error says more of a kubeconfig than where it came from and the names of its context, cluster and user:
never a token, a key or a certificate.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KubecampError
from bot.i18n import Message

#: The Secret's key that holds the kubeconfig, and the optional one naming its context.
KUBECONFIG_KEY = "kubeconfig"
CONTEXT_KEY = "context"

#: kubeconfig fields naming a file, and the field that holds the same inline.
_FILE_FIELDS = {
    "certificate-authority": "certificate-authority-data",
    "client-certificate": "client-certificate-data",
    "client-key": "client-key-data",
    "tokenFile": "token",
}
_COMMANDS = ("exec", "auth-provider")


class KubeconfigInvalid(KubecampError):
    """A kubeconfig the bot cannot use; the message says which and why, without a credential in it."""

    def __init__(self, detail: str, *, message: Message) -> None:
        super().__init__(detail)
        self.message = message


def from_file(path: Path, *, context: str | None = None) -> dict[str, Any]:
    """The kubeconfig file cut down to `context` (default: its current context), its files read in."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KubeconfigInvalid(
            f"the kubeconfig file {path} does not exist",
            message=Message("kubeconfig.missing_file", {"path": str(path)}),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigInvalid(
            f"{path}: cannot read it ({type(exc).__name__})",
            message=Message("kubeconfig.unreadable", {"where": str(path)}),
        ) from None
    return _one_context(_parse(text, where=str(path)), context, where=str(path), base=path.parent)


def from_text(text: str, *, context: str | None, where: str) -> dict[str, Any]:
    """A kubeconfig kept in a Secret, cut down to `context`: it must name no file."""
    return _one_context(_parse(text, where=where), context, where=where, base=None)


def _parse(text: str, *, where: str) -> dict[str, Any]:
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        config = None
    if not isinstance(config, dict) or not isinstance(config.get("contexts"), list):
        raise KubeconfigInvalid(
            f"{where}: not a kubeconfig (YAML with contexts, clusters and users)",
            message=Message("kubeconfig.not_kubeconfig", {"where": where}),
        )
    return config


def _named(config: dict[str, Any], section: str, name: object) -> dict[str, Any] | None:
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _one_context(config: dict[str, Any], context: str | None, *, where: str, base: Path | None) -> dict[str, Any]:
    name = context or config.get("current-context")
    chosen = _named(config, "contexts", name) if name else None
    if chosen is None or not isinstance(chosen.get("context"), dict):
        contexts = ", ".join(str(c.get("name")) for c in config["contexts"] if isinstance(c, dict)) or "-"
        raise KubeconfigInvalid(
            f"{where}: no context {name!r} (it has: {contexts})",
            message=Message(
                "kubeconfig.no_context", {"where": where, "context": str(name or "-"), "contexts": contexts}
            ),
        )
    cluster = _named(config, "clusters", chosen["context"].get("cluster"))
    user = _named(config, "users", chosen["context"].get("user"))
    if (
        cluster is None
        or user is None
        or not isinstance(cluster.get("cluster"), dict)
        or not isinstance(user.get("user"), dict)
        or not str(cluster["cluster"].get("server") or "").startswith(("https://", "http://"))
    ):
        raise KubeconfigInvalid(
            f"{where}: context {name!r} lacks its cluster (with a server URL) or its user",
            message=Message("kubeconfig.incomplete", {"where": where, "context": str(name)}),
        )
    user_fields = dict(user["user"])
    for field in _COMMANDS:
        if field in user_fields:
            raise KubeconfigInvalid(
                f"{where}: user {user.get('name')!r} authenticates with {field}",
                message=Message(
                    "kubeconfig.runs_command", {"where": where, "user": str(user.get("name")), "field": field}
                ),
            )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": cluster["name"], "cluster": _inline(dict(cluster["cluster"]), where=where, base=base)}],
        "contexts": [{"name": name, "context": dict(chosen["context"])}],
        "users": [{"name": user["name"], "user": _inline(user_fields, where=where, base=base)}],
    }


def _inline(fields: dict[str, Any], *, where: str, base: Path | None) -> dict[str, Any]:
    """The fields with every file they name read in (`base`: the kubeconfig's folder), or refused without one."""
    for field, inline in _FILE_FIELDS.items():
        if field not in fields:
            continue
        named = Path(str(fields.pop(field))).expanduser()
        if base is None:
            raise KubeconfigInvalid(
                f"{where}: {field} names a file, which the bot's pod does not have",
                message=Message("kubeconfig.file_reference", {"where": where, "field": field}),
            )
        try:
            content = (named if named.is_absolute() else base / named).read_bytes()
        except OSError:
            raise KubeconfigInvalid(
                f"{where}: {field} names {named}, which cannot be read",
                message=Message("kubeconfig.missing_file", {"path": str(named)}),
            ) from None
        fields[inline] = content.decode().strip() if inline == "token" else base64.b64encode(content).decode()
    return fields


def dump(config: dict[str, Any]) -> str:
    """The kubeconfig as YAML, as a Secret keeps it."""
    return yaml.safe_dump(config, sort_keys=False)
