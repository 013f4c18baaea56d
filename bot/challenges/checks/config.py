"""Checks on configuration held in ConfigMaps."""

from __future__ import annotations

from pydantic import Field

from bot.challenges.checks._base import NamedCheck, Outcome, diagnosis, register, require
from bot.snapshot import Snapshot


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
