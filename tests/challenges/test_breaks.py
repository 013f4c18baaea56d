"""A scenario's `breaks:` as the catalogue reads them: clear errors for bad entries, the scope rules, the
variant's `scenarios_of`, and the script the control-plane edit runs on the node (run here by the emulator's
busybox shell on a kubeadm manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.challenges.breaks import EditStaticPod, TaintNode, parse_break
from bot.challenges.catalog import load_catalog
from bot.errors import ScenarioInvalid
from tests.challenges.test_catalog import challenge_doc, write_tree
from tests.emulators.nodefs import NodeFiles, run_script
from tests.emulators.static_pods import kube_apiserver_manifest

SEED_EDIT = {
    "flags": {
        "etcd-servers": {"from": "https://127.0.0.1:2379", "to": "https://127.0.0.1:2380"},
        "secure-port": {"from": "6443", "to": "6444"},
    }
}


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"cordon_node": {}}, "unknown break 'cordon_node'; known breaks: edit_static_pod, exhaust_node, taint_node"),
        ({"taint_node": {"key": "a"}, "exhaust_node": {}}, "exactly one key"),
        ({"taint_node": ["a"]}, "taint_node: arguments must be a mapping, got list"),
        ({"taint_node": {"key": "a", "label": {"bad key!": "x"}}}, "bad key!=x is not a valid node label"),
        ({"taint_node": {"key": "a", "label": {"p": "b"}, "effect": "PreferNoSchedule"}}, "taint_node.effect"),
        ({"taint_node": {"key": "a", "label": {"p": "b"}, "node": 10}}, "taint_node.node"),
        (
            {"edit_static_pod": {"flags": {"etcd-servers": {"from": "a'; rm -rf /", "to": "b"}}}},
            "flags.etcd-servers.from",
        ),
        ({"edit_static_pod": {"manifest": "etcd.yaml", "flags": {}}}, "edit_static_pod.manifest"),
    ],
)
def test_a_bad_break_is_a_clear_error(raw: Any, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_break(raw)
    assert error in str(caught.value)


def test_a_taint_is_written_as_kubectl_would() -> None:
    spec = parse_break({"taint_node": {"label": {"pool": "auth"}, "key": "maintenance", "value": "true"}})
    assert isinstance(spec, TaintNode)
    assert spec.taint() == {"key": "maintenance", "value": "true", "effect": "NoSchedule"}


def test_the_edit_changes_the_two_flags_and_keeps_the_original() -> None:
    spec = parse_break({"edit_static_pod": SEED_EDIT})
    assert isinstance(spec, EditStaticPod)
    files = NodeFiles()
    original = kube_apiserver_manifest("172.18.0.2")
    files.write("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml", original)
    mounts = {"/manifests": "/etc/kubernetes/manifests", "/backup": "/etc/kubernetes/kubecamp"}
    ran = run_script(spec.break_script(), node="cp", files=files, mounts=mounts)
    assert (ran.exit_code, ran.output) == (0, "")
    broken = files.read("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml")
    assert broken == original.replace("127.0.0.1:2379", "127.0.0.1:2380").replace("port=6443", "port=6444")
    assert files.read("cp", "/etc/kubernetes/kubecamp/kube-apiserver.yaml") == original
    assert list(files.listing("cp", "/etc/kubernetes/manifests")) == ["/etc/kubernetes/manifests/kube-apiserver.yaml"]

    again = run_script(spec.break_script(), node="cp", files=files, mounts=mounts)  # a second start: same file
    assert again.exit_code == 0
    assert files.read("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml") == broken

    assert run_script(spec.restore_script(), node="cp", files=files, mounts=mounts).exit_code == 0
    assert files.read("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml") == original
    assert files.read("cp", "/etc/kubernetes/kubecamp/kube-apiserver.yaml") is None


def test_the_edit_leaves_a_manifest_of_another_shape_alone() -> None:
    spec = parse_break({"edit_static_pod": SEED_EDIT})
    assert isinstance(spec, EditStaticPod)
    files = NodeFiles()
    other = kube_apiserver_manifest("172.18.0.2").replace("127.0.0.1:2379", "10.0.0.5:2379")
    files.write("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml", other)
    mounts = {"/manifests": "/etc/kubernetes/manifests", "/backup": "/etc/kubernetes/kubecamp"}
    ran = run_script(spec.break_script(), node="cp", files=files, mounts=mounts)
    assert ran.exit_code == 1
    assert files.read("cp", "/etc/kubernetes/manifests/kube-apiserver.yaml") == other


def scenario(**fields: Any) -> dict[str, Any]:
    return {**challenge_doc()["scenarios"][0], **fields}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"scope": "cluster"}, "a cluster-scope scenario names its breaks"),
        ({"breaks": [{"taint_node": {"key": "a", "label": {"p": "b"}}}]}, "breaks need scope: cluster"),
        ({"manifests": None}, "a namespace scenario has manifests"),
        ({"scope": "cluster", "breaks": [{"taint_node": {"key": "a"}}]}, "breaks[0]: taint_node.label"),
    ],
)
def test_the_scope_decides_what_a_scenario_holds(tmp_path: Path, fields: dict[str, Any], error: str) -> None:
    doc = challenge_doc(scenarios=[{k: v for k, v in scenario(**fields).items() if v is not None}])
    write_tree(tmp_path, doc)
    with pytest.raises(ScenarioInvalid) as caught:
        load_catalog(tmp_path)
    assert error in str(caught.value)


def test_a_variant_takes_the_scenarios_and_form_of_another_challenge(tmp_path: Path) -> None:
    write_tree(tmp_path)
    node = {"taint_node": {"key": "a", "label": {"pool": "b"}}}
    variant = challenge_doc(
        id=8,
        scenarios_of="../practice",
        scenarios=[
            scenario(id="node", scope="cluster", manifests=None, breaks=[node], solution="../practice/web/solution")
        ],
    )
    del variant["scenarios"][0]["manifests"]
    (tmp_path / "variant").mkdir()
    (tmp_path / "variant" / "challenge.yaml").write_text(yaml.safe_dump(variant), encoding="utf-8")
    catalog = load_catalog(tmp_path, solutions=True)
    assert [s.id for s in catalog.get(8).scenarios] == ["web", "node"]
    assert catalog.get(8).scenario("web").manifests[0].body == catalog.get(7).scenario("web").manifests[0].body

    (tmp_path / "variant" / "challenge.yaml").write_text(yaml.safe_dump({**variant, "scenarios_of": "/abs"}))
    with pytest.raises(ScenarioInvalid, match="must be a folder relative to this challenge's folder"):
        load_catalog(tmp_path)
    (tmp_path / "variant" / "challenge.yaml").write_text(yaml.safe_dump({**variant, "scenarios_of": "../nowhere"}))
    with pytest.raises(ScenarioInvalid, match=r"challenge\.yaml does not exist"):
        load_catalog(tmp_path)
