"""A Kubernetes API server for tests: kmock's ``KubernetesEmulator`` with the semantics a client relies on.

On top of kmock it adds: the core ``namespaces`` resource and 404 for writes into a missing namespace;
create-on-apply (server-side apply), merge/strategic/JSON patches and ``PUT``; label and field
selectors; uids, ``resourceVersion``s, generations; defaulting, the common validation errors and
immutable fields; ``status``/``scale``/``log`` subresources; cascading deletion and finalizers; typed
``<Kind>List`` responses and watches; optional CRDs (404 when "not installed"); discovery as kubectl
reads it (``discovery``); fault injection; users by bearer token, and validating admission policies
(``admission``) evaluated for their writes; bound ServiceAccount tokens (``TokenRequest``), RBAC for the
requests that carry them and ``SelfSubjectAccessReview`` (``rbac``).

After every successful write the behaviour simulator (``simulator.Simulator``) runs synchronously, so
a read right after a write sees the state the controllers, the scheduler and the kubelets derive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import operator
import traceback
from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml
from kmock._internal import enums, parsing, rendering
from kmock._internal.dsl import Reaction

from . import defaults, discovery, validation
from .admission import ValidatingPolicy, admission_request
from .faults import Fault, Faults, fault_error
from .patches import PatchError, json_patch, merge_patch, server_side_apply, strategic_merge_patch
from .rbac import (
    DEFAULT_EXPIRATION_SECONDS,
    ISSUER,
    PROTOBUF,
    REVIEW_WITHOUT_ATTRIBUTES,
    TOKEN_REQUEST,
    Attributes,
    Authorizer,
    TokenIssuer,
    Unauthorized,
    UserInfo,
    expiration_problem,
    forbidden_message,
    review_attributes,
    review_from_protobuf,
)
from .resources import BUILTIN, CRDS, Obj, ResourceDef, ResourceTable
from .selectors import SelectorError, matches_label_selector, parse_field_selector
from .static_pods import HEALTH_CHECKS, health_text
from .store import SERVER_MANAGED_METADATA, Clock, Store, clone, kmock_resource, short_hash

ApiError = kmock.KubernetesError

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"


def status_error(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> ApiError:
    return ApiError(status=code, reason=reason, message=message, details=details or {})


def not_found(res: ResourceDef, name: str) -> ApiError:
    details = {"name": name, "kind": res.plural, **({"group": res.group} if res.group else {})}
    return status_error(404, "NotFound", f'{res.key} "{name}" not found', details)


def namespace_not_found(namespace: str) -> ApiError:
    return status_error(
        404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
    )


def invalid(res: ResourceDef, name: str, causes: list[tuple[str, str]]) -> ApiError:
    qualified = f"{res.kind}.{res.group}" if res.group else res.kind
    texts = [f"{field}: {message}" for field, message in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = {
        "name": name,
        "kind": res.kind,
        **({"group": res.group} if res.group else {}),
        "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes],
    }
    return status_error(422, "Invalid", f'{qualified} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> ApiError:
    return status_error(400, "BadRequest", message)


@attrs.define(kw_only=True)
class Route:
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None
    verb: str
    res: ResourceDef | None


def parse_route(method: str, path: str, query: dict[str, str], content_type: str) -> Route | None:
    """``/api/v1/namespaces/x/pods/y/status`` → a route; ``None`` for discovery and non-API paths."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    method = method.upper()
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if name else "list")
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "apply" if content_type.startswith("application/apply-patch") else "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return Route(
        group=group,
        version=version,
        plural=plural,
        namespace=namespace,
        name=name,
        subresource=subresource,
        verb=verb,
        res=None,
    )


@attrs.frozen(kw_only=True)
class Requester:
    """Who sent the request being served, for admission and self reviews: the user its bearer token names."""

    user: UserInfo
    subresource: str | None

    @property
    def username(self) -> str:
        return self.user.name


#: Who a token that names no user is: kind's admin (group system:masters), whom no policy of ours matches.
ADMIN = "kubernetes-admin"


