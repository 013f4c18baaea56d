"""``KubeCluster``: the emulated API server plus the simulated cluster, served on 127.0.0.1.

    async with KubeCluster() as cluster:
        configuration = kubernetes.aio.client.Configuration(host=cluster.url)
        ...
        assert cluster.objects("pods", "team1")[0]["status"]["phase"] == "Running"

Everything a test may change is an input a real cluster also has: specs (through the API), the image
registry (``add_image``), nodes (``add_node``), time (``advance``), and the health of the API server
itself (``fail``/``hang``/``stop``/``start``). Statuses are never set by hand.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp.test_utils
import kmock
from kmock._internal.dns import AiohttpInterceptor
from kubernetes.aio import client as k8s

from .admission import BOT_USER, chart_policies
from .apiserver import KubeEmulator
from .faults import Fault
from .images import Image, ImageRegistry
from .resources import Obj
from .simulator import NodeSpec, Simulator
from .storage import Provisioner
from .store import clone

#: The bearer token of the bot's ServiceAccount: requests with it are the bot's, and the chart's admission
#: policy applies to them. Any other token is the cluster's admin (test setup, kubectl, "students").
BOT_TOKEN = "kubecamp-bot-token"
#: With ``tls=True`` the API server serves HTTPS with this certificate, signed by ``TLS_CA`` (whose key was
#: thrown away when it was made; valid until 2126): kubectl sends a kubeconfig's token only over TLS
#: (client-go's clientcmd reads the user's credentials only for a TLS transport).
TLS_DIR = Path(__file__).resolve().parent / "tls"
TLS_CA = TLS_DIR / "ca.crt"


def _tls_server(context: ssl.SSLContext) -> type[aiohttp.test_utils.RawTestServer]:
    class TlsServer(aiohttp.test_utils.RawTestServer):
        async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
            await super().start_server(loop, ssl=context, **kwargs)

    return TlsServer


class _NoInterception(AiohttpInterceptor):
    """Stands in for kmock's host-name interceptor once it has been taken out: there is nothing to undo."""

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Listener(kmock.Server):
    """kmock's server without its host-name interceptor. kmock points aiohttp's resolver at every server it starts,
    stacked, so they must stop in the reverse order they started; the clusters of one test (a team's own cluster
    next to the shared one) stop and start in any order. Clients reach each by IP and port: nothing needs it."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self._managed_interceptor is not None:  # just entered: on top of the chain, so it can leave it
            await self._managed_interceptor.__aexit__(None, None, None)
            self._managed_interceptor = _NoInterception(self.host, self.port)
        return self


class EmulatorBug(AssertionError):
    """The emulator itself failed while serving a request (answered 500); the test must not pass."""


class KubeCluster:
    """An emulated kind-like cluster for one test.

    :param crds: serve the monitoring.coreos.com and autoscaling.k8s.io CRD kinds.
    :param namespace_termination_seconds: how long a deleted namespace stays ``Terminating`` (simulated
        time, see ``advance``); 0 deletes it at once. While terminating, creating it again answers 409 and
        creating content in it answers 403, as on a real cluster.
    :param nodes: the nodes (default: ``kind-control-plane`` tainted, ``kind-worker``, ``kind-worker2``).
    :param storage_classes: StorageClass objects (default: ``standard``, local-path, WaitForFirstConsumer).
    :param images: the image registry (default: ``images.default_images()``).
    :param provisioners: the dynamic provisioners running in the cluster (default: local-path).
    :param user: the identity named in injected 403 messages.
    :param admission_policy: evaluate the chart's ValidatingAdmissionPolicy for requests sent with
        ``BOT_TOKEN`` (the ServiceAccount the chart makes), as a cluster with the chart installed does.
    :param replicas: the chart's ``replicaCount`` its policy is rendered with: 2 lets the bot write its Lease.
    :param fail_on_emulator_bug: raise ``EmulatorBug`` on exit if the emulator crashed on any request.
    :param tls: serve HTTPS (``TLS_CA`` signs the certificate), as a kubeconfig with a token needs for kubectl.
    """

    def __init__(
        self,
        *,
        crds: bool = True,
        namespace_termination_seconds: float = 0.0,
        nodes: Iterable[NodeSpec] | None = None,
        storage_classes: Iterable[Obj] | None = None,
        images: ImageRegistry | None = None,
        provisioners: Iterable[Provisioner] | None = None,
        user: str = BOT_USER,
        admission_policy: bool = True,
        replicas: int = 1,
        host: str = "127.0.0.1",
        fail_on_emulator_bug: bool = True,
        tls: bool = False,
    ) -> None:
        self.emulator = KubeEmulator(
            crds=crds,
            user=user,
            users={BOT_TOKEN: BOT_USER},
            policies=list(chart_policies(replicas)) if admission_policy else [],
            namespace_termination_seconds=namespace_termination_seconds,
        )
        self.simulator = Simulator(
            self.emulator, nodes=nodes, storage_classes=storage_classes, images=images, provisioners=provisioners
        )
        self._host = host
        self._port: int | None = None
        self._server: kmock.Server | None = None
        self._fail_on_bug = fail_on_emulator_bug
        self.tls = tls

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.emulator.__aenter__()
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self.stop()
        await self.emulator.__aexit__(exc_type, exc, tb)
        if self._fail_on_bug and self.emulator.internal_errors and exc is None:
            first = self.emulator.internal_errors[0]
            raise EmulatorBug(
                f"the emulator failed on {len(self.emulator.internal_errors)} request(s): {first!r}"
            ) from first

    async def start(self) -> None:
        """(Re)start listening, on the same port as before so clients reconnect to the same URL."""
        if self._server is not None:
            return
        self.emulator.resume_streams()
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(TLS_DIR / "apiserver.crt", TLS_DIR / "apiserver.key")
            server = _Listener(self.emulator, host=self._host, port=self._port, server_cls=_tls_server(context))
        else:
            server = _Listener(self.emulator, host=self._host, port=self._port)
        await server.__aenter__()
        self._server = server
        self._port = server.port

    async def stop(self) -> None:
        """Stop listening: new connections are refused until ``start()``. Hung requests are released."""
        if self._server is None:
            return
        self.emulator.stop_streams()
        await self.emulator.wake_watchers()
        server, self._server = self._server, None
        await server.__aexit__(None, None, None)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the cluster has not been started")
        return f"{'https' if self.tls else 'http'}://{self._host}:{self._port}"

    # --- clients ----------------------------------------------------------------------------

    def configuration(self, *, token: str = "kubecamp-test-token") -> k8s.Configuration:
        configuration = k8s.Configuration(host=self.url)
        configuration.verify_ssl = self.tls
        if self.tls:
            configuration.ssl_ca_cert = str(TLS_CA)
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        # Served on loopback: no proxy to look up in the environment on each request (as the bot's clients).
        configuration.client_session_kwargs = {"trust_env": False}
        return configuration

    def api_client(self, *, token: str = "kubecamp-test-token") -> k8s.ApiClient:
        """An official async client for this cluster; the caller closes it (``async with``)."""
        return k8s.ApiClient(self.configuration(token=token))

    def write_kubeconfig(
        self,
        path: Path | str,
        *,
        token: str = "kubecamp-test-token",
        context: str = "kind-kubecamp",
        namespace: str | None = None,
    ) -> Path:
        """A kubeconfig for CLI tests: this server (over TLS, its CA; else TLS verification off), a bearer token."""
        path = Path(path)
        ctx: Obj = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.url, **self.trust()}}],
            "contexts": [{"name": context, "context": ctx}],
            "users": [{"name": context, "user": {"token": token}}],
        }
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML: every kubeconfig loader reads it
        return path

    def trust(self) -> Obj:
        """How a kubeconfig's cluster entry trusts this server: the CA over TLS, nothing over plain HTTP."""
        if self.tls:
            return {"certificate-authority-data": base64.b64encode(TLS_CA.read_bytes()).decode()}
        return {"insecure-skip-tls-verify": True}

    # --- reading state for assertions -------------------------------------------------------

    def objects(self, kind_plural: str, namespace: str | None = None) -> list[Obj]:
        """Live objects of a resource (``pods``, ``deployments``, ``Deployment``, ``deploy``), sorted by name."""
        return self.emulator.store.list(self.emulator.resource_def(kind_plural), namespace)

    def get(self, kind_plural: str, namespace: str | None, name: str) -> Obj | None:
        return self.emulator.store.get(self.emulator.resource_def(kind_plural), namespace, name)

    def events(self, namespace: str, *, name: str | None = None, reason: str | None = None) -> list[Obj]:
        """Events in a namespace, optionally about one object and/or with one reason."""
        return [
            e
            for e in self.objects("events", namespace)
            if (name is None or e["involvedObject"].get("name") == name)
            and (reason is None or e.get("reason") == reason)
        ]

    def pods_of(self, namespace: str, owner_name: str) -> list[Obj]:
        """Pods whose name starts with ``<owner_name>-`` (a Deployment's, StatefulSet's or DaemonSet's)."""
        return [p for p in self.objects("pods", namespace) if p["metadata"]["name"].startswith(f"{owner_name}-")]

    @property
    def requests(self) -> list[kmock.Request]:
        return list(iter(self.emulator))

    # --- changing the world -----------------------------------------------------------------

    def add_image(self, reference: str, image: Image) -> Image:
        """Publish an image to the simulated registry (e.g. ``Image(http_ports=frozenset({8000}))``) and re-settle."""
        self.simulator.images.add(reference, image)
        self.settle()
        return image

    def remove_image(self, reference: str) -> None:
        self.simulator.images.remove(reference)
        self.settle()

    def add_node(self, spec: NodeSpec) -> Obj:
        node = self.simulator.add_node(spec)
        self.settle()
        return node

    def read_node_file(self, node: str, path: str) -> str | None:
        """A file on a node's own filesystem (``/etc/kubernetes/manifests/kube-apiserver.yaml``)."""
        return self.simulator.files.read(node, path)

    def write_node_file(self, node: str, path: str, text: str) -> None:
        """Change a file on a node, as someone logged in to it would (``docker exec`` into a kind node and
        edit it); the kubelet then acts on it (a changed static Pod manifest restarts that Pod)."""
        self.simulator.files.write(node, path, text)
        self.settle()

    def create(self, kind_plural: str, body: Obj, namespace: str | None = None) -> Obj:
        """Create through the same admission path as the HTTP API (for test setup without a client)."""
        res = self.emulator.resource_def(kind_plural)
        return self.emulator.create(res, clone(body), namespace=namespace)

    def settle(self) -> None:
        self.emulator.settle()

    @contextlib.contextmanager
    def catching_up(self) -> Iterator[None]:
        """The controllers, the scheduler and the kubelets wait while a burst of writes goes in, then
        settle once: afterwards the cluster is where it would be once it caught up. Admission and
        validation still answer every write. For setting up a large class (settling after every write
        costs time in proportion to everything in the cluster)."""
        self.simulator.enabled = False
        try:
            yield
        finally:
            self.simulator.enabled = True
            self.settle()

    def advance(self, seconds: float) -> None:
        """Let simulated time pass: back-offs run out, containers crash and restart, deadlines expire."""
        self.simulator.advance(seconds)

    def freeze_time(self) -> None:
        """Stop wall time from moving the simulated clock: only ``advance`` does, to the second."""
        self.simulator.clock.freeze()

    # --- fault injection --------------------------------------------------------------------

    def fail(
        self,
        code: int = 500,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer matching requests with a Kubernetes ``Status`` of this code (403 messages name ``user``)."""
        return self.emulator.add_fault(
            Fault(code=code, verb=verb, resource=resource, namespace=namespace, name=name, times=times, message=message)
        )

    def hang(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Never answer matching requests (until ``clear_faults``/``stop``): the client's timeout fires."""
        return self.emulator.add_fault(
            Fault(code=504, verb=verb, resource=resource, namespace=namespace, name=name, times=times, hang=True)
        )

    def clear_faults(self) -> None:
        self.emulator.faults.clear()
