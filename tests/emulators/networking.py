"""The EndpointSlice and Endpoints controllers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .resources import Obj
from .store import short_hash
from .workloads import is_ready, owner_ref

if TYPE_CHECKING:
    from .simulator import Simulator

MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"


def target_port(pod: Obj, service_port: Obj) -> int | None:
    """``podutil.FindPort``: a number is used as is, a name must be a container port of the pod."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == service_port.get("protocol", "TCP"):
                return int(port["containerPort"])
    return None


CLUSTER_DOMAIN = "cluster.local"


def resolve_service(host: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) a name resolves to from a pod in ``namespace``, or None.

    A pod's resolv.conf searches ``<ns>.svc.cluster.local svc.cluster.local cluster.local``
    (pkg/kubelet/network/dns/dns.go, v1.33), so ``svc``, ``svc.ns``, ``svc.ns.svc`` and the full name
    all reach the Service; anything else is not a Service name.
    """
    parts = host.rstrip(".").lower().split(".")
    suffix = CLUSTER_DOMAIN.split(".")
    if parts[-len(suffix) :] == suffix:
        parts = parts[: -len(suffix)]
        if len(parts) == 3 and parts[2] == "svc":
            return parts[0], parts[1]
        return None
    if len(parts) == 1:
        return parts[0], namespace
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "svc"):
        return parts[0], parts[1]
    return None


def matches_labels(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    """A Service's equality selector; an empty one selects nothing (no endpoints are managed)."""
    return bool(selector) and all((labels or {}).get(k) == v for k, v in (selector or {}).items())


class EndpointsController:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        services = self.sim.objects("services")
        for service in services:
            if service["spec"].get("selector") and service["spec"].get("type") != "ExternalName":
                self._sync(service)
        alive = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services if s["spec"].get("selector")}
        for endpoints in self.sim.objects("endpoints"):
            labels = endpoints["metadata"].get("labels") or {}
            key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
            if labels.get("endpoints.kubernetes.io/managed-by") == "endpoint-controller" and key not in alive:
                self.sim.delete("endpoints", *key)

    def _sync(self, service: Obj) -> None:
        sim = self.sim
        meta, spec = service["metadata"], service["spec"]
        namespace, name = meta["namespace"], meta["name"]
        selector = spec["selector"]
        publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
        pods = [
            p
            for p in sim.objects("pods", namespace)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and (p.get("status") or {}).get("podIP")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
        ]
        pods.sort(key=lambda p: p["metadata"]["name"])
        groups: dict[tuple[tuple[str, int, str], ...], list[Obj]] = {}
        for pod in pods:
            resolved = []
            for port in spec.get("ports") or []:
                number = target_port(pod, port)
                if number is not None:
                    resolved.append((port.get("name", ""), number, port.get("protocol", "TCP")))
            groups.setdefault(tuple(resolved), []).append(pod)
        desired: dict[str, Obj] = {}
        if not groups:
            groups[()] = []
        for ports, members in groups.items():
            key = "|".join(f"{n}:{p}:{proto}" for n, p, proto in ports)
            slice_name = f"{name}-{short_hash(meta['uid'], key, length=5)}"
            endpoints = [
                {
                    "addresses": [pod["status"]["podIP"]],
                    "conditions": {
                        "ready": publish_not_ready or is_ready(pod),
                        "serving": publish_not_ready or is_ready(pod),
                        "terminating": False,
                    },
                    "nodeName": pod["spec"].get("nodeName"),
                    "targetRef": {
                        "kind": "Pod",
                        "name": pod["metadata"]["name"],
                        "namespace": namespace,
                        "uid": pod["metadata"]["uid"],
                    },
                }
                for pod in members
            ]
            desired[slice_name] = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": slice_name,
                    "namespace": namespace,
                    "generateName": f"{name}-",
                    "labels": {
                        **(meta.get("labels") or {}),
                        "kubernetes.io/service-name": name,
                        MANAGED_BY: CONTROLLER,
                    },
                    "ownerReferences": [owner_ref(service)],
                },
                "addressType": "IPv4",
                # Like the real controller, a slice without endpoints or ports carries nulls, not lists.
                "endpoints": endpoints or None,
                "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports] or None,
            }
        existing = {
            s["metadata"]["name"]: s
            for s in sim.objects("endpointslices", namespace)
            if (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == name
            and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER
        }
        for slice_name in existing:
            if slice_name not in desired:
                sim.delete("endpointslices", namespace, slice_name)
        for slice_name, obj in desired.items():
            current = existing.get(slice_name)
            if current is None:
                sim.create("endpointslices", obj)
            elif (
                any(current.get(k) != obj.get(k) for k in ("endpoints", "ports"))
                or current["metadata"].get("labels") != obj["metadata"]["labels"]
            ):
                current.update({k: obj[k] for k in ("endpoints", "ports", "addressType")})
                current["metadata"]["labels"] = obj["metadata"]["labels"]
                sim.save("endpointslices", current)
        self._legacy(service, pods, publish_not_ready)

    def _legacy(self, service: Obj, pods: list[Obj], publish_not_ready: bool) -> None:
        """core/v1 Endpoints (still served; ``kubectl describe svc`` shows them)."""
        sim = self.sim
        meta, spec = service["metadata"], service["spec"]
        subsets: list[Obj] = []
        by_ports: dict[tuple[tuple[str, int, str], ...], Obj] = {}
        for pod in pods:
            resolved = tuple(
                (port.get("name", ""), number, port.get("protocol", "TCP"))
                for port in spec.get("ports") or []
                if (number := target_port(pod, port)) is not None
            )
            if not resolved:
                continue
            subset = by_ports.setdefault(resolved, {})
            address = {
                "ip": pod["status"]["podIP"],
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "name": pod["metadata"]["name"],
                    "namespace": meta["namespace"],
                    "uid": pod["metadata"]["uid"],
                },
            }
            key = "addresses" if publish_not_ready or is_ready(pod) else "notReadyAddresses"
            subset.setdefault(key, []).append(address)
        for resolved, subset in by_ports.items():
            subset["ports"] = [
                {"name": n, "port": p, "protocol": proto} if n else {"port": p, "protocol": proto}
                for n, p, proto in resolved
            ]
            subsets.append(subset)
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "labels": {**(meta.get("labels") or {}), "endpoints.kubernetes.io/managed-by": "endpoint-controller"},
            },
        }
        if subsets:
            obj["subsets"] = subsets
        current = sim.get("endpoints", meta["namespace"], meta["name"])
        if current is None:
            sim.create("endpoints", obj)
        elif (
            current.get("subsets") != obj.get("subsets")
            or current["metadata"].get("labels") != obj["metadata"]["labels"]
        ):
            current["metadata"]["labels"] = obj["metadata"]["labels"]
            if subsets:
                current["subsets"] = subsets
            else:
                current.pop("subsets", None)
            sim.save("endpoints", current)
