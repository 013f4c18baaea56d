"""What a `scope: cluster` scenario breaks outside the team's namespace: the catalogue's `breaks:` entries.

Each entry is a one-key mapping, like a check (`- taint_node: {node: 1, key: maintenance, ...}`). The
objects and scripts a break uses are built here, from the entry alone; `bot.challenges.breaking` applies
them through the API of a team's own cluster and undoes them at `stop`.

- `taint_node`: the `node`-th worker node (Ready, schedulable, untainted, ordered by name) gets the `label`
  the scenario's Deployment selects, and a taint nothing in the scenario tolerates.
- `exhaust_node`: the `node`-th worker gets the `label`, and a DaemonSet of `pause` Pods selecting that label
  requests what is left of its allocatable CPU and memory but `leave_cpu` and `leave_memory`.
- `edit_static_pod`: on the first control-plane node, a privileged Pod with hostPath mounts of
  /etc/kubernetes/manifests and /etc/kubernetes/kubecamp copies the manifest to the second (once), then
  replaces each `--flag=from` with `--flag=to` and moves the result over the manifest in one rename (the
  kubelet ignores the hidden file it writes first). It changes nothing if a flag is not there as expected.
  The restore Pod moves the saved copy back.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: The namespace the bot creates on a team's own cluster for what a break runs (Pod Security: privileged).
BREAKS_NAMESPACE = "kubecamp-breaks"
#: Where the bot notes on a node what it changed there, for `stop` and for an instructor reading the node.
BREAK_ANNOTATION = "kubecamp.io/break"
#: The kubelet's static Pod folder (kubeadm, kind), and where the original manifest is kept meanwhile.
MANIFESTS_DIR = "/etc/kubernetes/manifests"
BACKUP_DIR = "/etc/kubernetes/kubecamp"
#: A small image with a POSIX shell, cp, mv, sed and grep; `pause` requests resources and does nothing.
SHELL_IMAGE = "busybox:1.36"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"

_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
_LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
_FLAG_VALUE = r"^[A-Za-z0-9:/.,=_-]{1,200}$"


class BreakSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    break_name: ClassVar[str]
    #: Whether the API server stops answering once it is applied: such a break goes in after everything else.
    takes_api_down: ClassVar[bool] = False


class OnWorker(BreakSpec):
    #: Which worker node, counted from 0 in name order among the Ready, schedulable, untainted ones.
    node: int = Field(default=0, ge=0, le=9)
    #: The label put on that node, which the scenario's Deployment selects.
    label: dict[str, str] = Field(min_length=1, max_length=1)

    @field_validator("label")
    @classmethod
    def _label(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label_value in value.items():
            if not re.match(_LABEL_KEY, key) or not re.match(_LABEL_VALUE, label_value):
                raise ValueError(f"{key}={label_value} is not a valid node label")
        return value


class TaintNode(OnWorker):
    break_name = "taint_node"
    key: str = Field(pattern=_LABEL_KEY)
    value: str = Field(default="", pattern=_LABEL_VALUE)
    effect: Literal["NoSchedule", "NoExecute"] = "NoSchedule"

    def taint(self) -> dict[str, str]:
        return {"key": self.key, **({"value": self.value} if self.value else {}), "effect": self.effect}


class ExhaustNode(OnWorker):
    break_name = "exhaust_node"
    #: The DaemonSet's name, in BREAKS_NAMESPACE: what a student finds in `kubectl describe node`.
    name: str = Field(default="node-hog", pattern=r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
    leave_cpu: str = "50m"
    leave_memory: str = "64Mi"


class FlagEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    from_: str = Field(alias="from", pattern=_FLAG_VALUE)
    to: str = Field(pattern=_FLAG_VALUE)


class EditStaticPod(BreakSpec):
    break_name = "edit_static_pod"
    takes_api_down = True
    #: The file in /etc/kubernetes/manifests.
    manifest: Literal["kube-apiserver.yaml"] = "kube-apiserver.yaml"
    flags: dict[str, FlagEdit] = Field(min_length=1)

    @field_validator("flags")
    @classmethod
    def _flag_names(cls, value: dict[str, FlagEdit]) -> dict[str, FlagEdit]:
        for name in value:
            if not re.match(r"^[a-z][a-z0-9-]{0,60}$", name):
                raise ValueError(f"{name!r} is not a command-line flag name")
        return value

    @property
    def saved(self) -> str:
        return f"{BACKUP_DIR}/{self.manifest}"

    def break_script(self) -> str:
        """Keep the original once, check every flag is there as expected, write the broken copy beside it as a
        hidden file (the kubelet reads no hidden file) and rename it over the manifest."""
        live, saved, staged = f"/manifests/{self.manifest}", f"/backup/{self.manifest}", f"/manifests/.{self.manifest}"
        lines = ["set -eu", f"test -f {saved} || cp {live} {saved}"]
        lines += [f"grep -q -F -e '--{name}={edit.from_}' {saved}" for name, edit in self.flags.items()]
        expressions = " ".join(
            f"-e 's|--{name}={_sed_escape(edit.from_)}$|--{name}={edit.to}|'" for name, edit in self.flags.items()
        )
        lines += [f"sed {expressions} {saved} > {staged}", f"mv {staged} {live}"]
        return "\n".join(lines) + "\n"

    def restore_script(self) -> str:
        live, saved, staged = f"/manifests/{self.manifest}", f"/backup/{self.manifest}", f"/manifests/.{self.manifest}"
        return "\n".join(["set -eu", f"cp {saved} {staged}", f"mv {staged} {live}", f"rm {saved}"]) + "\n"


def _sed_escape(value: str) -> str:
    """A flag value as a basic regular expression matching only itself."""
    return re.sub(r"([.*^$\[\]\\])", r"\\\1", value)


BREAKS: dict[str, type[BreakSpec]] = {cls.break_name: cls for cls in (TaintNode, ExhaustNode, EditStaticPod)}


def parse_break(raw: object) -> BreakSpec:
    """`{break_name: {args}}` → a validated BreakSpec; ValueError with a readable reason otherwise."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError("a break is a mapping with exactly one key, the break's name: {taint_node: {...}}")
    ((name, args),) = raw.items()
    cls = BREAKS.get(str(name))
    if cls is None:
        raise ValueError(f"unknown break {name!r}; known breaks: {', '.join(sorted(BREAKS))}")
    if not isinstance(args, dict):
        raise ValueError(f"{name}: arguments must be a mapping, got {type(args).__name__}")
    try:
        return cls.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise ValueError(f"{name}.{where}: {first['msg']}") from exc


