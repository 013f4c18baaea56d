"""Team namespaces enforce the baseline Pod Security Standard (bot/team_namespace.py): every Pod a namespaced
scenario makes, broken, previous or solved, must pass it, or the cluster refuses it and the scenario breaks in a
way its checks do not describe. Restricted is only warned about: the scenarios' Pods set no securityContext.

The rules are those of https://kubernetes.io/docs/concepts/security/pod-security-standards/ (baseline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.breaks import hostpath_pod
from bot.team_namespace import NamespaceSetup
from tests.scenarios.test_catalogue_behaviour import CATALOG

SCENARIOS = Path(__file__).parents[2] / "scenarios"

# The capabilities baseline allows a container to add (the container runtime's default set).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def pod_spec(body: dict[str, Any]) -> dict[str, Any] | None:
    if body["kind"] == "Pod":
        spec: dict[str, Any] = body["spec"]
        return spec
    if body["kind"] in POD_TEMPLATE_KINDS:
        template: dict[str, Any] = body["spec"]["template"]["spec"]
        return template
    if body["kind"] == "CronJob":
        job: dict[str, Any] = body["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return job
    return None


def baseline_violations(spec: dict[str, Any]) -> list[str]:
    problems = [f"{field} is true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    problems += [f"volume {v['name']} is a hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]
    pod_sc = spec.get("securityContext") or {}
    problems += [f"sysctl {s['name']}" for s in pod_sc.get("sysctls") or [] if s["name"] not in SAFE_SYSCTLS]
    for context in [pod_sc] + [c.get("securityContext") or {} for c in _containers(spec)]:
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append("seccompProfile is Unconfined")
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append("appArmorProfile is Unconfined")
        selinux = context.get("seLinuxOptions") or {}
        if selinux.get("user") or selinux.get("role"):
            problems.append("seLinuxOptions sets a user or role")
        if (context.get("windowsOptions") or {}).get("hostProcess"):
            problems.append("a Windows hostProcess")
    for container in _containers(spec):
        context = container.get("securityContext") or {}
        name = container["name"]
        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        added = set((context.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            problems.append(f"{name}: adds {sorted(added)}")
        if context.get("procMount") not in (None, "Default"):
            problems.append(f"{name}: procMount {context['procMount']}")
        problems += [f"{name}: hostPort {p['hostPort']}" for p in container.get("ports") or [] if p.get("hostPort")]
    return problems


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(spec.get("initContainers") or []), *spec["containers"], *(spec.get("ephemeralContainers") or [])]


POD_MANIFESTS = [
    pytest.param(manifest.body, id=f"{challenge.id}-{scenario.id}-{state}-{manifest.ref}")
    for challenge in CATALOG
    for scenario in challenge.scenarios
    if scenario.spec.scope != "cluster"  # never applied in a team namespace
    for state, manifests in (
        ("previous", scenario.previous),
        ("broken", scenario.manifests),
        ("solution", scenario.solution),
    )
    for manifest in manifests
    if pod_spec(manifest.body) is not None
]


def test_team_namespaces_enforce_baseline() -> None:
    labels = NamespaceSetup().namespace("kubecamp-blue", team="blue")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"


@pytest.mark.parametrize("body", POD_MANIFESTS)
def test_every_scenario_pod_passes_baseline(body: dict[str, Any]) -> None:
    spec = pod_spec(body)
    assert spec is not None
    assert baseline_violations(spec) == []


def test_the_check_catches_what_baseline_refuses() -> None:
    """The control-plane scenario's static Pod, and the Pod the bot runs to edit it, are what baseline refuses:
    that Pod runs only in the bot's own privileged namespace on a team's own cluster."""
    static_pod = yaml.safe_load((SCENARIOS / "challenge-1/control-plane/node/kube-apiserver.yaml").read_text())
    assert "hostNetwork is true" in baseline_violations(static_pod["spec"])
    editor = hostpath_pod("x", node="n", script="true", purpose="break")["spec"]
    assert sorted(baseline_violations(editor)) == [
        "edit: privileged",
        "volume backup is a hostPath",
        "volume manifests is a hostPath",
    ]
    privileged = {
        "name": "x",
        "image": "x",
        "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
    }
    assert baseline_violations({"containers": [privileged]}) == ["x: privileged", "x: adds ['SYS_ADMIN']"]
