"""Reading a challenge's manifest folders: YAML documents checked to be objects kubecamp-bot can apply.

Every problem is a `ScenarioInvalid` naming the file and the field, as in the rest of the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ScenarioInvalid
from bot.kinds import KINDS, ObjectRef
from bot.yaml_safe import SafeLoader


@dataclass(frozen=True)
class Manifest:
    """One object of a scenario's broken or fixed state, as loaded from YAML."""

    path: Path
    body: dict[str, Any]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(
            api_version=self.body["apiVersion"], kind=self.body["kind"], name=self.body["metadata"]["name"]
        )


def read_yaml_documents(path: Path) -> list[Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [doc for doc in yaml.load_all(handle, Loader=SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise ScenarioInvalid(str(path), "", f"not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioInvalid(str(path), "", "not UTF-8 text") from exc


def load_manifests(
    folder: Path, challenge_file: Path, field_name: str, scope: str, *, if_absent: str = ""
) -> tuple[Manifest, ...]:
    if not folder.is_dir():
        raise ScenarioInvalid(str(challenge_file), field_name, f"folder {folder} does not exist{if_absent}")
    files = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"})
    if not files:
        raise ScenarioInvalid(str(challenge_file), field_name, f"folder {folder} has no .yaml files")
    manifests: list[Manifest] = []
    seen: dict[ObjectRef, Path] = {}
    for file in files:
        for index, body in enumerate(read_yaml_documents(file)):
            where = f"document {index + 1}"
            if not isinstance(body, dict):
                raise ScenarioInvalid(str(file), where, "a manifest must be a mapping")
            for key in ("apiVersion", "kind"):
                if not isinstance(body.get(key), str):
                    raise ScenarioInvalid(str(file), f"{where}.{key}", "required key is missing")
            metadata = body.get("metadata")
            if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
                raise ScenarioInvalid(str(file), f"{where}.metadata.name", "required key is missing")
            kind = KINDS.get((body["apiVersion"], body["kind"]))
            if kind is None:
                raise ScenarioInvalid(
                    str(file),
                    f"{where}.kind",
                    f"{body['kind']} ({body['apiVersion']}) is not a kind kubecamp-bot can apply",
                )
            if scope == "namespace":
                if not kind.namespaced:
                    raise ScenarioInvalid(
                        str(file),
                        f"{where}.kind",
                        f"{body['kind']} is cluster-scoped; a namespace scenario may only hold namespaced "
                        "kinds (use scope: cluster)",
                    )
                if "namespace" in metadata:
                    raise ScenarioInvalid(
                        str(file),
                        f"{where}.metadata.namespace",
                        f"names namespace {metadata['namespace']!r}; leave it out, the bot applies "
                        "into the team's namespace",
                    )
            manifest = Manifest(path=file, body=body)
            if manifest.ref in seen:
                raise ScenarioInvalid(
                    str(file),
                    f"{where}.metadata.name",
                    f"{manifest.ref} is defined twice (also in {seen[manifest.ref].name})",
                )
            seen[manifest.ref] = file
            manifests.append(manifest)
    return tuple(manifests)


NO_SOLUTIONS = (
    " (a deployed catalogue carries no solutions: `kubecamp scenarios validate --without-solutions` checks it "
    "as the bot loads it)"
)


def load_reference(folder: Path, challenge_file: Path, namespaces: list[str]) -> dict[str | None, tuple[Manifest, ...]]:
    """A build's reference: the .yaml files of the folder go into the team's namespace, those of a subfolder
    named after one of the build's namespaces into that one."""
    if not folder.is_dir():
        raise ScenarioInvalid(str(challenge_file), "reference", f"folder {folder} does not exist{NO_SOLUTIONS}")
    reference: dict[str | None, tuple[Manifest, ...]] = {}
    if any(p.suffix in {".yaml", ".yml"} for p in folder.iterdir()):
        reference[None] = load_manifests(folder, challenge_file, "reference", "namespace")
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name not in namespaces:
            known = ", ".join(namespaces) or "none"
            raise ScenarioInvalid(
                str(challenge_file),
                "reference",
                f"folder {sub} is not named after one of the challenge's namespaces ({known})",
            )
        reference[sub.name] = load_manifests(sub, challenge_file, "reference", "namespace")
    if not reference:
        raise ScenarioInvalid(str(challenge_file), "reference", f"folder {folder} has no .yaml files")
    return reference
