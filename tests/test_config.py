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


@pytest.mark.parametrize(("given", "days"), [(None, 90), ("0", 0), ("21", 21)])
def test_the_retention_is_90_days_unless_set(monkeypatch: pytest.MonkeyPatch, given: str | None, days: int) -> None:
    monkeypatch.delenv("KUBECAMP_RETENTION_DAYS", raising=False)
    if given is not None:
        monkeypatch.setenv("KUBECAMP_RETENTION_DAYS", given)
    assert load_settings().store.retention_days == days


@pytest.mark.parametrize("given", ["-1", "3651", "ninety"])
def test_a_bad_retention_is_named(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("KUBECAMP_RETENTION_DAYS", given)
    with pytest.raises(ConfigInvalid, match=r"KUBECAMP_RETENTION_DAYS: .*\(0: forever\)"):
        load_settings()
