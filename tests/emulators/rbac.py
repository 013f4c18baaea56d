"""Who a ServiceAccount token is, and what RBAC lets it do (kubernetes/kubernetes v1.33).

- **Bound tokens** (``TokenRequest``, ``pkg/registry/core/serviceaccount/storage/token.go``): a JWT whose
  claims name the ServiceAccount by namespace, name and uid, signed by the emulator's key; it authenticates
  until ``exp`` on the simulated clock and while a ServiceAccount of that uid exists
  (``pkg/serviceaccount/claims.go``: deleting or recreating the account invalidates it). The user is
  ``system:serviceaccount:<ns>:<name>`` with the groups ``system:serviceaccounts``,
  ``system:serviceaccounts:<ns>`` and ``system:authenticated``. A token that fails is 401 Unauthorized.
- **Request attributes** as ``k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`` derives them: a GET
  without a name is ``list`` (``watch`` with ``watch=true``), PATCH (apply included) is ``patch``; the
  namespace of ``/api/v1/namespaces/x`` is ``x`` itself.
- **The RBAC authorizer** (``plugin/pkg/auth/authorizer/rbac/rbac.go``, rule matching from
  ``pkg/apis/rbac/v1/evaluation_helpers.go``, bindings from ``pkg/registry/rbac/validation/rule.go``):
  ClusterRoleBindings first, then the RoleBindings of the request's namespace; verbs, apiGroups, resources
  with subresources (``pods/log``, ``*/scale``), resourceNames and nonResourceURLs (a trailing ``*`` is a
  prefix). A binding whose role is missing adds ``RBAC: role.rbac.authorization.k8s.io "x" not found`` to
  the denial.
- **Denials** worded as ``responsewriters.Forbidden`` words them (``k8s.io/apiserver/pkg/endpoints/
  handlers/responsewriters/errors.go``): ``pods is forbidden: User "…" cannot list resource "pods" in API
  group "" in the namespace "team-red"``.
- **ClusterRole aggregation** (``pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go``):
  a ClusterRole with an ``aggregationRule`` has its ``rules`` replaced by the rules of every ClusterRole its
  selectors match, in name order, without duplicates.
- **Bootstrap policy** (``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``): the roles every
  authenticated user has: discovery, the public health and version paths, self reviews.

Only ServiceAccount tokens are authorized; the bot's token and the admin's keep their own paths.
RoleBinding escalation checks (``bind``/``escalate``) are not emulated: a user RBAC lets create a RoleBinding
may bind any role.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from .resources import Obj, ResourceDef
from .selectors import matches_selector_object
from .store import Store, rfc3339

ISSUER = "https://kubernetes.default.svc.cluster.local"
RBAC_GROUP = "rbac.authorization.k8s.io"
#: A TokenRequest without expirationSeconds, and the shortest one the API server accepts
#: (pkg/apis/authentication/validation/validation.go).
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 1 << 32
#: The kind a TokenRequest's 422 names (``serviceaccounts/token`` answers it; it is never stored).
TOKEN_REQUEST = ResourceDef("authentication.k8s.io", "v1", "tokenrequests", "TokenRequest", True)
#: pkg/apis/authorization/validation/validation.go, a review naming neither kind of attributes.
REVIEW_WITHOUT_ATTRIBUTES = (
    "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"
)


def expiration_problem(seconds: Any) -> str | None:
    """Why a TokenRequest's ``expirationSeconds`` is refused (pkg/apis/authentication/validation), or None."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return f"Invalid value: {seconds!r}: must be a number of seconds"
    if seconds < MIN_EXPIRATION_SECONDS:
        return f"Invalid value: {seconds}: may not specify a duration less than 10 minutes"
    if seconds > MAX_EXPIRATION_SECONDS:
        return f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
    return None


class Unauthorized(Exception):
    """The token is a ServiceAccount token that no longer (or never did) authenticate."""


