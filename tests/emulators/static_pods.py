"""Static Pods: the kubelet runs what ``/etc/kubernetes/manifests`` on its node holds, and mirrors it in the API.

kubernetes/kubernetes v1.33: ``pkg/kubelet/config/file.go`` reads every file of the static pod path
except hidden ones (``.``-prefixed), ``pkg/kubelet/config/common.go`` names the Pod
``<name>-<nodeName>``, sets ``spec.nodeName``, the ``kubernetes.io/config.hash``/``config.source: file``
annotations and the NoExecute toleration every static Pod gets, and ``pkg/kubelet/pod/mirror_client.go``
creates the mirror Pod with ``kubernetes.io/config.mirror`` and the Node as its controller owner. A changed
file is a new Pod (a new hash): the kubelet kills the old one and the mirror is deleted and created again;
a deleted mirror Pod is created again while the file is there.

The control-plane node of the default cluster carries kubeadm's manifests for etcd and kube-apiserver (as
kind v0.29 writes them, trimmed to the flags that matter here). The emulated API server answers only while
the kube-apiserver they describe runs and listens on the port clients use (``serving``).
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

import yaml

from .nodefs import MANIFESTS, NodeFiles
from .resources import Obj
from .store import clone

if TYPE_CHECKING:
    from .simulator import Simulator

CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_MIRROR = "kubernetes.io/config.mirror"
#: What kubeconfigs and the ``kubernetes`` Service point at (kubeadm's default ``--secure-port``).
API_PORT = 6443
#: etcd's client port on the control-plane node (2380 is its peer port).
ETCD_CLIENT_PORT = 2379
#: kube-apiserver gives etcd this long before it exits (staging/src/k8s.io/apiserver/pkg/storage/
#: storagebackend/factory/etcd3.go dialTimeout).
ETCD_DIAL_TIMEOUT_SECONDS = 20.0
#: pkg/apis/scheduling/types.go SystemCriticalPriority + 1000 (system-node-critical).
SYSTEM_NODE_CRITICAL = 2000001000


def kube_apiserver_manifest(address: str) -> str:
    """kubeadm's /etc/kubernetes/manifests/kube-apiserver.yaml, trimmed (probes left out: the emulated
    probes do not speak TLS)."""
    flags = [
        f"--advertise-address={address}",
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        "--enable-admission-plugins=NodeRestriction",
        "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
        "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
        "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
        f"--etcd-servers=https://127.0.0.1:{ETCD_CLIENT_PORT}",
        f"--secure-port={API_PORT}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
        "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
        "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
    ]
    command = "\n".join(f"    - {flag}" for flag in ["kube-apiserver", *flags])
    return f"""apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: {address}:{API_PORT}
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
{command}
    image: registry.k8s.io/kube-apiserver:v1.33.1
    imagePullPolicy: IfNotPresent
    name: kube-apiserver
    resources:
      requests:
        cpu: 250m
  hostNetwork: true
  priorityClassName: system-node-critical
"""


def etcd_manifest(address: str, node: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://{address}:{ETCD_CLIENT_PORT}
    - --data-dir=/var/lib/etcd
    - --listen-client-urls=https://127.0.0.1:{ETCD_CLIENT_PORT},https://{address}:{ETCD_CLIENT_PORT}
    - --listen-peer-urls=https://{address}:2380
    - --name={node}
    image: registry.k8s.io/etcd:3.5.21-0
    imagePullPolicy: IfNotPresent
    name: etcd
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
  hostNetwork: true
  priorityClassName: system-node-critical
"""


def seed_control_plane(files: NodeFiles, node: str, address: str) -> None:
    files.write(node, f"{MANIFESTS}/etcd.yaml", etcd_manifest(address, node))
    files.write(node, f"{MANIFESTS}/kube-apiserver.yaml", kube_apiserver_manifest(address))


def flag(words: list[str], name: str) -> str | None:
    """The value of ``--name=value`` among a command's words (the last one wins, as with pflag)."""
    value = None
    for word in words:
        if word.startswith(f"--{name}="):
            value = word.split("=", 1)[1]
    return value


def apiserver_failure(words: list[str]) -> str | None:
    """What kube-apiserver prints before it exits when it cannot reach etcd, or None when it can.

    ``--etcd-servers`` must name etcd's client port; the peer port answers gRPC with an HTTP/1 frame
    (grpc-go's "error reading server preface"), and after dialTimeout storage creation fails and
    component-base/cli/run.go logs "command failed".
    """
    servers = (flag(words, "etcd-servers") or "").split(",")
    ports = {server.rsplit(":", 1)[-1].rstrip("/") for server in servers if server}
    if str(ETCD_CLIENT_PORT) in ports:
        return None
    address = servers[0].split("://", 1)[-1].rstrip("/") if servers and servers[0] else "127.0.0.1:2379"
    return (
        "I1204 00:00:00.000000       1 options.go:249] external host was not specified, using 172.18.0.2\n"
        "I1204 00:00:00.000000       1 server.go:159] Version: v1.33.1\n"
        f"W1204 00:00:01.000000       1 logging.go:55] [core] [Channel #1 SubChannel #3]grpc: addrConn.createTransport "
        f'failed to connect to {{Addr: "{address}", ServerName: "{address}", '
        '}. Err: connection error: desc = "error reading server preface: http2: frame too large"\n'
        'E1204 00:00:20.000000       1 run.go:72] "command failed" err="context deadline exceeded"'
    )


