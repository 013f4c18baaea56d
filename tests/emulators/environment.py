"""What the kubelet gives a container before it starts: its environment and its ConfigMap/Secret volumes."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from .resources import Obj

Lookup = Callable[[str, str, str], Obj | None]  # (plural, namespace, name) -> object


def environment(container: Obj, namespace: str, lookup: Lookup) -> tuple[dict[str, str], str | None]:
    """The environment the container gets, or the CreateContainerConfigError message."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for ref_key, plural, label in (("configMapRef", "configmaps", "configmap"), ("secretRef", "secrets", "secret")):
            ref = source.get(ref_key)
            if not ref:
                continue
            obj = lookup(plural, namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                return env, f'{label} "{ref.get("name")}" not found'
            for key, value in (obj.get("data") or {}).items():
                env[prefix + key] = _decode(value) if plural == "secrets" else str(value)
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "value" in item:
            env[name] = str(item["value"])
            continue
        value_from = item.get("valueFrom") or {}
        for ref_key, plural, label, kind in (
            ("secretKeyRef", "secrets", "secret", "Secret"),
            ("configMapKeyRef", "configmaps", "configmap", "ConfigMap"),
        ):
            ref = value_from.get(ref_key)
            if not ref:
                continue
            obj = lookup(plural, namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    break
                return env, f'{label} "{ref.get("name")}" not found'
            data = obj.get("data") or {}
            if ref.get("key") not in data:
                if ref.get("optional"):
                    break
                return env, f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}"
            raw = data[ref["key"]]
            env[name] = _decode(raw) if plural == "secrets" else str(raw)
            break
        else:
            if value_from:
                env[name] = "simulated"
            else:
                env[name] = ""
    return env, None


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value)).decode("utf-8", errors="replace")
    except (ValueError, TypeError):
        return ""


def volume_errors(pod: Obj, lookup: Lookup) -> list[str]:
    namespace = pod["metadata"]["namespace"]
    errors: list[str] = []
    for volume in pod["spec"].get("volumes") or []:
        vname = volume.get("name")
        sources: list[tuple[str, Obj]] = []
        if volume.get("configMap"):
            sources.append(("configMap", volume["configMap"]))
        if volume.get("secret"):
            sources.append(("secret", volume["secret"]))
        for projected in (volume.get("projected") or {}).get("sources") or []:
            for key in ("configMap", "secret"):
                if projected.get(key):
                    sources.append((key, projected[key]))
        for key, ref in sources:
            plural, label = ("configmaps", "configmap") if key == "configMap" else ("secrets", "secret")
            name = ref.get("name") or ref.get("secretName") or ""
            obj = lookup(plural, namespace, name)
            if obj is None:
                if not ref.get("optional"):
                    errors.append(f'MountVolume.SetUp failed for volume "{vname}" : {label} "{name}" not found')
                continue
            data = obj.get("data") or {}
            for item in ref.get("items") or []:
                if item.get("key") not in data and not ref.get("optional"):
                    noun = "config" if key == "configMap" else "secret"
                    errors.append(
                        f'MountVolume.SetUp failed for volume "{vname}" : {label} references '
                        f"non-existent {noun} key: {item.get('key')}"
                    )
    return errors
