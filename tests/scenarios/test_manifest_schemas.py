"""Every manifest, previous revision and solution validates against the Kubernetes schema of a current version.

kubernetes-validate ships the upstream OpenAPI schemas; CRD kinds (ServiceMonitor, Prometheus,
VerticalPodAutoscaler) have none there, so they are checked for the fields their CRDs require.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.kinds import KINDS
from tests import kube_schemas
from tests.scenarios.test_catalogue_behaviour import CATALOG

MANIFESTS = [
    pytest.param(manifest, id=f"{challenge.id}-{scenario.id}-{state}-{manifest.ref}")
    for challenge in CATALOG
    for scenario in challenge.scenarios
    for state, manifests in (
        ("previous", scenario.previous),
        ("broken", scenario.manifests),
        ("solution", scenario.solution),
    )
    for manifest in manifests
]

# The fields each CRD's openAPIV3Schema marks required, and the spec fields our checks read.
CRD_REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "ServiceMonitor": [("spec", "selector"), ("spec", "endpoints")],
    "Prometheus": [("spec",)],
    "VerticalPodAutoscaler": [("spec", "targetRef", "kind"), ("spec", "targetRef", "name")],
}


def _dig(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_manifest_is_a_valid_kubernetes_object(manifest: Any) -> None:
    kind = KINDS[(manifest.body["apiVersion"], manifest.body["kind"])]
    if kind.crd:
        for path in CRD_REQUIRED[kind.kind]:
            assert _dig(manifest.body, path) is not None, f"{manifest.path}: {'.'.join(path)} is required"
        return
    kube_schemas.validate(manifest.body)


def test_solutions_contain_the_objects_of_the_broken_state() -> None:
    for challenge in CATALOG:
        for scenario in challenge.scenarios:
            if not scenario.manifests:
                continue  # the break is on a node; its solution folder shows the node's fixed file
            broken = {m.ref for m in scenario.manifests}
            fixed = {m.ref for m in scenario.solution}
            assert broken == fixed, f"{challenge.id}/{scenario.id}: {sorted(map(str, broken ^ fixed))}"
