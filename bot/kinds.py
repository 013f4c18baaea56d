"""The Kubernetes kinds kubecamp-bot applies and reads, and how each maps to an API path.

A fixed table rather than discovery: the scenarios use a known set of kinds, one list call per kind
is all a snapshot costs, and a kind the server does not serve (a CRD that is not installed) shows up
as a 404 on that one call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    crd: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


@dataclass(frozen=True, order=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


_ALL = (
    Kind("", "v1", "Pod", "pods", True),
    Kind("", "v1", "Service", "services", True),
    Kind("", "v1", "ConfigMap", "configmaps", True),
    Kind("", "v1", "Secret", "secrets", True),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True),
    Kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    Kind("", "v1", "Event", "events", True),
    Kind("", "v1", "Namespace", "namespaces", False),
    Kind("", "v1", "Node", "nodes", False),
    Kind("", "v1", "PersistentVolume", "persistentvolumes", False),
    Kind("apps", "v1", "Deployment", "deployments", True),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True),
    Kind("apps", "v1", "DaemonSet", "daemonsets", True),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True),
    Kind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    Kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    Kind("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    Kind("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
    Kind("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", True, crd=True),
    Kind("monitoring.coreos.com", "v1", "Prometheus", "prometheuses", True, crd=True),
    Kind("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", True, crd=True),
    Kind("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler", "verticalpodautoscalers", True, crd=True),
)

#: (apiVersion, kind) → Kind, for manifests.
KINDS: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in _ALL}

#: Kind name → Kind, for checks and snapshots (kind names are unique in this table).
BY_NAME: dict[str, Kind] = {k.kind: k for k in _ALL}
