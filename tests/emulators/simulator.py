"""The behaviour simulator: derives every status from the specs clients applied.

It plays the control plane and the nodes of a small kind cluster — the scheduler, the kubelets, the
Deployment/ReplicaSet/StatefulSet/DaemonSet/HPA controllers, the PV controller with kind's local-path
provisioner, the EndpointSlice controller, the namespace and garbage collectors — instantaneously:
after every write it runs them in rounds until nothing changes (the state a real cluster reaches and
stays in). Tests never write a status themselves; they change specs, images, nodes or the clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .autoscaling import HorizontalPodAutoscalerController
from .events import EventRecorder
from .images import ImageRegistry
from .kubelet import Kubelet
from .logs import pod_log
from .networking import EndpointsController, matches_labels, resolve_service, target_port
from .nodefs import NodeFiles
from .nodes import NodeTaints, TaintEviction
from .rbac import aggregated_rules, bootstrap_policy
from .resources import Obj
from .scheduler import VolumeFacts, schedule
from .static_pods import StaticPods, seed_control_plane
from .storage import SELECTED_NODE, ClaimProtection, Provisioner, VolumeController
from .store import clone, parse_time, short_hash
from .workloads import (
    DaemonSetController,
    DeploymentController,
    GarbageCollector,
    ReplicaSetController,
    StatefulSetController,
    is_active,
    is_ready,
)

if TYPE_CHECKING:
    from .apiserver import KubeEmulator

BIND_TIMEOUT_SECONDS = 600  # the scheduler's VolumeBinding PreBind gives a provisioner this long
# pkg/scheduler/backend/queue/scheduling_queue.go (v1.33): an unschedulable pod that no cluster event
# moved is tried again after DefaultPodMaxInUnschedulablePodsDuration, and FailedScheduling is re-emitted
RETRY_UNSCHEDULABLE_SECONDS = 300


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Obj, ...] = ()
    ready: bool = True
    unschedulable: bool = False


def default_nodes() -> list[NodeSpec]:
    return [
        NodeSpec(
            "kind-control-plane",
            labels={
                "node-role.kubernetes.io/control-plane": "",
                "node.kubernetes.io/exclude-from-external-load-balancers": "",
            },
            taints=({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},),
        ),
        NodeSpec("kind-worker"),
        NodeSpec("kind-worker2"),
    ]


def default_storage_classes() -> list[Obj]:
    return [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    ]


def node_object(spec: NodeSpec, index: int) -> Obj:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        **spec.labels,
    }
    resources = {
        "cpu": spec.cpu,
        "memory": spec.memory,
        "pods": spec.pods,
        "ephemeral-storage": "100Gi",
        "hugepages-2Mi": "0",
    }
    address = f"172.18.0.{index + 2}"
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": f"10.244.{index}.0/24",
            "podCIDRs": [f"10.244.{index}.0/24"],
            "providerID": f"kind://docker/kind/{spec.name}",
        },
        "status": {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": spec.name}],
            "allocatable": dict(resources),
            "capacity": dict(resources),
            "conditions": [
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "message": "kubelet has sufficient memory available",
                },
                {
                    "type": "DiskPressure",
                    "status": "False",
                    "reason": "KubeletHasNoDiskPressure",
                    "message": "kubelet has no disk pressure",
                },
                {
                    "type": "PIDPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientPID",
                    "message": "kubelet has sufficient PID available",
                },
                {
                    "type": "Ready",
                    "status": "True" if spec.ready else "False",
                    "reason": "KubeletReady" if spec.ready else "KubeletNotReady",
                    "message": "kubelet is posting ready status"
                    if spec.ready
                    else "container runtime network not ready: NetworkReady=false",
                },
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": short_hash(spec.name, length=12),
                "containerRuntimeVersion": "containerd://2.1.1",
                "kernelVersion": "6.8.0-60-generic",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.33.1",
                "machineID": short_hash(spec.name),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": short_hash("uuid", spec.name),
            },
        },
    }
    if spec.taints:
        node["spec"]["taints"] = [dict(t) for t in spec.taints]
    if spec.unschedulable:
        node["spec"]["unschedulable"] = True
        node["spec"].setdefault("taints", []).append(
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        )
    if not spec.ready:
        node["spec"].setdefault("taints", []).append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
    return node


#: The cluster's CA as the root CA publisher spreads it: the one that signs the API server's certificate
#: (``KubeCluster(tls=True)``), so a kubeconfig built from it verifies the server.
CLUSTER_CA = (Path(__file__).resolve().parent / "tls" / "ca.crt").read_text()

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage")


class Simulator:
    def __init__(
        self,
        api: KubeEmulator,
        *,
        nodes: Iterable[NodeSpec] | None = None,
        storage_classes: Iterable[Obj] | None = None,
        images: ImageRegistry | None = None,
        provisioners: Iterable[Provisioner] | None = None,
    ) -> None:
        self.api = api
        self.clock = api.clock
        self.images = images or ImageRegistry()
        self.provisioners = {p.name: p for p in (provisioners or [Provisioner("rancher.io/local-path")])}
        self.events = EventRecorder(api)
        self.files = NodeFiles()
        self.kubelet = Kubelet(self.images, self._lookup, self.clock, self.dial, self.files)
        self.static_pods = StaticPods(self)
        self.logs: dict[tuple[str, str, str], str] = {}
        self.volumes = VolumeController(self)
        self._used_names: set[tuple[str, str]] = set()
        self._selected: dict[str, datetime.datetime] = {}
        self._running = False
        self._cache: dict[tuple[str, str | None], tuple[int, list[Obj]]] = {}
        self.enabled = True
        self.controllers: list[Callable[[], None]] = [
            GarbageCollector(self).sync,
            self._namespaces,
            NodeTaints(self).sync,
            TaintEviction(self).sync,
            self.static_pods.sync,
            DeploymentController(self).sync,
            ReplicaSetController(self).sync,
            StatefulSetController(self).sync,
            DaemonSetController(self).sync,
            HorizontalPodAutoscalerController(self).sync,
            ClaimProtection(self).sync,
            self.volumes.sync,
            self._schedule,
            self._kubelets,
            EndpointsController(self).sync,
            self.events.expire,
            self._aggregate_cluster_roles,
        ]
        self._aggregated_at = -1
        api.simulator = self
        self._seed(
            list(nodes) if nodes is not None else default_nodes(),
            list(storage_classes) if storage_classes is not None else default_storage_classes(),
        )

    # --- plumbing for the controllers -------------------------------------------------------

    def now(self) -> str:
        return self.clock.stamp()

    def objects(self, plural: str, namespace: str | None = None) -> list[Obj]:
        """Copies of the live objects, cached until that resource is written again.

        Controllers may change the copies they get, but must ``save`` what they change. When the resource was
        written, a copy still equal to its stored object is kept in the new list rather than made again (one
        pod's new status used to copy every pod anew, for each controller's next look).
        """
        res = self.api.resource_def(plural)
        version = self.api.store.versions.get(res.path, 0)
        cached = self._cache.get((res.path, namespace))
        if cached is not None and cached[0] == version:
            return cached[1]
        previous = {_list_key(obj): obj for obj in cached[1]} if cached is not None else {}
        result = []
        for stored in self.api.store.scan(res, namespace):
            kept = previous.get(_list_key(stored))
            result.append(kept if kept is not None and kept == stored else clone(stored))
        self._cache[(res.path, namespace)] = (version, result)
        return result

    def get(self, plural: str | None, namespace: str | None, name: str | None) -> Obj | None:
        if not plural or not name:
            return None
        return self.api.store.get(self.api.resource_def(plural), namespace, name)

    def exists(self, plural: str, namespace: str | None, name: str) -> bool:
        """Whether the object is there (without copying it, as ``get`` would)."""
        return self.api.store.peek(self.api.resource_def(plural), namespace, name) is not None

    def _lookup(self, plural: str, namespace: str, name: str) -> Obj | None:
        return self.get(plural, namespace, name)

    def save(self, plural: str, obj: Obj) -> None:
        """Write what a controller changed (if the object is still there)."""
        res = self.api.resource_def(plural)
        if self.api.store.peek(res, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
            self.api.store.update(res, obj)

    update_spec = save

    def saved(self, plural: str, obj: Obj) -> Obj:
        """``save``, then a copy of the object as stored (``obj`` itself when it is gone)."""
        res = self.api.resource_def(plural)
        if self.api.store.peek(res, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is None:
            return obj
        return clone(self.api.store.update(res, obj))

    def create(self, plural: str, obj: Obj) -> Obj:
        return self.api.create(self.api.resource_def(plural), obj, namespace=obj["metadata"].get("namespace"))

    def delete(self, plural: str, namespace: str | None, name: str, *, force: bool = False) -> None:
        res = self.api.resource_def(plural)
        live = self.api.store.peek(res, namespace, name)  # read only: marking it writes a new one
        if live is None:
            return
        if live["metadata"].get("finalizers") and not force:
            if not live["metadata"].get("deletionTimestamp"):
                self.api.store.update(res, {**live, "metadata": {**live["metadata"], "deletionTimestamp": self.now()}})
            return
        self.api._delete_now(res, live, "Background")

    def unique_name(self, prefix: str, namespace: str, taken: set[str]) -> str:
        index = 0
        while True:
            name = prefix + short_hash(prefix, namespace, str(index), length=5)
            if name not in taken and (namespace, name) not in self._used_names:
                self._used_names.add((namespace, name))
                return name
            index += 1

    def any_schedulable_node(self) -> str | None:
        for node in self.objects("nodes"):
            if not any(t.get("effect") == "NoSchedule" for t in node.get("spec", {}).get("taints") or []):
                return str(node["metadata"]["name"])
        return None

    # --- running ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run every controller in rounds until a whole round writes nothing."""
        if self._running or not self.enabled:
            return
        self._running = True
        self.events.run += 1
        try:
            for _ in range(100):
                before = self.api.store.resource_version
                for controller in self.controllers:
                    controller()
                if self.api.store.resource_version == before:
                    return
            raise RuntimeError("the simulated cluster did not settle within 100 rounds")
        finally:
            self._running = False

    def advance(self, seconds: float) -> None:
        """Let simulated time pass (deadlines, bind timeouts), then settle again."""
        self.clock.advance(seconds)
        self.run()

    # --- seeding ----------------------------------------------------------------------------

    def _seed(self, nodes: list[NodeSpec], storage_classes: list[Obj]) -> None:
        self._running = True
        try:
            for name in SYSTEM_NAMESPACES:
                self.api.create(self.api.resource_def("namespaces"), {"metadata": {"name": name}})
            for index, spec in enumerate(nodes):
                self.add_node(spec, index)
            for storage_class in storage_classes:
                self.api.create(self.api.resource_def("storageclasses"), clone(storage_class))
            self._namespaces()
            for plural, obj in bootstrap_policy():
                self.api.create(self.api.resource_def(plural), obj)
            self.api.create(
                self.api.resource_def("services"),
                {
                    "metadata": {
                        "name": "kubernetes",
                        "namespace": "default",
                        "labels": {"component": "apiserver", "provider": "kubernetes"},
                    },
                    "spec": {
                        "clusterIP": "10.96.0.1",
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                    },
                },
            )
            self.api.create(
                self.api.resource_def("endpointslices"),
                {
                    "metadata": {
                        "name": "kubernetes",
                        "namespace": "default",
                        "labels": {
                            "kubernetes.io/service-name": "kubernetes",
                            "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io",
                        },
                    },
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
                },
            )
        finally:
            self._running = False
        self.run()

    def add_node(self, spec: NodeSpec, index: int | None = None) -> Obj:
        if index is None:
            index = len(self.objects("nodes"))
        node = self.api.create(self.api.resource_def("nodes"), node_object(spec, index))
        node["status"] = node_object(spec, index)["status"]
        if "node-role.kubernetes.io/control-plane" in spec.labels:
            seed_control_plane(self.files, spec.name, node["status"]["addresses"][0]["address"])
        for condition in node["status"]["conditions"]:
            condition["lastHeartbeatTime"] = condition["lastTransitionTime"] = self.now()
        return clone(self.api.store.update(self.api.resource_def("nodes"), node))

    # --- the ClusterRole aggregation controller ----------------------------------------------

    def _aggregate_cluster_roles(self) -> None:
        """Fill every aggregated ClusterRole's rules from the ClusterRoles its selectors match (rbac.py)."""
        res = self.api.resource_def("clusterroles")
        version = self.api.store.versions.get(res.path, 0)
        if version == self._aggregated_at:
            return
        roles = self.api.store.raw(res)
        wrote = False
        for role in roles:
            rules = aggregated_rules(role, roles)
            if rules is not None and rules != (role.get("rules") or []):
                updated = clone(role)
                updated["rules"] = rules
                self.api.replace_status(res, updated)
                wrote = True
        # After a write, look again next round: a role aggregated from an aggregated role follows it.
        self._aggregated_at = -1 if wrote else version

    # --- namespace controllers (service accounts, root CA) -----------------------------------

    def _namespaces(self) -> None:
        for namespace in self.objects("namespaces"):
            name = namespace["metadata"]["name"]
            deleted_at = parse_time(namespace["metadata"].get("deletionTimestamp"))
            if deleted_at is not None:
                elapsed = (self.clock.now() - deleted_at).total_seconds()
                if elapsed >= self.api.namespace_termination_seconds:
                    self.api._delete_now(self.api.resource_def("namespaces"), namespace, "Background")
                continue
            if not self.exists("serviceaccounts", name, "default"):
                self.api.store.create(
                    self.api.resource_def("serviceaccounts"), {"metadata": {"name": "default", "namespace": name}}
                )
            if not self.exists("configmaps", name, "kube-root-ca.crt"):
                self.api.store.create(
                    self.api.resource_def("configmaps"),
                    {
                        "metadata": {
                            "name": "kube-root-ca.crt",
                            "namespace": name,
                            "annotations": {
                                "kubernetes.io/description": "Contains a CA bundle that can be used "
                                "to verify the kube-apiserver when using internal endpoints such "
                                "as the internal service IP or kubernetes.default.svc. No other "
                                "usage is guaranteed across distributions of Kubernetes clusters."
                            },
                        },
                        "data": {"ca.crt": CLUSTER_CA},
                    },
                )

    # --- the scheduler ----------------------------------------------------------------------

    def _volume_facts(self, pod: Obj) -> list[VolumeFacts]:
        namespace = pod["metadata"]["namespace"]
        facts: list[VolumeFacts] = []
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim_name:
                continue
            claim = self.get("persistentvolumeclaims", namespace, claim_name)
            if claim is None:
                facts.append(VolumeFacts(claim_name, exists=False))
                continue
            bound = (claim.get("status") or {}).get("phase") == "Bound" and bool(claim["spec"].get("volumeName"))
            storage_class = self.volumes.storage_class(claim)
            wait = storage_class is not None and storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
            pv_selector = None
            if bound:
                volume_obj = self.get("persistentvolumes", None, claim["spec"]["volumeName"])
                pv_selector = (((volume_obj or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")
            facts.append(
                VolumeFacts(
                    claim_name,
                    exists=True,
                    deleting=bool(claim["metadata"].get("deletionTimestamp")),
                    bound=bound,
                    wait_for_consumer=wait,
                    pv_node_selector=pv_selector,
                )
            )
        return facts

    def _unschedulable(self, pod: Obj, reason: str, message: str) -> None:
        status = clone(pod.get("status") or {})
        previous = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": previous.get("lastTransitionTime")
            if previous and previous.get("status") == "False"
            else self.now(),
        }
        new_status = {"phase": "Pending", "conditions": [condition], "qosClass": _qos(pod)}
        if pod.get("status") != new_status:
            pod["status"] = new_status
            self.save("pods", pod)
        retry = RETRY_UNSCHEDULABLE_SECONDS
        self.events.record(pod, "Warning", "FailedScheduling", message, component="default-scheduler", every=retry)

    def _schedule(self) -> None:
        nodes = [
            n
            for n in self.objects("nodes")
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (n.get("status") or {}).get("conditions") or []
            )
        ]
        pods = self.objects("pods")
        bound = [p for p in pods if p["spec"].get("nodeName") and is_active(p)]
        pending = [
            p
            for p in pods
            if not p["spec"].get("nodeName")
            and is_active(p)
            and p["spec"].get("schedulerName", "default-scheduler") == "default-scheduler"
        ]
        pending.sort(
            key=lambda p: (
                -int(p["spec"].get("priority", 0)),
                p["metadata"].get("creationTimestamp", ""),
                p["metadata"]["name"],
            )
        )
        all_nodes = self.objects("nodes")
        for pod in pending:
            if not nodes:
                self._unschedulable(pod, "Unschedulable", "no nodes available to schedule pods")
                continue
            decision = schedule(pod, nodes, bound, self._volume_facts(pod))
            if decision.node is None:
                if len(nodes) != len(all_nodes):
                    decision.message = decision.message.replace(f"0/{len(nodes)} nodes", f"0/{len(all_nodes)} nodes")
                self._unschedulable(pod, decision.reason, decision.message)
                continue
            if not self._bind_volumes(pod, decision.node, decision.select_claims):
                continue
            pod["spec"]["nodeName"] = decision.node
            pod["status"] = {
                "phase": "Pending",
                "qosClass": _qos(pod),
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": self.now()}
                ],
            }
            pod = self.saved("pods", pod)
            bound.append(pod)
            meta = pod["metadata"]
            self.events.record(
                pod,
                "Normal",
                "Scheduled",
                f"Successfully assigned {meta['namespace']}/{meta['name']} to {decision.node}",
                component="default-scheduler",
            )

    def _bind_volumes(self, pod: Obj, node: str, claims: list[str]) -> bool:
        """VolumeBinding's PreBind: select the node on WaitForFirstConsumer claims and wait for provisioning."""
        namespace = pod["metadata"]["namespace"]
        all_bound = True
        for claim_name in claims:
            claim = self.get("persistentvolumeclaims", namespace, claim_name)
            if claim is None:
                return False
            annotations = claim["metadata"].setdefault("annotations", {})
            if annotations.get(SELECTED_NODE) != node:
                annotations[SELECTED_NODE] = node
                claim = self.saved("persistentvolumeclaims", claim)
                self._selected[claim["metadata"]["uid"]] = self.clock.now()
            self._selected.setdefault(claim["metadata"]["uid"], self.clock.now())
            storage_class = self.volumes.storage_class(claim)
            if storage_class is None or not self.volumes.provision(claim, storage_class, node):
                all_bound = False
                since = self._selected[claim["metadata"]["uid"]]
                if (self.clock.now() - since).total_seconds() >= BIND_TIMEOUT_SECONDS:
                    self._unschedulable(
                        pod,
                        "SchedulerError",
                        'running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded',
                    )
        return all_bound

    # --- the kubelets -----------------------------------------------------------------------

    def _pod_ip(self, pod: Obj, node: Obj, taken: set[str]) -> str:
        current = (pod.get("status") or {}).get("podIP")
        if current:
            return str(current)
        if pod["spec"].get("hostNetwork"):
            return str(node["status"]["addresses"][0]["address"])
        cidr = (node.get("spec") or {}).get("podCIDR", "10.244.1.0/24")
        prefix = cidr.rsplit(".", 1)[0]
        index = int(short_hash(pod["metadata"]["uid"], length=4), 36) % 250
        while True:
            candidate = f"{prefix}.{index + 2}"
            if candidate not in taken:
                return candidate
            index = (index + 1) % 250

    def _kubelets(self) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.objects("nodes")}
        pods = self.objects("pods")
        taken = {str((p.get("status") or {}).get("podIP")) for p in pods if (p.get("status") or {}).get("podIP")}
        for pod in pods:
            node = nodes.get(str(pod["spec"].get("nodeName")))
            if node is None or pod["metadata"].get("deletionTimestamp"):
                continue
            ip = self._pod_ip(pod, node, taken)
            taken.add(ip)
            result = self.kubelet.sync(pod, node, ip)
            for event in result.events:
                self.events.record(
                    pod,
                    event.type,
                    event.reason,
                    event.message,
                    component="kubelet",
                    host=node["metadata"]["name"],
                    field_path=event.field_path,
                    occurrence=event.occurrence,
                    at=event.at,
                    first=event.first,
                    count=event.count,
                    every=event.every,
                )
            for container, text in result.logs.items():
                self.logs[(pod["metadata"]["namespace"], pod["metadata"]["name"], container)] = text
            if pod.get("status") != result.status:
                pod["status"] = result.status
                self.save("pods", pod)
        self.kubelet.forget(str(p["metadata"].get("uid")) for p in pods)

    def dial(self, host: str, port: int, namespace: str) -> str | None:
        """Why a TCP connection from a pod in ``namespace`` to ``host:port`` fails, or None when a server answers.

        The host resolves as cluster DNS with the pod's search path would (``svc``, ``svc.ns``,
        ``svc.ns.svc``, ``svc.ns.svc.cluster.local``) to a Service; the Service must have that port, and
        a ready endpoint whose pod listens on the port the Service targets. Without one kube-proxy
        rejects the connection (a port the Service lacks is taken as refused too, not as a timeout).
        """
        found = resolve_service(host, namespace)
        service = self.get("services", found[1], found[0]) if found else None
        if found is None or service is None:
            return "Domain name not found"
        service_port = next((p for p in service["spec"].get("ports") or [] if p.get("port") == port), None)
        if service_port is None:
            return "Connection refused"
        for pod in self.objects("pods", found[1]):
            if not matches_labels(service["spec"].get("selector"), pod["metadata"].get("labels")) or not is_ready(pod):
                continue
            target = target_port(pod, service_port)
            if target is not None and target in self.kubelet.listening.get(str(pod["metadata"].get("uid")), set()):
                return None
        return "Connection refused"

    def pod_log(self, pod: Obj, container: str | None, previous: bool) -> str:
        return pod_log(pod, container, previous, self.logs)


def _list_key(obj: Obj) -> tuple[str | None, str]:
    return (obj["metadata"].get("namespace"), obj["metadata"]["name"])


def _qos(pod: Obj) -> str:
    from .kubelet import qos_class

    return qos_class(pod)


__all__ = ["BIND_TIMEOUT_SECONDS", "NodeSpec", "Simulator", "default_nodes", "default_storage_classes", "parse_time"]
