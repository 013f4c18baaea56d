"""bot.kube_config: a kubeconfig file or context that is not there is named, with what there is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ClusterUnavailable
from bot.i18n import render
from bot.kube_config import check_context, kubeconfig_files

TWO_CONTEXTS = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]
contexts: [{name: kind-red, context: {cluster: c, user: u}}, {name: kind-blue, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
"""


def test_a_missing_file_is_named_in_both_languages(tmp_path: Path) -> None:
    with pytest.raises(ClusterUnavailable) as error:
        kubeconfig_files(tmp_path / "kubeconfig")
    assert str(error.value) == f"kubeconfig file {tmp_path / 'kubeconfig'} does not exist"
    assert render(error.value.reason, "ko") == f"Kubernetes 접속 설정 파일이 없습니다: {tmp_path / 'kubeconfig'}"


def test_kubeconfig_lists_files_as_kubectl_merges_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    present = tmp_path / "config"
    present.write_text(TWO_CONTEXTS, encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'absent'}:{present}")
    assert kubeconfig_files(None) == f"{tmp_path / 'absent'}:{present}"  # the client skips the absent one


def test_without_a_current_context_one_must_be_chosen(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(TWO_CONTEXTS, encoding="utf-8")
    check_context(str(config), "kind-blue")
    with pytest.raises(ClusterUnavailable) as error:
        check_context(str(config), None)
    assert str(error.value) == (
        f"kubeconfig {config} names no current-context and no context was chosen; its contexts: kind-blue, kind-red"
    )
    with pytest.raises(ClusterUnavailable) as wrong:
        check_context(str(config), "kind-green")
    assert (
        render(wrong.value.reason, "en")
        == "the kubeconfig has no context kind-green (its contexts: kind-blue, kind-red)"
    )


def test_a_file_that_is_no_kubeconfig_is_left_to_the_loader_to_name(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("- just\n- a list\n", encoding="utf-8")
    check_context(str(config), "kind-blue")  # the client's loader then fails on it, naming the file
