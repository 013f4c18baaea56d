"""The resources the emulated API server serves, with the discovery facts a real cluster reports."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# A Kubernetes object as the API serves it: free-form JSON whose schema is the API's, one alias for all modules.
Obj = dict[str, Any]


@dataclass(frozen=True)
class ResourceDef:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    shortnames: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    crd: bool = False
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """``pods`` for the core group, ``deployments.apps`` otherwise (the form RBAC messages use)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @functools.cached_property
    def path(self) -> str:
        """The kmock resource string: ``v1/pods``, ``apps/v1/deployments`` (the store's key for the resource, asked
        for at every read and write: kept once made)."""
        return f"{self.group}/{self.version}/{self.plural}" if self.group else f"{self.version}/{self.plural}"


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    *,
    short: tuple[str, ...] = (),
    sub: tuple[str, ...] = ("status",),
    crd: bool = False,
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
) -> ResourceDef:
    return ResourceDef(group, version, plural, kind, namespaced, kind.lower(), short, sub, crd, verbs)


BUILTIN: tuple[ResourceDef, ...] = (
    _r("", "v1", "pods", "Pod", short=("po",), sub=("status", "log", "exec", "eviction", "binding")),
    _r("", "v1", "services", "Service", short=("svc",), sub=("status", "proxy")),
    _r("", "v1", "endpoints", "Endpoints", short=("ep",), sub=()),
    _r("", "v1", "configmaps", "ConfigMap", short=("cm",), sub=()),
    _r("", "v1", "secrets", "Secret", sub=()),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",), sub=("token",)),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",)),
    _r("", "v1", "events", "Event", short=("ev",), sub=()),
    _r("", "v1", "namespaces", "Namespace", False, short=("ns",), sub=("status", "finalize")),
    _r("", "v1", "nodes", "Node", False, short=("no",), sub=("status", "proxy")),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, short=("pv",)),
    _r("apps", "v1", "deployments", "Deployment", short=("deploy",), sub=("status", "scale")),
    _r("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), sub=("status", "scale")),
    _r("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), sub=("status", "scale")),
    _r("apps", "v1", "daemonsets", "DaemonSet", short=("ds",)),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", sub=()),
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",)),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",), sub=()),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",)),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short=("sc",), sub=()),
    _r("", "v1", "resourcequotas", "ResourceQuota", short=("quota",)),
    _r("", "v1", "limitranges", "LimitRange", short=("limits",), sub=()),
    _r("coordination.k8s.io", "v1", "leases", "Lease", sub=()),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", sub=()),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", sub=()),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, sub=()),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, sub=()),
    # Answered, never stored (rbac.py): only `create`, as the API server serves it.
    _r(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        sub=(),
        verbs=("create",),
    ),
)

CRDS: tuple[ResourceDef, ...] = (
    _r("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", short=("smon",), sub=(), crd=True),
    _r("monitoring.coreos.com", "v1", "prometheuses", "Prometheus", short=("prom",), crd=True),
    _r("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", short=("promrule",), sub=(), crd=True),
    _r("autoscaling.k8s.io", "v1", "verticalpodautoscalers", "VerticalPodAutoscaler", short=("vpa",), crd=True),
)


class ResourceTable:
    """Lookup by (group, version, plural) and by kind; only what the emulator currently serves."""

    def __init__(self, resources: tuple[ResourceDef, ...]) -> None:
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        self._by_kind = {(r.api_version, r.kind): r for r in resources}
        self._by_name: dict[str, ResourceDef] = {}
        for r in resources:
            for alias in (r.plural, r.kind, r.kind.lower(), r.key, r.path, *r.shortnames):
                self._by_name.setdefault(alias, r)

    def __iter__(self) -> Iterator[ResourceDef]:
        return iter(self._by_path.values())

    def get(self, group: str, version: str, plural: str) -> ResourceDef | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceDef | None:
        return self._by_kind.get((api_version, kind))

    def find(self, name: str) -> ResourceDef:
        """``pods``, ``Pod``, ``deployments.apps``, ``apps/v1/deployments``, ``deploy``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown resource {name!r}") from None