def hostpath_pod(prefix: str, *, node: str, script: str, purpose: str) -> dict[str, Any]:
    """A privileged Pod (named `prefix` and a suffix the API server picks) pinned to a control-plane node, with
    the static Pod folder and the bot's backup folder of that node mounted, that runs `script` once."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": prefix,
            "namespace": BREAKS_NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "kubecamp-bot", "kubecamp.io/purpose": purpose},
        },
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"kubernetes.io/hostname": node, CONTROL_PLANE_LABEL: ""},
            "tolerations": [{"key": CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "edit",
                    "image": SHELL_IMAGE,
                    "command": ["sh", "-c", script],
                    "securityContext": {"privileged": True},
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "volumeMounts": [
                        {"name": "manifests", "mountPath": "/manifests"},
                        {"name": "backup", "mountPath": "/backup"},
                    ],
                }
            ],
            "volumes": [
                {"name": "manifests", "hostPath": {"path": MANIFESTS_DIR, "type": "Directory"}},
                {"name": "backup", "hostPath": {"path": BACKUP_DIR, "type": "DirectoryOrCreate"}},
            ],
        },
    }


def hog_daemonset(spec: ExhaustNode, *, cpu: str, memory: str) -> dict[str, Any]:
    """The DaemonSet whose one Pod (on the labelled node) takes the node's allocatable resources."""
    labels = {"app": spec.name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": spec.name,
            "namespace": BREAKS_NAMESPACE,
            "labels": {**labels, "app.kubernetes.io/managed-by": "kubecamp-bot"},
        },
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": dict(spec.label),
                    "containers": [
                        {
                            "name": "pause",
                            "image": PAUSE_IMAGE,
                            "resources": {"requests": {"cpu": cpu, "memory": memory}},
                        }
                    ],
                },
            },
        },
    }


def breaks_namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": BREAKS_NAMESPACE,
            "labels": {
                "app.kubernetes.io/managed-by": "kubecamp-bot",
                # the static Pod edit is a privileged Pod with hostPath mounts: only on a team's own cluster
                "pod-security.kubernetes.io/enforce": "privileged",
            },
        },
    }
