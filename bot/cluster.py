"""The Kubernetes side: team namespaces, server-side apply, teardown and namespace snapshots.

Built on the official asyncio client (`kubernetes.aio`). Requests go through the client's own
serialisation, auth and transport; we only choose paths from the fixed kinds table (`bot.kinds`),
so a snapshot costs one list call per kind (more only for a kind with more objects than a page) and a
missing CRD is one 404. What one snapshot keeps of a kind is bounded in objects and bytes: a team's
namespace must not be able to take the bot's memory.

The bot touches only namespaces that carry its label; every write checks it first. It creates a team
namespace with its labels, Pod Security, a quota, default limits and the RoleBinding of its team role
(`bot.team_namespace`); the cluster's admission policy enforces the same boundary for its ServiceAccount.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from kubernetes.aio import client as k8s
from kubernetes.aio import config as k8s_config
from kubernetes.aio.client.exceptions import ApiException
from yarl import URL

from bot.errors import (
    ApplyFailed,
    ClusterError,
    ClusterForbidden,
    ClusterUnavailable,
    KindNotServed,
    NamespaceMissing,
    NamespaceNotManaged,
)
from bot.i18n import Message
from bot.kinds import BY_NAME, KINDS, Kind, ObjectRef
from bot.kube_config import check_context, kubeconfig_files
from bot.kube_errors import ERROR_REASONS, AlreadyExists, NotFound, translate
from bot.metrics import Metrics
from bot.snapshot import Snapshot
from bot.team_namespace import FIELD_MANAGER, MANAGED_BY, NamespaceSetup

log = logging.getLogger(__name__)

#: Objects asked for per list request (`limit`; the rest follows with `continue`).
LIST_PAGE = 250
#: The most objects, and response bytes, one snapshot reads of one kind. A class's namespace holds tens
#: of objects; past this a kind is "could not check: too many objects", never a partial list.
MAX_LIST_ITEMS = 1000
MAX_LIST_BYTES = 16 * 1024 * 1024
#: How long a namespace the bot has just set up may take to reach the API server's caches: the admission
#: policy reads the namespace from an informer, the RBAC authorizer the new RoleBinding.
PROPAGATION_SECONDS = 5.0
PROPAGATION_STEP = 0.2


class TooManyObjects(ClusterError):
    """A kind had more objects, or bigger ones, than a snapshot reads."""

    def __init__(self, kind: Kind, namespace: str | None) -> None:
        super().__init__(
            f"{kind.kind} in {namespace or 'all namespaces'}: "
            f"more than {MAX_LIST_ITEMS} objects or {MAX_LIST_BYTES} bytes",
            reason=Message("cluster.too_many", {"kind": kind.kind, "items": MAX_LIST_ITEMS}),
        )


class _TooLarge(Exception):
    """A response body went past the bytes it was allowed."""


class Cluster:
    """One connection to one API server. Create with `Cluster.connect()`, close with `close()`."""

    def __init__(
        self,
        *,
        api: k8s.ApiClient,
        timeout: float,
        metrics: Metrics | None = None,
        setup: NamespaceSetup | None = None,
        owner: str | None = None,
    ) -> None:
        self._api = api
        #: The team whose own (throwaway) cluster this is, registered with `kubecamp team cluster set`; None for
        #: the shared one. Only on a team's own cluster does the bot change what is outside a namespace
        #: (`cluster_request`).
        self.owner = owner
        self._timeout = timeout
        self._metrics = metrics or Metrics()
        self._setup = setup or NamespaceSetup()
        # Namespaces seen carrying the bot's label; every write goes through _guard() first.
        self._managed: set[str] = set()
        # Namespaces whose RoleBinding, quota and limits this process has made sure of.
        self._set_up: set[str] = set()

    @classmethod
    async def connect(
        cls,
        *,
        kubeconfig: Path | None = None,
        context: str | None = None,
        request_timeout: float = 10.0,
        metrics: Metrics | None = None,
        setup: NamespaceSetup | None = None,
    ) -> Cluster:
        """In-cluster config inside a pod (unless a kubeconfig is named), else the kubeconfig."""
        configuration = k8s.Configuration()
        in_cluster = kubeconfig is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        # Resolved here, not by the client, which reads $KUBECONFIG once, when it is imported.
        where = "the pod's ServiceAccount" if in_cluster else kubeconfig_files(kubeconfig)
        try:
            if in_cluster:
                k8s_config.load_incluster_config(client_configuration=configuration)
            else:
                check_context(where, context)
                await k8s_config.load_kube_config(
                    config_file=where,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (k8s_config.ConfigException, OSError) as exc:
            raise ClusterUnavailable(
                f"cannot load Kubernetes configuration from {where}: {exc}",
                reason=Message("cluster.no_config", {"where": str(where)}),
            ) from exc
        return cls(api=api_client(configuration), timeout=request_timeout, metrics=metrics, setup=setup)

    @classmethod
    def for_host(
        cls,
        host: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        metrics: Metrics | None = None,
        setup: NamespaceSetup | None = None,
    ) -> Cluster:
        """A client for an API server URL (tests, `kubectl proxy`)."""
        configuration = k8s.Configuration(host=host)
        configuration.verify_ssl = False
        if token:
            configuration.api_key = {"BearerToken": token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return cls(api=api_client(configuration), timeout=timeout, metrics=metrics, setup=setup)

    @property
    def server(self) -> str:
        """The API server's URL, without any user or query in it (what `/team list` shows of a cluster)."""
        parts = urllib.parse.urlsplit(str(self._api.configuration.host))
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))

    async def close(self) -> None:
        await self._api.close()

    # --- transport ----------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        content_type: str = "application/json",
        budget: list[int] | None = None,
    ) -> dict[str, Any]:
        """One API request. With `budget` (a one-element list of bytes left), the body is read only up to
        it and the budget is charged for it; _TooLarge once the body would exceed it."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = await self._api.param_serialize(
            method, path, query_params=query or [], header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = await self._api.call_api(*request, _request_timeout=self._timeout)
            if budget is not None and 200 <= response.status <= 299:
                try:
                    listed: Any = json.loads(await _read_within(response.response, budget))
                except ValueError as exc:
                    raise ClusterUnavailable(f"{method} {path}: the answer is not JSON") from exc
                return listed if isinstance(listed, dict) else {}
            await response.read()
            result = self._api.response_deserialize(response, {"2XX": "object"})
        except ApiException as exc:
            error = translate(exc, method, path)
            if not isinstance(error, NotFound):  # counted where a 404 is an error: see _missing()
                self._metrics.kube_errors.labels(ERROR_REASONS.get(type(error), "server_error")).inc()
            raise error from exc
        except TimeoutError as exc:
            self._metrics.kube_errors.labels("timeout").inc()
            raise ClusterUnavailable(
                f"{method} {path}: no answer within {self._timeout:g}s",
                reason=Message("cluster.timeout", {"seconds": f"{self._timeout:g}"}),
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            self._metrics.kube_errors.labels("unreachable").inc()
            raise ClusterUnavailable(f"{method} {path}: {exc}") from exc
        data: Any = result.data  # "object" deserialises to the parsed JSON
        return data if isinstance(data, dict) else {}

    async def call(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        """One API request (`body`, `query`, `content_type`) for the modules built on this client
        (`bot.team_access`), with the errors of every request here: ObjectNotFound on 404, ObjectExists on 409
        AlreadyExists."""
        return await self._request(method, path, **request)

    # --- namespaces ---------------------------------------------------------------------------

    async def ensure_namespace(self, namespace: str, *, team: str) -> None:
        """Create the team's namespace with the bot's labels and set it up; refuse one that exists unlabelled.

        An existing namespace of the bot's is set up too (once per process): one made before the bot bound
        its team role there gets the RoleBinding, quota and limits at its next start.
        """
        kind = BY_NAME["Namespace"]
        try:
            existing = await self._request("GET", kind.object_path(None, namespace))
        except NotFound:
            body = self._setup.namespace(namespace, team=team)
            await self._request("POST", kind.collection_path(None), body=body)
            self._set_up.discard(namespace)  # a namespace of that name set up before was deleted since
            log.info("created namespace %s for team %s", namespace, team)
        else:
            _require_managed(existing, namespace)
        if namespace not in self._set_up:
            await self._set_up_namespace(namespace)
            self._set_up.add(namespace)
        self._managed.add(namespace)

    async def _set_up_namespace(self, namespace: str) -> None:
        """Create the RoleBinding, quota and limits (each once: 409 means it is there), then wait until the
        RoleBinding takes effect, so the scenario's first write is not refused."""
        for path, body in self._setup.objects(namespace):
            with contextlib.suppress(AlreadyExists):
                await self._propagated(functools.partial(self._request, "POST", path, body=body))
        if self._setup.team_role is not None:
            configmaps = BY_NAME["ConfigMap"].collection_path(namespace)
            await self._propagated(functools.partial(self._request, "GET", configmaps, query=[("limit", 1)]))

    async def _propagated(self, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Retry a request refused (403) or not finding the namespace (404) for up to PROPAGATION_SECONDS."""
        deadline = asyncio.get_running_loop().time() + PROPAGATION_SECONDS
        while True:
            try:
                await attempt()
                return
            except (ClusterForbidden, NotFound):
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(PROPAGATION_STEP)

    async def assert_managed(self, namespace: str) -> None:
        """Read the namespace afresh; raise NamespaceNotManaged unless it carries the bot's label.

        NamespaceMissing (a NamespaceNotManaged) when it does not exist at all.
        """
        self._managed.discard(namespace)
        try:
            existing = await self._request("GET", BY_NAME["Namespace"].object_path(None, namespace))
        except NotFound as exc:
            raise NamespaceMissing(namespace) from exc
        _require_managed(existing, namespace)
        self._managed.add(namespace)

    async def delete_namespace(self, namespace: str) -> bool:
        """Delete a namespace the bot made, with everything in it (a preflight's scratch namespace).

        Read afresh first: a namespace without the bot's label is refused (NamespaceNotManaged), never
        deleted. False if it was already gone. The API server finishes the deletion in the background.
        """
        kind = BY_NAME["Namespace"]
        self._managed.discard(namespace)
        self._set_up.discard(namespace)
        try:
            existing = await self._request("GET", kind.object_path(None, namespace))
        except NotFound:
            return False
        _require_managed(existing, namespace)
        try:
            await self._request(
                "DELETE",
                kind.object_path(None, namespace),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            )
        except NotFound:
            return False
        log.info("deleted namespace %s", namespace)
        return True

    async def _guard(self, namespace: str) -> None:
        if namespace not in self._managed:
            await self.assert_managed(namespace)

    # --- objects ------------------------------------------------------------------------------

    async def apply(self, namespace: str, body: dict[str, Any]) -> ObjectRef:
        """Server-side apply of one manifest into a managed namespace (creates it if absent)."""
        kind = _kind_of(body)
        await self._guard(namespace)
        obj = json.loads(json.dumps(body))  # a private copy: the catalogue's manifests stay untouched
        if kind.namespaced:
            obj.setdefault("metadata", {})["namespace"] = namespace
        name = obj["metadata"]["name"]
        try:
            await self._request(
                "PATCH",
                kind.object_path(namespace if kind.namespaced else None, name),
                body=obj,
                query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                content_type="application/apply-patch+yaml",
            )
        except NotFound as exc:
            raise self._missing(kind, exc) from exc
        return ObjectRef(api_version=kind.api_version, kind=kind.kind, name=name)

    async def delete(self, namespace: str, ref: ObjectRef) -> bool:
        """Delete one object (foreground, so pods go with their Deployment). False if it was gone."""
        kind = KINDS[(ref.api_version, ref.kind)]
        await self._guard(namespace)
        try:
            await self._request(
                "DELETE",
                kind.object_path(namespace if kind.namespaced else None, ref.name),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
            )
        except NotFound:
            return False
        return True

    async def missing_kinds(self, kinds: Iterable[Kind]) -> list[Kind]:
        """The kinds this server does not serve (their CRDs are not installed), via discovery."""
        missing: list[Kind] = []
        by_group: dict[str, list[Kind]] = {}
        for kind in kinds:
            by_group.setdefault(kind.api_version, []).append(kind)
        for api_version, group_kinds in sorted(by_group.items()):
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            try:
                listing = await self._request("GET", path)
            except NotFound:
                missing.extend(group_kinds)
                continue
            served = {r.get("name") for r in listing.get("resources") or []}
            missing.extend(k for k in group_kinds if k.plural not in served)
        return missing

    async def snapshot(
        self, namespace: str, kinds: Iterable[str], *, field_selectors: Mapping[str, str] | None = None
    ) -> Snapshot:
        """One list per kind, concurrently; a kind in `field_selectors` only what its selector selects (the API
        server's `fieldSelector`). A kind that fails is recorded in `errors`, never empty."""
        wanted = sorted(set(kinds))
        selectors = field_selectors or {}
        results = await asyncio.gather(
            *(self._list(namespace, BY_NAME[kind], selectors.get(kind)) for kind in wanted), return_exceptions=True
        )
        snapshot = Snapshot(namespace=namespace)
        for kind_name, result in zip(wanted, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ClusterError):
                    raise result
                snapshot.errors[kind_name] = _reason(result, BY_NAME[kind_name])
            else:
                snapshot.items[kind_name] = result
        return snapshot

    async def _list(self, namespace: str | None, kind: Kind, field_selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of the kind in the namespace (in every namespace when None) that the selector selects,
        a page at a time; TooManyObjects past MAX_LIST_ITEMS or MAX_LIST_BYTES."""
        path = kind.collection_path(namespace if kind.namespaced else None)
        items: list[dict[str, Any]] = []
        budget = [MAX_LIST_BYTES]
        selecting: list[tuple[str, Any]] = [("fieldSelector", field_selector)] if field_selector else []
        page: list[tuple[str, Any]] = [*selecting, ("limit", LIST_PAGE)]
        while True:
            try:
                listing = await self._request("GET", path, query=page, budget=budget)
            except NotFound as exc:
                raise self._missing(kind, exc) from exc
            except _TooLarge as exc:
                raise TooManyObjects(kind, namespace) from exc
            items.extend(listing.get("items") or [])
            if len(items) > MAX_LIST_ITEMS:
                raise TooManyObjects(kind, namespace)
            token = (listing.get("metadata") or {}).get("continue")
            if not token:
                return items
            page = [*selecting, ("limit", LIST_PAGE), ("continue", token)]

    def _missing(self, kind: Kind, error: NotFound) -> ClusterError:
        """A 404 where an object or list must exist (a namespace looked up, or a deleted object, is
        not an error). On a CRD kind the CRD is not installed; on a built-in kind something else is wrong."""
        self._metrics.kube_errors.labels("not_found").inc()
        if kind.crd:
            return KindNotServed(kind.api_version, kind.kind)
        return ClusterUnavailable(str(error), reason=error.reason)

    async def ping(self) -> None:
        await self._request("GET", "/version")

    # --- cluster scope: a team's own cluster only ---------------------------------------------

    async def cluster_request(
        self,
        team: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any] | None:
        """A request outside any team namespace (nodes, the bot's own namespace for node-level breaks), allowed
        only on `team`'s own cluster (ClusterForbidden otherwise, nothing sent). None when the object is not found."""
        self._require_own(team, method, path)
        try:
            return await self._request(method, path, body=body, query=query, content_type=content_type)
        except NotFound:
            return None

    async def cluster_list(self, team: str, kind: Kind, *, field_selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of a kind across all namespaces, paged and capped as a snapshot's lists are
        (TooManyObjects past the caps); on `team`'s own cluster only, as `cluster_request`."""
        self._require_own(team, "GET", kind.collection_path(None))
        return await self._list(None, kind, field_selector)

    def _require_own(self, team: str, method: str, path: str) -> None:
        if self.owner is None or self.owner != team:
            raise ClusterForbidden(
                f"{method} {path}: not {team}'s own cluster",
                reason=Message("cluster.not_own_cluster", {"team": team}),
            )

    async def health(self, path: str) -> tuple[int, str]:
        """`GET <path>?verbose` of the API server's health endpoints (/readyz, /livez): its status and text.
        ClusterUnavailable when it does not answer at all."""
        request = await self._api.param_serialize(
            "GET",
            path,
            query_params=[("verbose", "true")],
            header_params={"Accept": "text/plain"},
            auth_settings=["BearerToken"],
        )
        try:
            response = await self._api.call_api(*request, _request_timeout=self._timeout)
            text = (await response.response.read()).decode("utf-8", errors="replace")
        except TimeoutError as exc:
            raise ClusterUnavailable(
                f"GET {path}: no answer within {self._timeout:g}s",
                reason=Message("cluster.timeout", {"seconds": f"{self._timeout:g}"}),
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ClusterUnavailable(f"GET {path}: {exc}") from exc
        return response.status, text

    async def allowed(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None) -> bool:
        """Whether this client's user may do `verb` on `resource` (or on a path such as `/readyz`), as the API
        server's authorizer answers a SelfSubjectAccessReview (what `kubectl auth can-i` asks)."""
        spec: dict[str, Any]
        if resource.startswith("/"):
            spec = {"nonResourceAttributes": {"verb": verb, "path": resource}}
        else:
            attributes = {"verb": verb, "group": group, "resource": resource}
            if namespace is not None:
                attributes["namespace"] = namespace
            spec = {"resourceAttributes": attributes}
        review = await self._request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec},
        )
        return bool((review.get("status") or {}).get("allowed"))


async def kubeconfig_client(config: dict[str, Any], *, where: str) -> k8s.ApiClient:
    """The client of a team's own cluster from its kubeconfig (already parsed, one context; `where` names its
    source), for `Cluster(api=…, owner=<team>)`."""
    configuration = k8s.Configuration()
    try:
        await k8s_config.load_kube_config_from_dict(config, client_configuration=configuration)
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        raise ClusterUnavailable(
            f"cannot load the kubeconfig in {where}: {type(exc).__name__}",
            reason=Message("cluster.no_config", {"where": where}),
        ) from None  # the loader's own words may quote the kubeconfig: they stay out of every log
    return api_client(configuration)


def api_client(configuration: k8s.Configuration) -> k8s.ApiClient:
    """The official client, with the proxy environment (`HTTP(S)_PROXY`, `NO_PROXY`) read once, here, for the API
    server's URL, as client-go reads it once per process; a kubeconfig's `proxy-url` comes first. The client
    would otherwise have aiohttp look the proxy and ~/.netrc up again in a worker thread on every request
    (`trust_env`): two thread hops per request, an eighth of the CPU of a check."""
    if not configuration.proxy:
        with contextlib.suppress(LookupError):
            proxy, auth = get_env_proxy_for_url(URL(configuration.host))
            if auth is not None:  # aiohttp sends a proxy URL's user as Proxy-Authorization, over http and https
                proxy = proxy.with_user(auth.login).with_password(auth.password)
            configuration.proxy = str(proxy)
    configuration.client_session_kwargs = {**(configuration.client_session_kwargs or {}), "trust_env": False}
    return k8s.ApiClient(configuration)


def _kind_of(body: dict[str, Any]) -> Kind:
    api_version, kind_name = str(body.get("apiVersion")), str(body.get("kind"))
    kind = KINDS.get((api_version, kind_name))
    if kind is None:
        raise ApplyFailed(
            f"{kind_name} ({api_version}) is not a kind kubecamp-bot applies",
            reason=Message("cluster.kind_not_applied", {"kind": kind_name, "api_version": api_version}),
        )
    return kind


async def _read_within(response: aiohttp.ClientResponse, budget: list[int]) -> bytes:
    """The body, read a chunk at a time so that an oversized one is dropped before it is all in memory."""
    chunks: list[bytes] = []
    async for chunk in response.content.iter_chunked(64 * 1024):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            response.close()
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _require_managed(namespace_object: dict[str, Any], namespace: str) -> None:
    labels = namespace_object.get("metadata", {}).get("labels") or {}
    if labels.get(MANAGED_BY) != FIELD_MANAGER:
        raise NamespaceNotManaged(namespace)


#: The 404 and 409 of `Cluster.call`, for the modules that build on it.
ObjectNotFound = NotFound
ObjectExists = AlreadyExists


def _reason(error: ClusterError, kind: Kind) -> Message:
    """Why `kind` could not be listed: a 403 names the kind the bot may not read."""
    if isinstance(error, ClusterForbidden):
        return Message("cluster.forbidden", {"kind": kind.kind})
    return error.reason
