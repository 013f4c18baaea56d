"""The patch flavours the API server accepts: JSON merge, strategic merge, JSON patch, server-side apply."""

from __future__ import annotations

from typing import Any

from .resources import Obj
from .store import clone


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: dicts merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ports": "containerPort",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "tolerations": "key",
}


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Merge patch, plus merging of the well-known keyed lists (containers by name, env by name, ...)."""
    if isinstance(patch, list) and isinstance(target, list) and field in _MERGE_KEYS:
        key = _MERGE_KEYS[field]
        if all(isinstance(i, dict) and key in i for i in patch + target):
            merged: list[Any] = clone(target)
            for item in patch:
                for index, existing in enumerate(merged):
                    if existing.get(key) == item[key]:
                        merged[index] = strategic_merge_patch(existing, item)
                        break
                else:
                    merged.append(clone(item))
            return merged
    if not isinstance(patch, dict):
        return clone(patch)
    result: dict[str, Any] = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # directives ($patch, $retainKeys, $setElementOrder) are not modelled
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value, key)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _get(doc: Any, path: str) -> Any:
    for part in _pointer(path):
        try:
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise PatchError(f"doc is missing path: {path}") from exc
    return doc


def json_patch(target: Obj, operations: list[Obj]) -> Obj:
    """RFC 6902 ``add``/``remove``/``replace``/``test``/``copy``/``move``."""
    doc: Any = clone(target)
    expanded: list[Obj] = []
    for op in operations:
        if op.get("op") in ("copy", "move"):
            value = clone(_get(doc, str(op.get("from", ""))))
            if op["op"] == "move":
                expanded.append({"op": "remove", "path": op["from"]})
            expanded.append({"op": "add", "path": op.get("path", ""), "value": value})
        else:
            expanded.append(op)
    for op in expanded:
        kind = op.get("op")
        parts = _pointer(str(op.get("path", "")))
        if not parts:
            raise PatchError("the root of the document cannot be patched")
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if kind in ("add", "replace"):
            value = clone(op.get("value"))
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, value)
                else:
                    parent[index] = value
            else:
                if kind == "replace" and last not in parent:
                    raise PatchError(f"replace operation does not apply: doc is missing key: {op['path']}")
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                raise PatchError(f"remove operation does not apply: doc is missing path: {op['path']}")
        elif kind == "test":
            actual = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if actual != op.get("value"):
                raise PatchError(f"testing value {op['path']} failed")
        else:
            raise PatchError(f"unsupported JSON patch operation {kind!r}")
    if not isinstance(doc, dict):
        raise PatchError("the patched document is not an object")
    return doc


def _prune(live: Obj, previous: Obj, applied: Obj) -> None:
    """Remove what this manager applied before and no longer applies (it owned those fields)."""
    for key, old_value in previous.items():
        if key not in applied:
            live.pop(key, None)
        elif isinstance(old_value, dict) and isinstance(applied[key], dict) and isinstance(live.get(key), dict):
            _prune(live[key], old_value, applied[key])


def _merge(live: Obj, applied: Obj) -> None:
    for key, value in applied.items():
        if isinstance(value, dict) and isinstance(live.get(key), dict):
            _merge(live[key], value)
        else:
            live[key] = clone(value)


def server_side_apply(live: Obj, previous_applied: Obj | None, applied: Obj) -> Obj:
    """Server-side apply for one field manager with ``force=true``.

    The applied configuration wins for every field it names (maps merge key by key, lists are atomic);
    fields the same manager applied last time and now omits are removed; fields set by others (the
    controllers: ``spec.volumeName``, defaulted values, annotations) are kept.
    """
    result = clone(live)
    _prune(result, previous_applied or {}, applied)
    _merge(result, applied)
    return result
