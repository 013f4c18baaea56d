"""Units of the emulator that need no server: quantities, selectors, patches, the scheduler's wording."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.emulators.images import Image, command_outcome, full_reference, normalize
from tests.emulators.patches import json_patch, merge_patch, server_side_apply, strategic_merge_patch
from tests.emulators.quantities import QuantityError, parse_quantity
from tests.emulators.scheduler import VolumeFacts, schedule
from tests.emulators.selectors import (
    SelectorError,
    matches_label_selector,
    matches_selector_object,
    node_selector_matches,
    parse_field_selector,
)
from tests.emulators.simulator import default_nodes, node_object


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("0.5", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1Ki", Decimal(1024)),
        ("1.5Gi", Decimal(1610612736)),
        ("128974848", Decimal(128974848)),
        ("129e6", Decimal(129000000)),
        ("123M", Decimal(123000000)),
        ("1k", Decimal(1000)),
        ("2T", Decimal(2 * 10**12)),
        ("1E", Decimal(10**18)),
        ("1P", Decimal(10**15)),
        ("1Ti", Decimal(2**40)),
        ("100n", Decimal("1e-7")),
        ("1e-3", Decimal("0.001")),
        (".5", Decimal("0.5")),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["1 core", "1GB", "abc", "", "1.2.3", "5mi"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_label_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert matches_label_selector("app=web,tier in (front, back)", labels)
    assert matches_label_selector("app==web,!canary,tier", labels)
    assert not matches_label_selector("tier notin (front)", labels)
    assert matches_label_selector("env!=prod", labels)
    with pytest.raises(SelectorError):
        matches_label_selector("app=(x", labels)


def test_selector_objects() -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}],
    }
    assert matches_selector_object(selector, {"app": "web"})
    assert not matches_selector_object(selector, {"app": "web", "tier": "x"})
    assert matches_selector_object({}, {"anything": "goes"})


def test_node_selector_terms_and_fields() -> None:
    node = node_object(default_nodes()[1], 1)
    by_label = {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "Exists"}]}]}
    by_name = {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["x"]}]}]}
    assert node_selector_matches(by_label, node)
    assert not node_selector_matches(by_name, node)
    assert not node_selector_matches({"nodeSelectorTerms": [{}]}, node)


def test_field_selectors() -> None:
    predicate = parse_field_selector("involvedObject.name=web,type!=Normal")
    assert predicate({"involvedObject": {"name": "web"}, "type": "Warning"})
    assert not predicate({"involvedObject": {"name": "web"}, "type": "Normal"})


def test_patches() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    live = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    patched = strategic_merge_patch(live, {"spec": {"containers": [{"name": "b", "image": "z"}]}})
    assert [c["image"] for c in patched["spec"]["containers"]] == ["x", "z"]
    assert json_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}]) == {"a": [1, 2, 3]}
    live = {"spec": {"replicas": 3, "volumeName": "pv-1", "paused": True}}
    applied = server_side_apply(live, {"spec": {"replicas": 3, "paused": True}}, {"spec": {"replicas": 2}})
    assert applied == {"spec": {"replicas": 2, "volumeName": "pv-1"}}


def test_images_and_commands() -> None:
    assert normalize("docker.io/library/nginx:1.27") == "nginx:1.27"
    assert normalize("nginx") == "nginx:latest"
    assert full_reference("nginxinc/nginx-unprivileged:1.27-alpine") == (
        "docker.io/nginxinc/nginx-unprivileged:1.27-alpine"
    )
    shell = Image(runs_command=True)
    assert command_outcome(shell, ["sh", "-c", "sleep 3600"], None).running
    assert command_outcome(shell, None, ["sleep", "infinity"]).running
    assert command_outcome(shell, ["sh", "-c", "exit 3"], None).exit_code == 3
    assert not command_outcome(shell, None, None).running
    server = Image(http_ports=frozenset({80}), binaries=("nginx",))
    assert command_outcome(server, None, None).serves
    assert not command_outcome(server, ["sleep", "10000"], None).serves


def test_scheduler_messages_for_missing_claims_and_no_fit() -> None:
    nodes = [node_object(spec, index) for index, spec in enumerate(default_nodes())]
    pod = {"metadata": {"name": "p", "namespace": "n", "uid": "u"}, "spec": {"containers": [{"name": "c"}]}}
    decision = schedule(pod, nodes, [], [VolumeFacts("data", exists=False)])
    assert decision.node is None
    assert decision.message == (
        '0/3 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/3 nodes are available: '
        "3 Preemption is not helpful for scheduling."
    )
    pod["spec"]["nodeSelector"] = {"disktype": "ssd"}
    decision = schedule(pod, nodes, [], [])
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling."
    )


def test_json_patch_move_and_copy() -> None:
    doc = {"a": {"x": 1}, "b": {}}
    assert json_patch(doc, [{"op": "move", "from": "/a/x", "path": "/b/y"}]) == {"a": {}, "b": {"y": 1}}
    assert json_patch(doc, [{"op": "copy", "from": "/a", "path": "/c"}]) == {"a": {"x": 1}, "b": {}, "c": {"x": 1}}
