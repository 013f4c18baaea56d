"""Checks on configuration held in ConfigMaps."""

from __future__ import annotations

import posixpath

from pydantic import Field

from bot.challenges.checks._base import NamedCheck, Outcome, diagnosis, register, require
from bot.snapshot import Obj, Snapshot


@register("configmap_key", "ConfigMap")
class ConfigMapKey(NamedCheck):
    key: str = Field(min_length=1)
    contains: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)

    def run(self, snapshot: Snapshot) -> Outcome:
        config_map = require(snapshot, "ConfigMap", self.name)
        data = config_map.get("data") or {}
        if self.key not in data:
            return Outcome.fail("check.configmap_key.no_key", name=self.name, key=self.key)
        value = str(data[self.key])
        for needle in self.not_contains:
            if needle in value:
                return Outcome.fail(
                    "check.configmap_key.wrong",
                    name=self.name,
                    key=self.key,
                    diagnosis=diagnosis("check.diagnosis.config_contains", key=self.key, text=needle),
                )
        for needle in self.contains:
            if needle not in value:
                return Outcome.fail(
                    "check.configmap_key.wrong",
                    name=self.name,
                    key=self.key,
                    diagnosis=diagnosis("check.diagnosis.config_missing", key=self.key, text=needle),
                )
        return Outcome.ok("check.configmap_key.pass", name=self.name, key=self.key)


def mounted_files(snapshot: Snapshot, template: Obj, container: Obj) -> dict[str, str]:
    """The ConfigMap files a container of a Pod template sees, by absolute path, as the kubelet mounts them:
    every key (or the `items` chosen) under the mount's path, or the one `subPath` file. A ConfigMap that does
    not exist mounts nothing."""
    volumes = {v.get("name"): v for v in template.get("volumes") or []}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        source = (volumes.get(mount.get("name")) or {}).get("configMap") or {}
        config_map = snapshot.get("ConfigMap", str(source.get("name", ""))) if source else None
        if config_map is None:
            continue
        data = {str(k): str(v) for k, v in (config_map.get("data") or {}).items()}
        items = source.get("items")
        paths = {i["key"]: i.get("path", i["key"]) for i in items if "key" in i} if items else {k: k for k in data}
        base = str(mount.get("mountPath") or "/")
        sub = mount.get("subPath")
        for key, path in paths.items():
            if key in data and not sub:
                files[posixpath.join(base, path)] = data[key]
            elif key in data and path == sub:
                files[base] = data[key]
    return files
