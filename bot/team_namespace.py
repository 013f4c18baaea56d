"""What a team namespace carries besides the scenario: the bot's labels, a Pod Security level, a quota, default
container resources, and the RoleBinding that gives the bot its rights there (and nowhere else).

The objects are fixed by the bot; the cluster's admission policy (the chart's ValidatingAdmissionPolicy) refuses
a namespace the bot creates without these labels, and the bot may only create a quota or limits, never patch or
delete one, so a stolen token cannot lift them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FIELD_MANAGER = "kubecamp-bot"
MANAGED_BY = "app.kubernetes.io/managed-by"
TEAM_LABEL = "kubecamp.io/team"
POD_SECURITY = "pod-security.kubernetes.io"

PodSecurityLevel = Literal["baseline", "restricted"]

#: Object counts, not compute: a team's namespace must not be able to fill the bot's memory (every check
#: lists whole kinds) or etcd. Compute quotas would refuse the scenarios' Pods without requests, and a
#: storage quota the storage scenario's oversized claims, changing how they break.
QUOTA: dict[str, str] = {
    "pods": "50",
    "services": "20",
    "configmaps": "30",
    "secrets": "30",
    "persistentvolumeclaims": "10",
    "count/deployments.apps": "20",
    "count/statefulsets.apps": "10",
    "count/jobs.batch": "10",
}
#: For containers that say nothing: a request so the scheduler counts them, a memory limit so one cannot
#: take a node. No maximum: the scenarios' oversized requests must stay Pending, not be refused.
CONTAINER_DEFAULTS: dict[str, dict[str, str]] = {
    "defaultRequest": {"cpu": "50m", "memory": "64Mi"},
    "default": {"memory": "512Mi"},
}
#: The name of the quota, the limits and the RoleBinding in every team namespace.
SETUP_NAME = "kubecamp-bot"


@dataclass(frozen=True, kw_only=True)
class NamespaceSetup:
    """How the bot makes a team namespace.

    :param team_role: the ClusterRole bound in each team namespace (the chart's team role); None when the bot
        runs with a kubeconfig that already may do everything (a local cluster, `kubecamp preflight`).
    :param service_account: the bot's ServiceAccount as (namespace, name), the RoleBinding's subject.
    :param pod_security: the Pod Security Standard enforced; restricted is always warned about and audited.
    """

    team_role: str | None = None
    service_account: tuple[str, str] | None = None
    pod_security: PodSecurityLevel = "baseline"

    def __post_init__(self) -> None:
        if (self.team_role is None) != (self.service_account is None):
            raise ValueError("team_role and service_account go together")

    def namespace(self, name: str, *, team: str) -> dict[str, Any]:
        labels = {
            MANAGED_BY: FIELD_MANAGER,
            TEAM_LABEL: team,
            f"{POD_SECURITY}/enforce": self.pod_security,
            f"{POD_SECURITY}/warn": "restricted",
            f"{POD_SECURITY}/audit": "restricted",
        }
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}

    def objects(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        """(collection path, body) of what the bot creates in a namespace it manages, RoleBinding first."""
        metadata = {"name": SETUP_NAME, "namespace": namespace, "labels": {MANAGED_BY: FIELD_MANAGER}}
        objects: list[tuple[str, dict[str, Any]]] = []
        if self.team_role is not None and self.service_account is not None:
            sa_namespace, sa_name = self.service_account
            binding = {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.team_role},
                "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}],
            }
            objects.append((f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", binding))
        quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": metadata, "spec": {"hard": QUOTA}}
        limits = {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": metadata,
            "spec": {"limits": [{"type": "Container", **CONTAINER_DEFAULTS}]},
        }
        objects.append((f"/api/v1/namespaces/{namespace}/resourcequotas", quota))
        objects.append((f"/api/v1/namespaces/{namespace}/limitranges", limits))
        return objects
