"""A team's kubeconfig: one context kept, files read in, what the bot's pod could not use refused by name."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bot import own_kubeconfig
from bot.i18n import render
from bot.own_kubeconfig import KubeconfigInvalid


def kubeconfig(**user: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kind-blue",
        "clusters": [
            {"name": "kind-blue", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": "ca.crt"}},
            {"name": "kind-green", "cluster": {"server": "https://127.0.0.1:7443"}},
        ],
        "contexts": [
            {"name": "kind-blue", "context": {"cluster": "kind-blue", "user": "blue-admin"}},
            {"name": "kind-green", "context": {"cluster": "kind-green", "user": "green-admin"}},
        ],
        "users": [
            {"name": "blue-admin", "user": user or {"token": "blue-token"}},
            {"name": "green-admin", "user": {"token": "green-token"}},
        ],
    }


def written(tmp_path: Path, config: dict[str, Any]) -> Path:
    (tmp_path / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    return path


def test_a_file_is_cut_to_its_current_context_with_its_files_read_in(tmp_path: Path) -> None:
    config = own_kubeconfig.from_file(written(tmp_path, kubeconfig()))
    assert [c["name"] for c in config["contexts"]] == ["kind-blue"]
    assert config["users"] == [{"name": "blue-admin", "user": {"token": "blue-token"}}]
    cluster = config["clusters"][0]["cluster"]
    assert "certificate-authority" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert "green-token" not in own_kubeconfig.dump(config)  # nothing of the other contexts is kept


def test_another_context_and_a_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-file\n")
    config = kubeconfig(tokenFile=str(tmp_path / "token"))
    assert own_kubeconfig.from_file(written(tmp_path, config), context="kind-blue")["users"][0]["user"] == {
        "token": "from-a-file"
    }
    green = own_kubeconfig.from_file(written(tmp_path, config), context="kind-green")
    assert green["clusters"] == [{"name": "kind-green", "cluster": {"server": "https://127.0.0.1:7443"}}]


def test_a_file_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigInvalid) as caught:
        own_kubeconfig.from_file(tmp_path / "nowhere.yaml")
    assert render(caught.value.message, "en") == f"the kubeconfig file {tmp_path / 'nowhere.yaml'} does not exist"
    assert render(caught.value.message, "ko") == f"kubeconfig 파일이 없습니다: {tmp_path / 'nowhere.yaml'}"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda c: c.update({"current-context": "kind-red"}),
            "config has no context kind-red (it has: kind-blue, kind-green)",
        ),
        (
            lambda c: c["clusters"].pop(0),
            "context kind-blue of {path} lacks its cluster (with a server URL) or its user",
        ),
        (
            lambda c: c["users"][0].update(user={"exec": {"command": "aws"}}),
            "user blue-admin of {path} authenticates with exec: the bot runs no command to log in; use a token or a "
            "client certificate",
        ),
        (lambda c: c["users"][0].update(user={"auth-provider": {"name": "gcp"}}), "authenticates with auth-provider"),
    ],
)
def test_what_the_bot_cannot_use_is_named(tmp_path: Path, change: Any, said: str) -> None:
    config = kubeconfig()
    change(config)
    path = written(tmp_path, config)
    with pytest.raises(KubeconfigInvalid) as caught:
        own_kubeconfig.from_file(path)
    assert said.format(path=path) in render(caught.value.message, "en")
    assert "blue-token" not in str(caught.value) + render(caught.value.message, "en")


def test_text_that_is_no_kubeconfig(tmp_path: Path) -> None:
    for text in ("- a list", "clusters: [", "just words"):
        with pytest.raises(KubeconfigInvalid) as caught:
            own_kubeconfig.from_text(text, context=None, where="Secret kubecamp/blue")
        assert render(caught.value.message, "en") == (
            "Secret kubecamp/blue is not a kubeconfig (YAML with contexts, clusters and users)"
        )


def test_a_secret_naming_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigInvalid) as caught:
        own_kubeconfig.from_text(json.dumps(kubeconfig()), context=None, where="Secret kubecamp/blue")
    assert render(caught.value.message, "en") == (
        "certificate-authority of Secret kubecamp/blue names a file, which the bot's pod does not have: register "
        "it with kubecamp team cluster set, which puts the file's content in"
    )
