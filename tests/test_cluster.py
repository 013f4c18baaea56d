"""The Kubernetes API errors the bot counts, by reason, against the emulated API server's faults; the proxy it
reaches the API server through."""

from __future__ import annotations

import asyncio
import json
import os
import tracemalloc
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.cluster import LIST_PAGE, MAX_LIST_BYTES, MAX_LIST_ITEMS, Cluster
from bot.errors import ApplyFailed, ClusterForbidden, ClusterUnavailable, NamespaceNotManaged
from bot.i18n import LANGS, Message, render
from bot.metrics import KUBE_ERROR_REASONS, Metrics
from tests.emulators.fixtures import bot_cluster, chart_namespace_setup
from tests.emulators.kube import BOT_TOKEN, KubeCluster
from tests.i18n import korean
from tests.scheduling import SLEEPS_ON_REAL_TIMERS


@pytest_asyncio.fixture
async def counted(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[tuple[Cluster, Metrics, KubeCluster]]:
    """A short timeout, for the hung request to time out soon; not so short that a loaded machine's answer does
    (half a second did, to the namespace's set-up, with every core busy)."""
    metrics = Metrics()
    client = Cluster.for_host(
        kube_cluster_without_crds.url, token=BOT_TOKEN, timeout=1.5, metrics=metrics, setup=chart_namespace_setup()
    )
    try:
        yield client, metrics, kube_cluster_without_crds
    finally:
        await client.close()


@pytest_asyncio.fixture
async def paged(kube_cluster_without_crds: KubeCluster) -> AsyncIterator[tuple[Cluster, KubeCluster]]:
    """The bot's client with its usual timeout: a list of a thousand objects may meet a garbage collection
    pause on a busy machine, which `counted`'s short timeout would take for a timeout."""
    client = bot_cluster(kube_cluster_without_crds)
    try:
        yield client, kube_cluster_without_crds
    finally:
        await client.close()


def errors(metrics: Metrics) -> dict[str, float]:
    counts = {
        reason: metrics.registry.get_sample_value("kubecamp_kubernetes_api_errors_total", {"reason": reason})
        for reason in KUBE_ERROR_REASONS
    }
    return {reason: count for reason, count in counts.items() if count}


async def test_expected_404s_are_not_errors(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, metrics, _ = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")  # looked up (404), then created
    snapshot = await cluster.snapshot("kubecamp-blue", ["Pod", "ServiceMonitor"])
    assert snapshot.errors["ServiceMonitor"].key == "cluster.crd_missing"
    assert errors(metrics) == {"not_found": 1}  # the list of a kind whose CRD is not installed


@SLEEPS_ON_REAL_TIMERS
async def test_each_failure_is_counted_by_its_reason(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, metrics, kube = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
    kube.fail(403, verb="list", resource="pods", times=1)
    snapshot = await cluster.snapshot("kubecamp-blue", ["Pod"])
    assert snapshot.errors["Pod"].key == "cluster.forbidden"
    kube.fail(422, verb="patch", resource="deployments", times=1)
    with pytest.raises(ApplyFailed):
        await cluster.apply("kubecamp-blue", deployment)
    kube.fail(500, verb="list", resource="services", times=1)
    assert (await cluster.snapshot("kubecamp-blue", ["Service"])).errors["Service"].key == "cluster.server_error"
    kube.hang(verb="list", resource="configmaps", times=1)
    assert (await cluster.snapshot("kubecamp-blue", ["ConfigMap"])).errors["ConfigMap"].key == "cluster.timeout"
    kube.clear_faults()
    await kube.stop()
    with pytest.raises(ClusterUnavailable):
        await cluster.ping()
    assert errors(metrics) == {"forbidden": 1, "invalid": 1, "server_error": 1, "timeout": 1, "unreachable": 1}


async def test_only_a_namespace_the_bot_made_is_deleted(counted: tuple[Cluster, Metrics, KubeCluster]) -> None:
    cluster, _, kube = counted
    await cluster.ensure_namespace("kubecamp-preflight-1", team="preflight")
    kube.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    with pytest.raises(NamespaceNotManaged):
        await cluster.delete_namespace("payments")
    assert kube.get("namespaces", None, "payments") is not None
    assert await cluster.delete_namespace("kubecamp-preflight-1") is True
    assert kube.get("namespaces", None, "kubecamp-preflight-1") is None
    assert await cluster.delete_namespace("kubecamp-preflight-1") is False  # already gone
    with pytest.raises(NamespaceNotManaged):  # and no longer trusted as the bot's for writes
        await cluster.apply(
            "kubecamp-preflight-1", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        )


@SLEEPS_ON_REAL_TIMERS
async def test_every_failure_tells_its_reason_in_the_catalogues_words(
    counted: tuple[Cluster, Metrics, KubeCluster],
) -> None:
    """A user reads why, never the client library's text; the API server's own answer to an invalid manifest
    is quoted, as kubectl prints it."""
    cluster, _, kube = counted
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    invalid = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
    with pytest.raises(ApplyFailed) as rejected:
        await cluster.apply("kubecamp-blue", invalid)
    kube.fail(403, verb="delete", resource="deployments", times=1)
    with pytest.raises(ClusterForbidden) as denied:
        await cluster.delete("kubecamp-blue", await cluster.apply("kubecamp-blue", _deployment("api")))
    kube.fail(503, verb="list", resource="services", times=1)
    kube.hang(verb="list", resource="configmaps", times=1)
    snapshot = await cluster.snapshot("kubecamp-blue", ["Service", "ConfigMap"])
    kube.clear_faults()
    await kube.stop()
    with pytest.raises(ClusterUnavailable) as unreachable:
        await cluster.ping()

    reasons: dict[str, Message] = {
        "rejected": rejected.value.reason,
        "denied": denied.value.reason,
        "server_error": snapshot.errors["Service"],
        "timeout": snapshot.errors["ConfigMap"],
        "unavailable": unreachable.value.reason,
    }
    assert {name: reason.key for name, reason in reasons.items()} == {name: f"cluster.{name}" for name in reasons}
    assert reasons["server_error"].params == {"request": "GET /api/v1/namespaces/kubecamp-blue/services", "status": 503}
    assert reasons["rejected"].params["status"] == 422
    assert "spec.selector" in reasons["rejected"].params["answer"]  # the field the API server names
    for reason in reasons.values():
        for lang in LANGS:
            text = render(reason, lang)
            assert "aiohttp" not in text and "Cannot connect" not in text, text
        assert not korean.problems(render(reason, "ko")), render(reason, "ko")


def _deployment(name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": "nginx"}]}},
        },
    }


def pending_pod(name: str, padding: int) -> dict[str, object]:
    """A Pod no node will take (its nodeSelector matches none), carrying `padding` bytes of annotations."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": {"notes": "x" * padding}},
        "spec": {"nodeSelector": {"disk": "none"}, "containers": [{"name": "app", "image": "nginx:1.27"}]},
    }


async def test_a_kind_is_listed_a_page_at_a_time(paged: tuple[Cluster, KubeCluster]) -> None:
    cluster, kube = paged
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    for n in range(LIST_PAGE + 3):
        kube.create(
            "configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n:04}"}}, "kubecamp-blue"
        )
    before = len(kube.requests)
    snapshot = await cluster.snapshot("kubecamp-blue", ["ConfigMap"])
    names = [c["metadata"]["name"] for c in snapshot.list("ConfigMap") if c["metadata"]["name"] != "kube-root-ca.crt"]
    assert names == sorted(f"c{n:04}" for n in range(LIST_PAGE + 3))
    pages = [r for r in kube.requests[before:] if r.url.path.endswith("/configmaps")]
    assert [(r.params.get("limit"), bool(r.params.get("continue"))) for r in pages] == [
        (str(LIST_PAGE), False),
        (str(LIST_PAGE), True),
    ]


async def test_a_namespace_filled_to_exhaust_memory_is_too_many_objects(kube_cluster_without_crds: KubeCluster) -> None:
    kube = kube_cluster_without_crds
    cluster = bot_cluster(kube)
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    # A student's namespace: 1000 Pending Pods, 40 KB of annotations each (40 MB; the API allows 256 KB each).
    with kube.catching_up():
        for n in range(1000):
            kube.create("pods", pending_pod(f"filler-{n:04}", 40_000), "kubecamp-blue")
    before = len(kube.requests)
    tracemalloc.start()
    try:
        snapshot = await cluster.snapshot("kubecamp-blue", ["Pod"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await cluster.close()
    assert snapshot.errors["Pod"].key == "cluster.too_many"
    assert render(snapshot.errors["Pod"], "en") == (
        "too many objects: more Pod objects (or bigger ones) than the bot reads (at most 1000)"
    )
    # The bot stopped reading once past its budget: not every page was fetched.
    pages = [r for r in kube.requests[before:] if r.url.path.endswith("/pods")]
    assert len(pages) < 1000 // LIST_PAGE
    # The peak counts the emulator's own serialising of a page too (it runs in this process).
    assert peak < MAX_LIST_BYTES * 6, f"{peak / 2**20:.0f} MiB"


async def test_more_objects_than_a_snapshot_reads_is_too_many_objects(paged: tuple[Cluster, KubeCluster]) -> None:
    cluster, kube = paged
    await cluster.ensure_namespace("kubecamp-blue", team="blue")
    for n in range(MAX_LIST_ITEMS + 1):
        kube.create(
            "configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n:04}"}}, "kubecamp-blue"
        )
    snapshot = await cluster.snapshot("kubecamp-blue", ["ConfigMap"])
    assert snapshot.errors["ConfigMap"].key == "cluster.too_many"


class TunnelingProxy:
    """An HTTP proxy on loopback, as clients meet one: it opens a tunnel for a CONNECT (an https:// server) and
    passes an absolute-form request (an http:// server) on as it came, then carries the connection's bytes both
    ways. It keeps the request that opened each connection and its `Proxy-Authorization`."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TunnelingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *fields = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ")
        headers = {name.lower(): value for name, _, value in (field.partition(": ") for field in fields if field)}
        self.asked.append((f"{method} {target}", headers.get("proxy-authorization")))
        server = urllib.parse.urlsplit(target if method != "CONNECT" else f"//{target}")
        upstream_reader, upstream_writer = await asyncio.open_connection(server.hostname, server.port)
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream_writer.write(head)
        await asyncio.gather(_carry(reader, upstream_writer), _carry(upstream_reader, writer))


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The process's environment without any proxy setting the machine running the tests may have."""
    for name in os.environ:
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
async def test_the_api_server_is_reached_through_the_proxy_of_the_environment(
    tls: bool, no_proxy_settings: pytest.MonkeyPatch
) -> None:
    async with KubeCluster(crds=False, tls=tls) as kube, TunnelingProxy() as proxy:
        with_user = proxy.url.replace("http://", "http://instructor:s3cret@")
        no_proxy_settings.setenv("https_proxy" if tls else "http_proxy", with_user)
        cluster = Cluster.for_host(kube.url, token=BOT_TOKEN, setup=chart_namespace_setup())
        try:
            await cluster.ensure_namespace("kubecamp-blue", team="blue")
        finally:
            await cluster.close()
        assert kube.get("namespaces", None, "kubecamp-blue") is not None
    server = kube.url.partition("://")[2]
    opened = f"CONNECT {server}" if tls else f"GET {kube.url}/api/v1/namespaces/kubecamp-blue"
    instructor = aiohttp.encode_basic_auth("instructor", "s3cret")
    assert proxy.asked[0] == (opened, instructor)
    assert {credentials for _, credentials in proxy.asked} == {instructor}


async def test_no_proxy_and_a_kubeconfigs_proxy_url_decide_before_the_environment(
    kube_cluster_without_crds: KubeCluster, no_proxy_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kube = kube_cluster_without_crds
    async with TunnelingProxy() as environments, TunnelingProxy() as kubeconfigs:
        no_proxy_settings.setenv("http_proxy", environments.url)
        no_proxy_settings.setenv("no_proxy", "127.0.0.1")
        bypassed = Cluster.for_host(kube.url, token=BOT_TOKEN)
        try:
            await bypassed.ping()
        finally:
            await bypassed.close()
        assert environments.asked == []

        no_proxy_settings.delenv("no_proxy")
        config = json.loads(kube.write_kubeconfig(tmp_path / "config", token=BOT_TOKEN).read_text())
        config["clusters"][0]["cluster"]["proxy-url"] = kubeconfigs.url
        (tmp_path / "config").write_text(json.dumps(config))
        named = await Cluster.connect(kubeconfig=tmp_path / "config")
        try:
            await named.ping()
        finally:
            await named.close()
    assert environments.asked == []
    assert [asked for asked, _ in kubeconfigs.asked] == [f"GET {kube.url}/version"]
