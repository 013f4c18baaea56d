"""API discovery as a v1.33 API server answers it, from the resources the emulator serves.

Two forms, chosen by the ``Accept`` header like the real server does:

* aggregated discovery (``apidiscovery.k8s.io/v2``): ``/api`` and ``/apis`` each answer everything in
  one ``APIGroupDiscoveryList``; kubectl and client-go ask for it first;
* the legacy documents: ``APIVersions`` (``/api``), ``APIGroupList`` (``/apis``), ``APIGroup``
  (``/apis/<group>``) and ``APIResourceList`` (``/api/v1``, ``/apis/<group>/<version>``), which the
  official Python client and the bot's CRD check read.

Subresources are listed as the real server lists them: no short names, their own verbs, and the kind
they answer with (``deployments/scale`` is an ``autoscaling/v1`` ``Scale``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .resources import ResourceDef

#: The media type of aggregated discovery, as kubectl asks for it and the server labels its answer.
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

#: The resources ``kubectl get all`` lists (category "all").
CATEGORY_ALL = frozenset(
    {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "horizontalpodautoscalers"}
)

_PATH = re.compile(r"^/(?:api(?:/(?P<core>[^/]+))?|apis(?:/(?P<group>[^/]+)(?:/(?P<version>[^/]+))?)?)/?$")


@dataclass(frozen=True)
class _Sub:
    """What a subresource answers with ("" group/version/kind: its parent's) and the verbs it takes."""

    verbs: tuple[str, ...]
    kind: str = ""
    group: str = ""
    version: str = ""


_SUBRESOURCES: dict[str, _Sub] = {
    "status": _Sub(("get", "patch", "update")),
    "scale": _Sub(("get", "patch", "update"), "Scale", "autoscaling", "v1"),
    "log": _Sub(("get",)),
    "exec": _Sub(("create", "get"), "PodExecOptions"),
    "eviction": _Sub(("create",), "Eviction", "policy", "v1"),
    "binding": _Sub(("create",), "Binding"),
    "proxy": _Sub(("create", "delete", "get", "patch", "update"), "{parent}ProxyOptions"),
    "token": _Sub(("create",), "TokenRequest", "authentication.k8s.io", "v1"),
    "finalize": _Sub(("update",)),
}


def _subresource(res: ResourceDef, name: str) -> _Sub:
    """The subresource with its kind, group and version resolved (a parent's own, unless it says otherwise)."""
    sub = _SUBRESOURCES[name]
    kind = sub.kind.format(parent=res.kind) or res.kind
    if sub.version:
        return _Sub(sub.verbs, kind, sub.group, sub.version)
    return _Sub(sub.verbs, kind, res.group, res.version)


def is_discovery_path(path: str) -> bool:
    """``/api``, ``/api/<version>``, ``/apis``, ``/apis/<group>``, ``/apis/<group>/<version>``."""
    return _PATH.match(path) is not None


def document(path: str, accept: str, served: Iterable[ResourceDef]) -> tuple[dict[str, Any], str] | None:
    """The discovery document at `path` and its content type; None if `path` names no group or version
    served (the server answers 404 then)."""
    match = _PATH.match(path)
    if match is None:
        raise ValueError(f"{path} is not a discovery path")
    resources = list(served)
    groups = _groups(resources)
    core, group, version = match["core"], match["group"], match["version"]
    top = path.rstrip("/")
    if top in ("/api", "/apis") and _AGGREGATED_PARAMETERS in accept.replace(" ", ""):
        wanted = {g: v for g, v in groups.items() if (g == "") == (top == "/api")}
        return _aggregated(wanted, resources), AGGREGATED
    if top == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": _SERVER_ADDRESSES}, _JSON
    if top == "/apis":
        listed = [_group_document(g, groups[g], kind=None) for g in groups if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}, _JSON
    if group is not None and version is None:
        if group not in groups:
            return None
        return _group_document(group, groups[group], kind="APIGroup"), _JSON
    group = group or ""
    version = core if core is not None else version
    in_version = [r for r in resources if r.group == group and r.version == version]
    if not in_version:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else str(version),
        "resources": [entry for res in in_version for entry in _legacy_entries(res)],
    }, _JSON


_JSON = "application/json"
_AGGREGATED_PARAMETERS = AGGREGATED.split(";", 1)[1]
_SERVER_ADDRESSES = [{"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}]


def _groups(resources: list[ResourceDef]) -> dict[str, list[str]]:
    """group → its versions, preferred first, in the order the table serves them (core first)."""
    groups: dict[str, list[str]] = {}
    for res in resources:
        versions = groups.setdefault(res.group, [])
        if res.version not in versions:
            versions.append(res.version)
    return groups


def _group_document(group: str, versions: list[str], *, kind: str | None) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    document: dict[str, Any] = {"name": group, "versions": listed, "preferredVersion": listed[0]}
    if kind is not None:
        document = {"kind": kind, "apiVersion": "v1", **document}
    return document


def _names(res: ResourceDef) -> dict[str, list[str]]:
    """Short names and categories, left out when there are none (as the server does)."""
    names: dict[str, list[str]] = {}
    if res.shortnames:
        names["shortNames"] = list(res.shortnames)
    if res.plural in CATEGORY_ALL:
        names["categories"] = ["all"]
    return names


def _legacy_entries(res: ResourceDef) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
        **_names(res),
    }
    entries = [entry]
    for name in res.subresources:
        sub = _subresource(res, name)
        sub_entry: dict[str, Any] = {
            "name": f"{res.plural}/{name}",
            "singularName": "",
            "namespaced": res.namespaced,
            "kind": sub.kind,
            "verbs": list(sub.verbs),
        }
        if (sub.group, sub.version) != (res.group, res.version):
            sub_entry |= {"group": sub.group, "version": sub.version}
        entries.append(sub_entry)
    return entries


def _aggregated(groups: dict[str, list[str]], resources: list[ResourceDef]) -> dict[str, Any]:
    items = []
    for group, versions in groups.items():
        items.append(
            {
                "metadata": {"name": group} if group else {},
                "versions": [
                    {
                        "version": version,
                        "resources": [
                            _aggregated_entry(r) for r in resources if r.group == group and r.version == version
                        ],
                        "freshness": "Current",
                    }
                    for version in versions
                ],
            }
        )
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def _aggregated_entry(res: ResourceDef) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": list(res.verbs),
        **_names(res),
    }
    subresources = []
    for name in res.subresources:
        sub = _subresource(res, name)
        subresources.append(
            {
                "subresource": name,
                "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
                "verbs": list(sub.verbs),
            }
        )
    if subresources:
        entry["subresources"] = subresources
    return entry
