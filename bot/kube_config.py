"""A kubeconfig's files and context, checked before the Kubernetes client reads them.

The client's own loader says "Invalid kube-config file. Expected key current-context" for a file that is
not there, and "Expected object with name … in … contexts list" for a context the file lacks: the operator
is told neither the path it looked for nor the contexts there are. These checks name both.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from kubernetes.aio.config import kube_config as client_config

from bot.errors import ClusterUnavailable
from bot.i18n import Message

#: kubectl's default, used when neither a path nor $KUBECONFIG names one.
DEFAULT = "~/.kube/config"


def kubeconfig_files(path: Path | None) -> str:
    """The kubeconfig to load: `path`, else $KUBECONFIG (a list of files, separated as PATH is, merged as
    kubectl does, skipping those that are missing), else ~/.kube/config. Raises ClusterUnavailable naming
    the file when none of them exists."""
    given = str(path) if path is not None else os.environ.get("KUBECONFIG") or DEFAULT
    files = [Path(part).expanduser() for part in given.split(os.pathsep) if part]
    if not any(file.exists() for file in files):
        shown = ", ".join(map(str, files))
        detail = (
            f"kubeconfig file {shown} does not exist"
            if len(files) == 1
            else f"none of the kubeconfig files {shown} exists"
        )
        raise ClusterUnavailable(detail, reason=Message("cluster.kubeconfig_missing", {"path": shown}))
    return os.pathsep.join(map(str, files))


def check_context(files: str, context: str | None) -> None:
    """Raises ClusterUnavailable naming `context` and the contexts the kubeconfig has when it has not that
    one; with no context given, when the kubeconfig names no current context to fall back on."""
    try:
        merged = client_config.KubeConfigMerger(files).config  # type: ignore[no-untyped-call]  # merged as the loader does
        contexts = merged.value.get("contexts") or []
        current = merged.value.get("current-context")
        names = sorted(str(c["name"]) for c in contexts)
    except (OSError, yaml.YAMLError, AttributeError, TypeError, KeyError):
        return  # not a kubeconfig: the loader's own error says what it found
    known = ", ".join(names) or "none"
    if context is not None and context not in names:
        raise ClusterUnavailable(
            f"kubeconfig {files} has no context {context!r}; its contexts: {known}",
            reason=Message("cluster.context_missing", {"context": context, "known": known}),
        )
    if context is None and not current:
        raise ClusterUnavailable(
            f"kubeconfig {files} names no current-context and no context was chosen; its contexts: {known}",
            reason=Message("cluster.no_current_context", {"known": known}),
        )