def apiserver_port(words: list[str]) -> int:
    value = flag(words, "secure-port")
    return int(value) if value and value.isdigit() else API_PORT


#: What a healthy v1.33 kube-apiserver lists for `GET /readyz?verbose` (staging/src/k8s.io/apiserver/pkg/server/
#: healthz/healthz.go), trimmed to its first checks; /livez lists the same without the readiness-only ones.
HEALTH_CHECKS = {
    "/readyz": (
        "ping",
        "log",
        "etcd",
        "etcd-readiness",
        "informer-sync",
        "poststarthook/start-apiserver-admission-initializer",
        "shutdown",
    ),
    "/livez": ("ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer"),
}


def health_text(path: str, *, verbose: bool) -> str:
    """The answer of a serving API server to a health path: "ok", or each check and the verdict."""
    if not verbose:
        return "ok"
    lines = [f"[+]{check} ok" for check in HEALTH_CHECKS[path]]
    return "\n".join([*lines, f"{path.strip('/')} check passed", ""])


def _hash(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class StaticPods:
    """The kubelets' file source and mirror Pods."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def sync(self) -> None:
        sim = self.sim
        mirrors: dict[tuple[str, str], Obj] = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in sim.objects("pods")
            if CONFIG_MIRROR in (p["metadata"].get("annotations") or {})
        }
        wanted: dict[tuple[str, str], Obj] = {}
        for node in sim.objects("nodes"):
            for path, text in sim.files.listing(node["metadata"]["name"], MANIFESTS).items():
                if path.rsplit("/", 1)[-1].startswith("."):
                    continue  # config/file.go: hidden files are ignored
                pod = _static_pod(node["metadata"]["name"], node["metadata"]["uid"], text)
                if pod is not None:
                    wanted[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod
        for key, mirror in mirrors.items():
            pod = wanted.get(key)
            current = (mirror["metadata"].get("annotations") or {}).get(CONFIG_MIRROR)
            if pod is None or pod["metadata"]["annotations"][CONFIG_HASH] != current:
                sim.delete("pods", key[0], key[1], force=True)
        for key, pod in wanted.items():
            if not sim.exists("pods", key[0], key[1]):
                sim.create("pods", pod)

    def serving(self) -> bool:
        """Whether a kube-apiserver runs from a node's manifest and listens on the API port. A cluster
        whose nodes hold no kube-apiserver manifest at all is not modelled to that depth: it serves."""
        sim = self.sim
        modelled = any(
            path.endswith("/kube-apiserver.yaml")
            for node in sim.files.files
            for path in sim.files.listing(node, MANIFESTS)
        )
        if not modelled:
            return True
        for pod in sim.objects("pods", "kube-system"):
            labels = pod["metadata"].get("labels") or {}
            if labels.get("component") != "kube-apiserver" or CONFIG_MIRROR not in (
                pod["metadata"].get("annotations") or {}
            ):
                continue
            if API_PORT in sim.kubelet.listening.get(str(pod["metadata"].get("uid")), set()):
                return True
        return False


@functools.lru_cache(maxsize=256)
def _static_pod(node_name: str, node_uid: str, text: str) -> Obj | None:
    """The Pod a manifest file makes on this node (config/common.go applyDefaults), or None for a file the
    kubelet cannot decode (it logs the error and runs nothing from it). Cached, as ``_decoded``: every pass
    asks for every manifest (the result is shared: it is only read, and created through the API, which copies)."""
    pod = _decoded(text)
    if not isinstance(pod, dict) or pod.get("kind") != "Pod" or not (pod.get("metadata") or {}).get("name"):
        return None
    pod = clone(pod)
    digest = _hash(text + node_name)
    meta = pod["metadata"]
    meta["name"] = f"{meta['name']}-{node_name}"
    meta.setdefault("namespace", "default")
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        CONFIG_HASH: digest,
        CONFIG_MIRROR: digest,
        "kubernetes.io/config.seen": "2025-01-01T00:00:00.000000000Z",
        "kubernetes.io/config.source": "file",
    }
    meta["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid, "controller": True}
    ]
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    spec.setdefault("tolerations", []).append({"operator": "Exists", "effect": "NoExecute"})
    if spec.get("priorityClassName") == "system-node-critical":
        spec["priority"] = SYSTEM_NODE_CRITICAL
    spec.setdefault("restartPolicy", "Always")
    return pod


@functools.lru_cache(maxsize=256)
def _decoded(text: str) -> object:
    """A manifest file's document, None if it does not decode. Cached: every pass of the simulator reads every
    node's manifests, and decoding them again was a third of the CPU of a test that runs challenges (the result
    is shared, so the caller copies it before changing it)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