@attrs.frozen(kw_only=True, eq=False)
class ApiRequest(rendering.Request):
    """kmock's request plus the parsed Kubernetes route."""

    route: Route | None = None


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """The API server. Serve it with ``kmock.Server(emulator)``; see ``kube.KubeCluster`` for the bundle.

    :param crds: serve the CRD kinds (ServiceMonitor, Prometheus, VerticalPodAutoscaler); when off,
        every request to them answers 404 like a cluster without those CRDs.
    :param user: the user named in injected 403 messages.
    :param users: bearer token → user name; a ServiceAccount token from a ``TokenRequest`` is that account
        (authorized by RBAC); any other token is ``ADMIN``.
    :param policies: the validating admission policies evaluated for every write a user sends (never for
        the controllers' own writes).
    """

    crds: bool = True
    namespace_termination_seconds: float = 0.0
    user: str = "system:serviceaccount:kubecamp:kubecamp-bot"
    users: dict[str, str] = attrs.field(factory=dict)
    policies: list[ValidatingPolicy] = attrs.field(factory=list)
    clock: Clock = attrs.field(factory=Clock)
    faults: Faults = attrs.field(factory=Faults, init=False)
    table: ResourceTable = attrs.field(init=False)
    store: Store = attrs.field(init=False)
    simulator: Any = attrs.field(default=None, init=False)
    internal_errors: list[BaseException] = attrs.field(factory=list, init=False)
    _applied: dict[tuple[str, str | None, str, str], Obj] = attrs.field(factory=dict, init=False)
    _changed: asyncio.Condition | None = attrs.field(default=None, init=False)
    _stopping: bool = attrs.field(default=False, init=False)
    _requester: Requester | None = attrs.field(default=None, init=False)
    #: The payloads the explicit reactions were sorted from, and those reactions (`_explicit_reactions`).
    _reactions: tuple[tuple[Reaction, ...], list[Reaction]] = attrs.field(default=((), []), init=False)
    tokens: TokenIssuer = attrs.field(factory=TokenIssuer, init=False)
    authorizer: Authorizer = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Error rendering, / and /version come from the scaffold, discovery from `discovery` (kmock's
        # lists subresources as resources and calls the core group "/v1", which kubectl cannot use);
        # resource requests are routed here, so kmock's simplistic CRUD fallbacks are not registered.
        kmock.KubernetesScaffold.__attrs_post_init__(self)
        self.fallback["get /version/"] << self._serve_server_version  # the official client adds the slash
        served = BUILTIN + (CRDS if self.crds else ())
        self.table = ResourceTable(served)
        for res in served:
            self.resources[res.path] = kmock.ResourceInfo(
                namespaced=res.namespaced,
                kind=res.kind,
                singular=res.singular,
                verbs=set(res.verbs),
                shortnames=set(res.shortnames),
                subresources=set(res.subresources),
            )
        self.store = Store(self.objects, self.clock)
        self.authorizer = Authorizer(self.store, self.table)

    async def _serve_server_version(self, request: rendering.Request) -> rendering.Payload:
        """What kind v0.29 (Kubernetes v1.33) reports; the simulated kubelets claim the same version."""
        return {
            "major": "1",
            "minor": "33",
            "emulationMajor": "1",
            "emulationMinor": "33",
            "minCompatibilityMajor": "1",
            "minCompatibilityMinor": "32",
            "gitVersion": "v1.33.1",
            "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
            "gitTreeState": "clean",
            "buildDate": "2025-05-15T08:19:08Z",
            "goVersion": "go1.24.2",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    # --- the HTTP edge ----------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock's own request parser cannot split /api/v1/namespaces; parse it here (same fields).
        if self.simulator is not None and not self.simulator.static_pods.serving():
            # The kube-apiserver static Pod is down: what is left on the port resets the connection
            # (kind's port mapping accepts, then nothing behind it answers).
            if raw_request.transport is not None:
                raw_request.transport.abort()
            return aiohttp.web.Response(status=503)  # never sent: the connection is gone
        body = await raw_request.read()
        request = await self._parse_request(raw_request, body)
        self._requests.append(request)
        try:
            return await self._handle(request)
        except ApiError as exc:
            return self._status_response(exc)
        except rendering.StreamingError as exc:  # pragma: no cover - a watch broke mid-stream
            response: aiohttp.web.StreamResponse = exc.args[0]  # kmock raises it with the response it began
            return response
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # a bug in the emulator: answer 500 and keep it for the test to see
            self.internal_errors.append(exc)
            return self._status_response(
                status_error(500, "InternalError", f"emulator bug: {exc!r}", {"traceback": traceback.format_exc()})
            )

    async def _parse_request(self, raw: aiohttp.web.BaseRequest, body: bytes) -> rendering.Request:
        text = body.decode("utf-8", errors="replace")
        data: Any = None
        if body:
            try:
                data = json.loads(text)
            except ValueError:
                try:
                    data = yaml.safe_load(text)
                except yaml.YAMLError:
                    data = None
        query = dict(raw.query)
        content_type = raw.headers.get("Content-Type", "")
        route = parse_route(raw.method, raw.path, query, content_type)
        k8s = parsing.ParsedPath()
        if route is None:
            try:
                k8s = parsing.parse_path(raw.path)
            except ValueError:
                k8s = parsing.ParsedPath()
            resource = (
                None if k8s.group is None else kmock.resource(group=k8s.group, version=k8s.version, plural=k8s.plural)
            )
            action = parsing.guess_k8s(k8s, enums.method(raw.method), query)
            namespace, name, subresource = k8s.namespace, k8s.name, k8s.subresource
        else:
            resource = kmock_resource(route.group, route.version, route.plural)
            action = {
                "get": enums.action.FETCH,
                "list": enums.action.LIST,
                "watch": enums.action.WATCH,
                "create": enums.action.CREATE,
                "patch": enums.action.UPDATE,
                "apply": enums.action.UPDATE,
                "delete": enums.action.DELETE,
            }.get(route.verb)
            namespace, name, subresource = route.namespace, route.name, route.subresource
        request = ApiRequest(
            route=route,
            id=len(self._requests),
            raw_request=raw,
            url=raw.url,
            method=raw.method,
            params=query,
            headers=dict(raw.headers),
            cookies=dict(raw.cookies),
            data=data,
            body=body,
            text=text,
            action=action,
            resource=resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
        )
        return request

    def _status_response(self, exc: ApiError) -> aiohttp.web.Response:
        if exc.reason == "PageNotFound":
            return aiohttp.web.Response(status=404, text="404 page not found\n", content_type="text/plain")
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": exc.message,
            "reason": exc.reason,
            "code": exc.status,
        }
        if exc.details:
            body["details"] = exc.details
        return aiohttp.web.json_response(body, status=exc.status)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        route = request.route if isinstance(request, ApiRequest) else None
        if route is not None:
            route.res = self.table.get(route.group, route.version, route.plural)
        verb = route.verb if route else str(request.method).lower()
        fault = self.faults.match(
            verb, route.res if route else None, route.namespace if route else None, route.name if route else None
        )
        if fault is not None:
            if fault.hang:
                await self.faults.hang()
                raise status_error(
                    504,
                    "Timeout",
                    "Timeout: request did not complete within requested timeout - context deadline exceeded",
                )
            raise fault_error(
                fault,
                verb,
                route.res if route else None,
                route.namespace if route else None,
                route.name if route else None,
                self.user,
            )
        user = self._authenticate(request)
        self._authorize(user, _attributes(route, request))
        if route is None:
            return await self._serve_non_resource(request)
        if route.res is None:
            known_group = any(r.group == route.group and r.version == route.version for r in self.table)
            if not known_group:
                raise status_error(404, "PageNotFound", "404 page not found")
            raise status_error(404, "NotFound", "the server could not find the requested resource")
        intercepted = await self._user_reaction(request)
        if intercepted is not None:
            return intercepted
        if route.verb == "watch":
            return await self._serve_watch_stream(request, route)
        async with self._lock:
            self._requester = Requester(user=user, subresource=route.subresource)
            try:
                status, payload = self._serve(route, request)
            finally:
                self._requester = None
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()
        if isinstance(payload, str):
            return aiohttp.web.Response(status=status, text=payload, content_type="text/plain")
        return aiohttp.web.json_response(payload, status=status)

    def _authenticate(self, request: rendering.Request) -> UserInfo:
        """The user of the request's bearer token; 401 for a ServiceAccount token that no longer holds."""
        scheme, _, token = str(request.headers.get("Authorization", "")).partition(" ")
        if scheme.lower() != "bearer":
            return UserInfo(name=ADMIN)
        if token in self.users:
            return UserInfo(name=self.users[token])
        try:
            user = self.tokens.authenticate(
                token, now=self.clock.now(), store=self.store, accounts=self.table.find("serviceaccounts")
            )
        except Unauthorized:
            raise status_error(401, "Unauthorized", "Unauthorized") from None
        return user or UserInfo(name=ADMIN)

    def _authorize(self, user: UserInfo, attributes: Attributes) -> None:
        """RBAC for ServiceAccount users: the API server's 403 when no binding allows the request."""
        if not user.rbac:
            return
        allowed, reason = self.authorizer.authorize(user, attributes)
        if allowed:
            return
        details: dict[str, Any] = {}
        if attributes.resource_request and attributes.resource:
            details = {"kind": attributes.resource, **({"group": attributes.api_group} if attributes.api_group else {})}
            if attributes.name:
                details["name"] = attributes.name
        raise status_error(403, "Forbidden", forbidden_message(user, attributes, reason), details)

    async def _serve_non_resource(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """Discovery from the served resources (``discovery``), ``/version``; DSL reactions first."""
        intercepted = await self._user_reaction(request)
        if intercepted is not None:
            return intercepted
        path = request.url.path
        if request.method == "GET" and discovery.is_discovery_path(path):
            found = discovery.document(path, request.headers.get("Accept", ""), self.table)
            if found is None:
                raise status_error(404, "PageNotFound", "404 page not found")
            document, content_type = found
            return aiohttp.web.Response(text=json.dumps(document), headers={"Content-Type": content_type})
        if request.method == "GET" and path in HEALTH_CHECKS:
            return aiohttp.web.Response(text=health_text(path, verbose="verbose" in request.params))
        return await kmock.RawHandler._handle(self, request)  # /version, /, and kmock's 404s

    async def _user_reaction(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """Explicit kmock DSL reactions (``emulator['get /...'] << 500``) win over the emulation."""
        for payload in self._explicit_reactions():
            if request in payload._source and not payload._disabled.is_set():
                try:
                    return await payload(request)
                except rendering.ReactionMismatchError:
                    payload._disabled.set()
                except NotImplementedError:
                    pass
        return None

    def _explicit_reactions(self) -> list[Reaction]:
        """The reactions that are not kmock's fallbacks, highest priority first: sorted again only when the
        payloads change (a payload is immutable; walking each one's DSL tree for its priorities was a sixth of a
        GET's CPU)."""
        sorted_from, reactions = self._reactions
        current = self._payloads
        if len(sorted_from) != len(current) or not all(map(operator.is_, sorted_from, current)):
            reactions = [p for p in current if not (p.priorities and p.priorities[0] == -math.inf)]
            reactions.sort(key=lambda p: tuple(-x for x in p.priorities))
            self._reactions = (tuple(current), reactions)
        return reactions

    # --- dispatch ---------------------------------------------------------------------------

    def _serve(self, route: Route, request: rendering.Request) -> tuple[int, Any]:
        res = route.res
        assert res is not None
        namespace = route.namespace if res.namespaced else None
        if res.namespaced and route.namespace is None and route.verb not in ("list", "watch"):
            raise status_error(404, "NotFound", "the server could not find the requested resource")
        data = request.data
        params = request.params
        if route.subresource:
            return self._serve_subresource(route, res, namespace, data, params)
        if res.kind == "SelfSubjectAccessReview" and route.verb == "create":
            if request.headers.get("Content-Type", "").startswith(PROTOBUF):
                try:
                    data = review_from_protobuf(request.body)
                except (ValueError, IndexError) as exc:
                    raise bad_request(f"the body of the request was in an unknown format: {exc}") from exc
            return 201, self._self_review(res, data)
        if route.verb == "get":
            obj = self.store.get(res, namespace, str(route.name))
            if obj is None:
                raise not_found(res, str(route.name))
            return 200, obj
        if route.verb == "list":
            return 200, self._list(res, namespace, params)
        if route.verb == "create":
            if not isinstance(data, dict):
                raise bad_request("the body of the request was in an unknown format")
            return 201, self.create(res, data, namespace=namespace, dry_run="dryRun" in params)
        if route.verb == "update":
            if not isinstance(data, dict):
                raise bad_request("the body of the request was in an unknown format")
            return 200, self._update(res, namespace, str(route.name), data)
        if route.verb == "apply":
            return self._apply(res, namespace, str(route.name), data, params)
        if route.verb == "patch":
            return 200, self._patch(res, namespace, str(route.name), data, request.headers.get("Content-Type", ""))
        if route.verb == "delete":
            options = data if isinstance(data, dict) else {}
            policy = options.get("propagationPolicy") or params.get("propagationPolicy") or "Background"
            if options.get("orphanDependents") is True:
                policy = "Orphan"
            obj = self.delete_object(res, namespace, str(route.name), propagation=policy)
            return 200, obj
        if route.verb == "deletecollection":
            items = self._list(res, namespace, params)["items"]
            for item in items:
                self.delete_object(res, item["metadata"].get("namespace"), item["metadata"]["name"])
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        raise status_error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _list(self, res: ResourceDef, namespace: str | None, params: Any) -> Obj:
        try:
            label_selector = params.get("labelSelector")
            field_predicate = parse_field_selector(params.get("fieldSelector"))
            # The API server omits apiVersion and kind on list items. The rest is the stored objects' own (never
            # changed once stored): a list is only serialized or read.
            items = [
                {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
                for obj in self.store.scan(res, namespace)
                if matches_label_selector(label_selector, obj["metadata"].get("labels")) and field_predicate(obj)
            ]
        except SelectorError as exc:
            raise bad_request(str(exc)) from exc
        metadata: Obj = {"resourceVersion": str(self.store.resource_version)}
        items = self._page(items, params, metadata)
        return {"apiVersion": res.api_version, "kind": f"{res.kind}List", "metadata": metadata, "items": items}

    def _page(self, items: list[Obj], params: Any, metadata: Obj) -> list[Obj]:
        """``limit`` and ``continue`` as the API server pages a list: in key order (namespace/name), the
        token naming the key to start after. Unlike etcd, a continuation reads the current state, not
        the first page's resourceVersion."""
        token = params.get("continue")
        if token:
            try:
                start = json.loads(base64.b64decode(token, validate=True))["start"]
            except (ValueError, KeyError, TypeError) as exc:
                raise bad_request(f"continue key is not valid: {exc}") from exc
            items = [i for i in items if _list_key(i) > start]
        try:
            limit = int(params.get("limit") or 0)
        except ValueError as exc:
            raise bad_request(f"limit: Invalid value: {params.get('limit')!r}") from exc
        if limit <= 0 or len(items) <= limit:
            return items
        page, rest = items[:limit], items[limit:]
        last = {"v": "meta.k8s.io/v1", "rv": self.store.resource_version, "start": _list_key(page[-1])}
        metadata["continue"] = base64.b64encode(json.dumps(last).encode()).decode()
        metadata["remainingItemCount"] = len(rest)
        return page

    # --- writes (also the simulator's entry points) -----------------------------------------

    def resource_def(self, name: str) -> ResourceDef:
        return self.table.find(name)

    def _require_namespace(self, res: ResourceDef, namespace: str | None, name: str = "") -> None:
        if not res.namespaced:
            return
        ns_res = self.table.find("namespaces")
        ns = self.store.peek(ns_res, None, str(namespace))
        if ns is None:
            raise namespace_not_found(str(namespace))
        if ns["metadata"].get("deletionTimestamp"):
            raise status_error(
                403,
                "Forbidden",
                f'{res.key} "{name}" is forbidden: unable to create new '
                f"content in namespace {namespace} because it is being terminated",
                {
                    "name": name,
                    "kind": res.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    def _prepare(self, res: ResourceDef, obj: Obj, namespace: str | None) -> Obj:
        obj = clone(obj)
        if obj.get("apiVersion") not in (None, res.api_version) or obj.get("kind") not in (None, res.kind):
            raise bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                f"API version ({res.api_version})"
                if obj.get("apiVersion") != res.api_version
                else f'{obj.get("kind")} in version "{res.version}" cannot be handled as a {res.kind}'
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if res.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or body_ns
        else:
            meta.pop("namespace", None)
        for field in SERVER_MANAGED_METADATA:
            meta.pop(field, None)
        return obj

    def create(self, res: ResourceDef, body: Obj, *, namespace: str | None = None, dry_run: bool = False) -> Obj:
        """Create through admission: defaults, validation, the namespace and service-account checks."""
        obj = self._prepare(res, body, namespace or body.get("metadata", {}).get("namespace"))
        meta = obj["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                base = meta["generateName"]
                index = 0
                while True:
                    meta["name"] = base + short_hash(base, str(meta.get("namespace")), str(index), length=5)
                    if self.store.peek(res, meta.get("namespace"), meta["name"]) is None:
                        break
                    index += 1
            else:
                raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required")])
        self._require_namespace(res, meta.get("namespace"), meta["name"])
        if self.store.peek(res, meta.get("namespace"), meta["name"]) is not None:
            raise status_error(
                409,
                "AlreadyExists",
                f'{res.key} "{meta["name"]}" already exists',
                {"name": meta["name"], "kind": res.plural, **({"group": res.group} if res.group else {})},
            )
        if "status" in res.subresources and res.kind != "Namespace":
            obj.pop("status", None)
        defaults.apply_defaults(res.kind, obj, creating=True)
        self._admit(res, obj)
        causes = validation.validate(res.kind, obj)
        if causes:
            raise invalid(res, meta["name"], causes)
        self._validating_admission("CREATE", res, obj, None)
        if dry_run:
            return obj
        created = self.store.create(res, obj)
        self.settle()
        return self._after_settling(res, created)

    def _admit(self, res: ResourceDef, obj: Obj) -> None:
        """Admission plugins of a stock cluster that change or refuse new objects."""
        namespace = obj["metadata"].get("namespace")
        if res.kind == "Pod":
            sa = obj["spec"].get("serviceAccountName", "default")
            if self.store.peek(self.table.find("serviceaccounts"), namespace, sa) is None:
                raise status_error(
                    403,
                    "Forbidden",
                    f'pods "{obj["metadata"]["name"]}" is forbidden: error looking '
                    f'up service account {namespace}/{sa}: serviceaccount "{sa}" not found',
                    {"name": obj["metadata"]["name"], "kind": "pods"},
                )
        if res.kind == "PersistentVolumeClaim" and "storageClassName" not in obj["spec"]:
            for sc in self.store.scan(self.table.find("storageclasses")):
                annotations = sc["metadata"].get("annotations") or {}
                if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                    obj["spec"]["storageClassName"] = sc["metadata"]["name"]
                    break
        if res.kind == "Service":
            self._allocate_service(obj)

    def _allocate_service(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        used = {s["spec"].get("clusterIP") for s in self.store.scan(self.table.find("services"))} | {
            p.get("nodePort")
            for s in self.store.scan(self.table.find("services"))
            for p in s["spec"].get("ports") or []
        }
        if spec.get("type") != "ExternalName":
            if not spec.get("clusterIP"):
                key = f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
                index = int.from_bytes(key.encode(), "big") % 62500
                while True:
                    ip = f"10.96.{(index // 250) % 250 + 1}.{index % 250 + 2}"
                    if ip not in used:
                        break
                    index += 1
                spec["clusterIP"] = ip
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            if spec["clusterIP"] != "None":
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for index, port in enumerate(spec.get("ports") or []):
                if not port.get("nodePort"):
                    candidate = 30000 + (sum(map(ord, obj["metadata"]["name"])) * 31 + index) % 2768
                    while candidate in used:
                        candidate += 1
                    port["nodePort"] = candidate
                    used.add(candidate)
        if spec.get("type") == "LoadBalancer":
            obj.setdefault("status", {}).setdefault("loadBalancer", {})

    def _write_existing(self, res: ResourceDef, old: Obj, new: Obj, *, status_only: bool = False) -> Obj:
        """Validate and store an update of a live object (main resource or status subresource)."""
        name = old["metadata"]["name"]
        if status_only:
            merged = clone(old)
            merged["status"] = clone(new.get("status", {}))
            new = merged
        else:
            if "status" in res.subresources and res.kind != "Namespace":
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            defaults.apply_defaults(res.kind, new, creating=False)
            if res.kind == "Service":
                self._allocate_service(new)
            causes = validation.validate(res.kind, new) + validation.validate_update(res.kind, old, new)
            if causes:
                raise invalid(res, name, causes)
        self._validating_admission("UPDATE", res, new, old)
        for field in SERVER_MANAGED_METADATA:
            if field in old["metadata"]:
                new["metadata"][field] = old["metadata"][field]
        if old["metadata"].get("deletionTimestamp"):
            new["metadata"]["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
        stored = self.store.update(res, new)
        if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get("finalizers"):
            self.store.delete(res, stored["metadata"].get("namespace"), name)
        self.settle()
        return self._after_settling(res, stored)

    def _after_settling(self, res: ResourceDef, written: Obj) -> Obj:
        """A copy of the object as the controllers left it, or as written (the stored dict) when they deleted it."""
        meta = written["metadata"]
        live = self.store.peek(res, meta.get("namespace"), meta["name"])
        return clone(written if live is None else live)

    def _live(self, res: ResourceDef, namespace: str | None, name: str) -> Obj:
        live = self.store.get(res, namespace, name)
        if live is None:
            raise not_found(res, name)
        return live

    def _update(self, res: ResourceDef, namespace: str | None, name: str, body: Obj) -> Obj:
        live = self._live(res, namespace, name)
        new = self._prepare(res, body, namespace)
        if new["metadata"].get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({new['metadata']['name']}) does not match the name on the URL ({name})"
            )
        new["metadata"]["name"] = name
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise status_error(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.key} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": name, "kind": res.plural, **({"group": res.group} if res.group else {})},
            )
        return self._write_existing(res, live, new)

    def _patch(self, res: ResourceDef, namespace: str | None, name: str, data: Any, content_type: str) -> Obj:
        live = self._live(res, namespace, name)
        try:
            if content_type.startswith(JSONPATCH):
                if not isinstance(data, list):
                    raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                patched = json_patch(live, data)
            elif not isinstance(data, dict):
                raise bad_request("the body of the request was in an unknown format")
            elif content_type.startswith(STRATEGIC):
                patched = strategic_merge_patch(live, data)
            elif content_type.startswith(MERGE):
                patched = merge_patch(live, data)
            else:
                raise status_error(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - "
                    f"accepted media types include: {JSONPATCH}, {MERGE}, {STRATEGIC}, {APPLY}",
                )
        except PatchError as exc:
            raise status_error(422, "Invalid", str(exc)) from exc
        patched["metadata"]["name"] = name
        return self._write_existing(res, live, self._prepare(res, patched, namespace))

    def _apply(self, res: ResourceDef, namespace: str | None, name: str, data: Any, params: Any) -> tuple[int, Obj]:
        if not isinstance(data, dict):
            raise bad_request("error decoding YAML: the body of the apply request is not an object")
        manager = params.get("fieldManager")
        if not manager:
            raise bad_request("PATCH apply requires a fieldManager (metadata.managedFields.manager: Required value)")
        if not data.get("apiVersion") or not data.get("kind"):
            raise bad_request("invalid object type: apply patches must set apiVersion and kind")
        body_name = (data.get("metadata") or {}).get("name")
        if body_name != name:
            raise bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        key = (res.path, namespace, name, str(manager))
        applied = clone(data)
        if "status" in res.subresources and res.kind != "Namespace":
            applied.pop("status", None)  # status is written through /status only
        for field in SERVER_MANAGED_METADATA:
            (applied.get("metadata") or {}).pop(field, None)
        live = self.store.get(res, namespace, name)
        if live is None:
            obj = self.create(res, applied, namespace=namespace, dry_run="dryRun" in params)
            if "dryRun" not in params:
                self._applied[key] = applied
            return 201, obj
        merged = server_side_apply(live, self._applied.get(key), applied)
        stored = self._write_existing(res, live, self._prepare(res, merged, namespace))
        self._applied[key] = applied
        return 200, stored

    def replace_status(self, res: ResourceDef, obj: Obj) -> Obj:
        """The controllers' own write: store the object as given (no admission), then nothing else."""
        return clone(self.store.update(res, obj))

    def delete_object(
        self, res: ResourceDef, namespace: str | None, name: str, *, propagation: str = "Background"
    ) -> Obj:
        live = self._live(res, namespace, name)
        self._validating_admission("DELETE", res, None, live)
        now = self.clock.stamp()
        if res.kind == "Namespace" and self.namespace_termination_seconds > 0:
            return self._terminate_namespace(live)
        if live["metadata"].get("finalizers"):
            if not live["metadata"].get("deletionTimestamp"):
                live["metadata"]["deletionTimestamp"] = now
                live["metadata"]["deletionGracePeriodSeconds"] = 0
                live = self.store.update(res, live)
                self.settle()
            return self.store.get(res, namespace, name) or clone(live)
        self._delete_now(res, live, propagation)
        self.settle()
        live["metadata"]["deletionTimestamp"] = now
        if res.kind == "Namespace":
            live.setdefault("status", {})["phase"] = "Terminating"
        return live

    def _terminate_namespace(self, live: Obj) -> Obj:
        """Terminating: the content goes now, the namespace itself after ``namespace_termination_seconds``."""
        meta = live["metadata"]
        if not meta.get("deletionTimestamp"):
            self._delete_contents(meta["name"])
            meta["deletionTimestamp"] = self.clock.stamp()
            meta["deletionGracePeriodSeconds"] = 0
            live["status"] = {
                "phase": "Terminating",
                "conditions": [
                    {
                        "type": "NamespaceContentRemaining",
                        "status": "False",
                        "reason": "ContentRemoved",
                        "message": "All content successfully removed",
                        "lastTransitionTime": meta["deletionTimestamp"],
                    },
                ],
            }
            live = clone(self.store.update(self.table.find("namespaces"), live))
            self.settle()
        return live

    def _delete_contents(self, namespace: str) -> None:
        for other in self.table:
            if other.namespaced:
                for obj in self.store.scan(other, namespace):
                    self.store.delete(other, namespace, obj["metadata"]["name"])
                    self._forget_applied(other, namespace, obj["metadata"]["name"])

    def _delete_now(self, res: ResourceDef, live: Obj, propagation: str) -> None:
        meta = live["metadata"]
        uid = meta["uid"]
        if res.kind == "Namespace":
            self._delete_contents(meta["name"])
        else:
            for other in self.table:
                for obj in self.store.dependents(other, meta.get("namespace") if other.namespaced else None, uid):
                    owners = obj["metadata"]["ownerReferences"]
                    if propagation == "Orphan":
                        obj["metadata"]["ownerReferences"] = [o for o in owners if o.get("uid") != uid]
                        self.store.update(other, obj)
                    elif self.store.peek(other, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
                        self._delete_now(other, obj, "Background")
        self.store.delete(res, meta.get("namespace"), meta["name"])
        self._forget_applied(res, meta.get("namespace"), meta["name"])

    def _forget_applied(self, res: ResourceDef, namespace: str | None, name: str) -> None:
        for key in [k for k in self._applied if k[:3] == (res.path, namespace, name)]:
            del self._applied[key]

    def settle(self) -> None:
        """Let the controllers, the scheduler and the kubelets react (synchronously, to a fixpoint). Their
        writes are their own, not the requester's: admission policies do not see them."""
        if self.simulator is not None:
            requester, self._requester = self._requester, None
            try:
                self.simulator.run()
            finally:
                self._requester = requester

    def _validating_admission(self, operation: str, res: ResourceDef, obj: Obj | None, old: Obj | None) -> None:
        """The policies, for a write a user sent: 403 as the API server words it when one denies."""
        requester = self._requester
        if requester is None or not self.policies:
            return
        meta = (obj if obj is not None else old or {})["metadata"]
        name = meta.get("name", "")
        if res.kind == "Namespace":
            # The API server's request info names a namespace's own namespace, except on create (no name in
            # the path); the policy gets no namespaceObject for it.
            namespace, namespace_object = ("" if operation == "CREATE" else name), None
        elif res.namespaced:
            namespace = meta.get("namespace") or ""
            namespace_object = self.store.peek(self.table.find("namespaces"), None, namespace)
        else:
            namespace, namespace_object = "", None
        request = admission_request(
            res,
            operation=operation,
            name=name,
            namespace=namespace,
            username=requester.username,
            subresource=requester.subresource,
            uid=f"emulated-{self.store.resource_version}",
        )
        for policy in self.policies:
            denial = policy.denial(request, obj, old, namespace_object)
            if denial is not None:
                details = {"name": name, "kind": res.plural, **({"group": res.group} if res.group else {})}
                raise status_error(403, "Forbidden", f'{res.key} "{name}" is forbidden: {denial}', details)

    # --- subresources -----------------------------------------------------------------------

    def _serve_subresource(
        self, route: Route, res: ResourceDef, namespace: str | None, data: Any, params: Any
    ) -> tuple[int, Any]:
        name = str(route.name)
        sub = route.subresource
        if sub not in res.subresources:
            raise status_error(404, "NotFound", "the server could not find the requested resource")
        live = self._live(res, namespace, name)
        if sub == "status":
            if route.verb == "get":
                return 200, live
            if route.verb == "update":
                return 200, self._write_existing(res, live, data if isinstance(data, dict) else {}, status_only=True)
            if route.verb in ("patch", "apply"):
                patched = merge_patch(live, data) if isinstance(data, dict) else live
                return 200, self._write_existing(res, live, patched, status_only=True)
        if sub == "scale":
            if route.verb in ("update", "patch", "apply"):
                replicas = ((data or {}).get("spec") or {}).get("replicas")
                if not isinstance(replicas, int) or replicas < 0:
                    raise invalid(
                        res, name, [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")]
                    )
                new = clone(live)
                new["spec"]["replicas"] = replicas
                live = self._write_existing(res, live, new)
            selector = (live.get("spec") or {}).get("selector") or {}
            from .selectors import selector_to_string

            return 200, {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: live["metadata"][k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                    if k in live["metadata"]
                },
                "spec": {"replicas": live["spec"].get("replicas", 0)},
                "status": {
                    "replicas": (live.get("status") or {}).get("replicas", 0),
                    "selector": selector_to_string(selector),
                },
            }
        if sub == "token" and route.verb == "create":
            return 201, self._token_request(res, live, data)
        if sub == "log" and route.verb == "get":
            if self.simulator is None:
                return 200, ""
            return 200, self.simulator.pod_log(live, params.get("container"), params.get("previous") == "true")
        raise status_error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _token_request(self, res: ResourceDef, account: Obj, data: Any) -> Obj:
        """A bound token for the ServiceAccount (``TokenRequest``), valid until it expires or the account goes."""
        name = account["metadata"]["name"]
        spec = dict(data.get("spec") or {}) if isinstance(data, dict) else {}
        seconds = spec.get("expirationSeconds", DEFAULT_EXPIRATION_SECONDS)
        problem = expiration_problem(seconds)
        if problem is not None:
            raise invalid(TOKEN_REQUEST, name, [("spec.expirationSeconds", problem)])
        audiences = list(spec.get("audiences") or [ISSUER])
        request: Obj = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": account["metadata"]["namespace"], "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
        }
        self._validating_admission("CREATE", res, request, None)
        token, expires = self.tokens.issue(account, now=self.clock.now(), seconds=seconds, audiences=audiences)
        request["status"] = {"token": token, "expirationTimestamp": expires}
        return request

    def _self_review(self, res: ResourceDef, data: Any) -> Obj:
        """A SelfSubjectAccessReview answered by the same authorizer as the requester's own requests."""
        spec = data.get("spec") if isinstance(data, dict) else None
        attributes = review_attributes(spec or {})
        if attributes is None:
            raise invalid(res, "", [("spec.resourceAttributes", REVIEW_WITHOUT_ATTRIBUTES)])
        requester = self._requester
        user = requester.user if requester is not None else UserInfo(name=ADMIN)
        status: Obj = {"allowed": True}
        if user.rbac:
            allowed, reason = self.authorizer.authorize(user, attributes)
            status = {"allowed": allowed, **({"reason": reason} if reason else {})}
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    # --- watch ------------------------------------------------------------------------------

    async def _serve_watch_stream(self, request: rendering.Request, route: Route) -> aiohttp.web.StreamResponse:
        res = route.res
        assert res is not None and request._raw_request is not None
        namespace = route.namespace if res.namespaced else None
        params = request.params
        if self._changed is None:
            self._changed = asyncio.Condition()
        label_selector = params.get("labelSelector")
        field_predicate: Callable[[Obj], bool] = parse_field_selector(params.get("fieldSelector"))
        if route.name:
            by_name = route.name
            inner = field_predicate
            field_predicate = lambda o: o["metadata"]["name"] == by_name and inner(o)  # noqa: E731

        def wanted(obj: Obj) -> bool:
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                return False
            return matches_label_selector(label_selector, obj["metadata"].get("labels")) and field_predicate(obj)

        response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request._raw_request)
        since = params.get("resourceVersion")
        if not since or since == "0":
            for obj in self.store.scan(res, namespace):
                if wanted(obj):
                    await response.write(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
            position = self.store.resource_version
        else:
            position = int(since)
        timeout = float(params.get("timeoutSeconds") or 1800)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while not self._stopping and loop.time() < deadline:
                for change in [c for c in self.store.changes if c.resource_version > position]:
                    position = change.resource_version
                    if change.resource == res and wanted(change.object):
                        line = json.dumps({"type": change.type, "object": change.object})
                        await response.write(line.encode() + b"\n")
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=min(0.5, max(0.0, deadline - loop.time())))
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def wake_watchers(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    def stop_streams(self) -> None:
        """Release hung requests and end watches (before the server stops)."""
        self._stopping = True
        self.faults.release_all()

    def resume_streams(self) -> None:
        self._stopping = False

    def add_fault(self, fault: Fault) -> Fault:
        return self.faults.add(fault)


def _list_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace') or ''}/{meta['name']}"


def _attributes(route: Route | None, request: rendering.Request) -> Attributes:
    """The authorizer's attributes of a request (requestinfo.go): resource requests from the route, the
    rest by path and lower-cased method; a namespace's own requests are in that namespace."""
    if route is None:
        return Attributes(verb=str(request.method.value).lower(), path=request.url.path, resource_request=False)
    namespace = route.namespace or ""
    if route.plural == "namespaces" and route.name:
        namespace = route.name
    return Attributes(
        verb="patch" if route.verb == "apply" else route.verb,
        namespace=namespace,
        api_group=route.group,
        resource=route.plural,
        subresource=route.subresource or "",
        name=route.name or "",
    )