@attrs.frozen(kw_only=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    #: ServiceAccount users are authorized by RBAC; the bot and the admin are not (see the module doc).
    rbac: bool = False


@attrs.frozen(kw_only=True)
class Attributes:
    """authorizer.Attributes of one request."""

    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


def service_account_user(namespace: str, name: str) -> UserInfo:
    return UserInfo(
        name=f"system:serviceaccount:{namespace}:{name}",
        groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        rbac=True,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Signs and checks bound ServiceAccount tokens (HS256 with a key of this emulator: clients never verify
    the signature, the API server does)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def issue(self, account: Obj, *, now: datetime.datetime, seconds: int, audiences: list[str]) -> tuple[str, str]:
        """(token, expirationTimestamp) for the ServiceAccount object."""
        meta = account["metadata"]
        issued = int(now.timestamp())
        claims = {
            "aud": audiences,
            "exp": issued + seconds,
            "iat": issued,
            "iss": ISSUER,
            "jti": secrets.token_hex(16),
            "kubernetes.io": {
                "namespace": meta["namespace"],
                "serviceaccount": {"name": meta["name"], "uid": meta["uid"]},
            },
            "nbf": issued,
            "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
        }
        header = _b64(json.dumps({"alg": "HS256", "kid": "emulated"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        expires = datetime.datetime.fromtimestamp(issued + seconds, tz=datetime.UTC)
        return f"{header}.{payload}.{signature}", rfc3339(expires)

    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this issuer signed; None for any other bearer token (not a JWT of ours)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        header, payload, signature = parts
        expected = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        try:
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return None
        return claims

    def authenticate(self, token: str, *, now: datetime.datetime, store: Store, accounts: Any) -> UserInfo | None:
        """The ServiceAccount user of the token; None when the token is not one of ours; Unauthorized when it
        is but has expired or its ServiceAccount is gone or was recreated (another uid)."""
        claims = self.claims(token)
        if claims is None:
            return None
        if now.timestamp() >= claims["exp"]:
            raise Unauthorized("token has expired")
        bound = claims["kubernetes.io"]
        namespace, name = bound["namespace"], bound["serviceaccount"]["name"]
        live = store.get(accounts, namespace, name)
        if live is None or live["metadata"]["uid"] != bound["serviceaccount"]["uid"]:
            raise Unauthorized("service account was deleted or recreated")
        return service_account_user(namespace, name)


# --- rule evaluation (pkg/apis/rbac/v1/evaluation_helpers.go) ------------------------------------


def _verb_matches(rule: Obj, verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return "*" in verbs or verb in verbs


def _group_matches(rule: Obj, group: str) -> bool:
    groups = rule.get("apiGroups") or []
    return "*" in groups or group in groups


def _resource_matches(rule: Obj, combined: str, subresource: str) -> bool:
    for resource in rule.get("resources") or []:
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def _name_matches(rule: Obj, name: str) -> bool:
    names = rule.get("resourceNames") or []
    return not names or name in names


def _url_matches(rule: Obj, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attributes: Attributes, rule: Obj) -> bool:
    if not _verb_matches(rule, attributes.verb):
        return False
    if not attributes.resource_request:
        return _url_matches(rule, attributes.path)
    combined = attributes.resource
    if attributes.subresource:
        combined = f"{combined}/{attributes.subresource}"
    return (
        _group_matches(rule, attributes.api_group)
        and _resource_matches(rule, combined, attributes.subresource)
        and _name_matches(rule, attributes.name)
    )


# --- the authorizer ------------------------------------------------------------------------------


def _subject_matches(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    """pkg/registry/rbac/validation/rule.go appliesToUser."""
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user.name)
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{subject.get('name')}"
    return False


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f'ServiceAccount "{subject.get("name")}/{namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


class Authorizer:
    """The RBAC authorizer over the stored Roles, ClusterRoles and their bindings."""

    def __init__(self, store: Store, table: Any) -> None:
        self._store = store
        self._table = table

    def _role_rules(self, binding: Obj, namespace: str) -> tuple[list[Obj], str | None]:
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "Role":
            role = self._store.get(self._table.find("roles"), namespace, ref.get("name", ""))
            missing = f'role.{RBAC_GROUP} "{ref.get("name")}" not found'
        else:
            role = self._store.get(self._table.find("clusterroles"), None, ref.get("name", ""))
            missing = f'clusterrole.{RBAC_GROUP} "{ref.get("name")}" not found'
        if role is None:
            return [], missing
        return list(role.get("rules") or []), None

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, list[Obj], str | None]]:
        """(source description, rules, resolution error) per binding that applies to the user."""
        for binding in self._store.raw(self._table.find("clusterrolebindings")):
            for subject in binding.get("subjects") or []:
                if _subject_matches(subject, user, ""):
                    rules, error = self._role_rules(binding, "")
                    ref = binding["roleRef"]
                    source = (
                        f'ClusterRoleBinding "{binding["metadata"]["name"]}" of {ref.get("kind")} '
                        f'"{ref.get("name")}" to {_describe_subject(subject, "")}'
                    )
                    yield source, rules, error
                    break
        if not namespace:
            return
        for binding in self._store.raw(self._table.find("rolebindings")):
            if binding["metadata"].get("namespace") != namespace:
                continue
            for subject in binding.get("subjects") or []:
                if _subject_matches(subject, user, namespace):
                    rules, error = self._role_rules(binding, namespace)
                    ref = binding["roleRef"]
                    source = (
                        f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of {ref.get("kind")} '
                        f'"{ref.get("name")}" to {_describe_subject(subject, namespace)}'
                    )
                    yield source, rules, error
                    break

    def authorize(self, user: UserInfo, attributes: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as RBACAuthorizer.Authorize answers: the allowing binding, or the resolution
        errors met on the way ("" when there were none)."""
        errors: list[str] = []
        for source, rules, error in self._visit(user, attributes.namespace):
            if any(rule_allows(attributes, rule) for rule in rules):
                return True, f"RBAC: allowed by {source}"
            if error is not None:
                errors.append(error)
        if not errors:
            return False, ""
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return False, f"RBAC: {joined}"


def forbidden_message(user: UserInfo, attributes: Attributes, reason: str) -> str:
    """responsewriters.Forbidden's message, wrapped as apierrors.NewForbidden wraps it."""
    if not attributes.resource_request:
        text = f'User "{user.name}" cannot {attributes.verb} path "{attributes.path}"'
    else:
        resource = attributes.resource
        if attributes.subresource:
            resource = f"{resource}/{attributes.subresource}"
        scope = f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope"
        text = (
            f'User "{user.name}" cannot {attributes.verb} resource "{resource}" '
            f'in API group "{attributes.api_group}" {scope}'
        )
    if reason:
        text = f"{text}: {reason}"
    if not attributes.resource_request or not attributes.resource:
        return f"forbidden: {text}"
    qualified = f"{attributes.resource}.{attributes.api_group}" if attributes.api_group else attributes.resource
    if attributes.name:
        return f'{qualified} "{attributes.name}" is forbidden: {text}'
    return f"{qualified} is forbidden: {text}"


# --- the ClusterRole aggregation controller ------------------------------------------------------


def aggregated_rules(role: Obj, cluster_roles: Iterable[Obj]) -> list[Obj] | None:
    """The rules an aggregated ClusterRole gets (None when it has no aggregationRule)."""
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors")
    if selectors is None:
        return None
    rules: list[Obj] = []
    name = role["metadata"]["name"]
    for other in sorted(cluster_roles, key=lambda o: str(o["metadata"]["name"])):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if any(matches_selector_object(selector, labels) for selector in selectors):
            for rule in other.get("rules") or []:
                if rule not in rules:
                    rules.append(rule)
    return rules


# --- SelfSubjectAccessReview (pkg/registry/authorization/selfsubjectaccessreview/rest.go) ---------


def review_attributes(spec: Obj) -> Attributes | None:
    """The attributes a review asks about; None when it names neither resource nor non-resource attributes."""
    resource = spec.get("resourceAttributes")
    if resource is not None:
        return Attributes(
            verb=str(resource.get("verb") or ""),
            namespace=str(resource.get("namespace") or ""),
            api_group=str(resource.get("group") or ""),
            resource=str(resource.get("resource") or ""),
            subresource=str(resource.get("subresource") or ""),
            name=str(resource.get("name") or ""),
        )
    non_resource = spec.get("nonResourceAttributes")
    if non_resource is not None:
        return Attributes(
            verb=str(non_resource.get("verb") or ""), path=str(non_resource.get("path") or ""), resource_request=False
        )
    return None


# --- the bootstrap policy every cluster has --------------------------------------------------------


def _bootstrap(kind: str, name: str, **content: Any) -> Obj:
    metadata = {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    }
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": metadata, **content}


def _bootstrap_role(name: str, rules: list[Obj]) -> Obj:
    return _bootstrap("ClusterRole", name, rules=rules)


def _bootstrap_binding(name: str, groups: list[str]) -> Obj:
    return _bootstrap(
        "ClusterRoleBinding",
        name,
        roleRef={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        subjects=[{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups],
    )


def bootstrap_policy() -> list[tuple[str, Obj]]:
    """(resource, object) of the bootstrap roles an authenticated user holds on every cluster."""
    discovery = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz"]
    discovery += ["/version", "/version/"]
    public = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    return [
        ("clusterroles", _bootstrap_role("system:discovery", [{"nonResourceURLs": discovery, "verbs": ["get"]}])),
        (
            "clusterroles",
            _bootstrap_role(
                "system:basic-user",
                [
                    {
                        "apiGroups": ["authorization.k8s.io"],
                        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                        "verbs": ["create"],
                    },
                    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
                ],
            ),
        ),
        ("clusterroles", _bootstrap_role("system:public-info-viewer", [{"nonResourceURLs": public, "verbs": ["get"]}])),
        ("clusterrolebindings", _bootstrap_binding("system:discovery", ["system:authenticated"])),
        ("clusterrolebindings", _bootstrap_binding("system:basic-user", ["system:authenticated"])),
        (
            "clusterrolebindings",
            _bootstrap_binding("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
        ),
    ]


# --- the protobuf kubectl sends a review in ------------------------------------------------------

PROTOBUF = "application/vnd.kubernetes.protobuf"
_PROTOBUF_MAGIC = b"k8s\x00"
#: Field numbers of k8s.io/api/authorization/v1/generated.proto.
_RESOURCE_FIELDS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
_NON_RESOURCE_FIELDS = {1: "path", 2: "verb"}


def _fields(data: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a protobuf message: bytes for length-delimited fields, int for varints."""
    position = 0

    def varint() -> int:
        nonlocal position
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    while position < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, varint()
        elif wire == 2:
            length = varint()
            yield number, data[position : position + length]
            position += length
        else:
            raise ValueError(f"protobuf wire type {wire} is not used by these messages")


def _strings(message: bytes, names: dict[int, str]) -> Obj:
    return {names[n]: v.decode() for n, v in _fields(message) if n in names and isinstance(v, bytes)}


def review_from_protobuf(body: bytes) -> Obj:
    """A SelfSubjectAccessReview sent as protobuf (kubectl's clientset prefers it for built-in kinds), as
    the JSON object it stands for: the runtime.Unknown envelope, then the review's spec."""
    if not body.startswith(_PROTOBUF_MAGIC):
        raise ValueError("not a Kubernetes protobuf envelope")
    raw = next((v for n, v in _fields(body[len(_PROTOBUF_MAGIC) :]) if n == 2 and isinstance(v, bytes)), b"")
    spec_bytes = next((v for n, v in _fields(raw) if n == 2 and isinstance(v, bytes)), b"")
    spec: Obj = {}
    for number, value in _fields(spec_bytes):
        if number == 1 and isinstance(value, bytes):
            spec["resourceAttributes"] = _strings(value, _RESOURCE_FIELDS)
        elif number == 2 and isinstance(value, bytes):
            spec["nonResourceAttributes"] = _strings(value, _NON_RESOURCE_FIELDS)
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}
