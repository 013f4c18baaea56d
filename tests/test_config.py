"""bot.config: a malformed setting names its variable and what it expects."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigInvalid


def test_the_namespace_prefix_is_a_label_beginning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECAMP_KUBE_NAMESPACE_PREFIX", "camp-")
    assert load_settings().kube.namespace_prefix == "camp-"


@pytest.mark.parametrize("prefix", ["Camp-", "-camp", "c" * 22])
def test_a_bad_namespace_prefix_is_named(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv("KUBECAMP_KUBE_NAMESPACE_PREFIX", prefix)
    with pytest.raises(ConfigInvalid, match=r"KUBECAMP_KUBE_NAMESPACE_PREFIX: .*lower-case letters.*prefix of team"):
        load_settings()


def test_the_verify_cooldown_is_15_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECAMP_VERIFY_COOLDOWN_SECONDS", raising=False)
    assert load_settings().catalog.verify_cooldown_seconds == 15
    monkeypatch.setenv("KUBECAMP_VERIFY_COOLDOWN_SECONDS", "0")
    assert load_settings().catalog.verify_cooldown_seconds == 0
    monkeypatch.setenv("KUBECAMP_VERIFY_COOLDOWN_SECONDS", "-5")
    with pytest.raises(ConfigInvalid, match=r"KUBECAMP_VERIFY_COOLDOWN_SECONDS: .*between its own verifications"):
        load_settings()


def test_the_probes_have_a_port_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    web = load_settings().web
    assert (web.port, web.probe_port) == (8080, 8081)
    monkeypatch.setenv("KUBECAMP_WEB_PROBE_PORT", "8080")
    with pytest.raises(
        ConfigInvalid, match=r"^KUBECAMP_WEB_PROBE_PORT: Value error, must differ from KUBECAMP_WEB_PORT"
    ):
        load_settings()
    monkeypatch.setenv("KUBECAMP_WEB_PORT", "0")
    monkeypatch.setenv("KUBECAMP_WEB_PROBE_PORT", "0")  # any free port for each
    assert (load_settings().web.port, load_settings().web.probe_port) == (0, 0)


@pytest.mark.parametrize("value", ["-1", "lots", "1048577"])
def test_a_bad_minimum_of_free_space_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KUBECAMP_DATA_MIN_FREE_MIB", value)
    with pytest.raises(ConfigInvalid, match=r"^KUBECAMP_DATA_MIN_FREE_MIB: .*MiB that must stay free"):
        load_settings()
