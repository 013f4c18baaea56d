"""bot.config: a malformed setting names its variable and what it expects."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigInvalid
from bot.team_namespace import NamespaceSetup


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


def test_the_team_role_binds_the_bots_service_account(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("KUBECAMP_KUBE_TEAM_ROLE", "KUBECAMP_KUBE_SERVICE_ACCOUNT", "KUBECAMP_KUBE_POD_SECURITY"):
        monkeypatch.delenv(variable, raising=False)
    assert load_settings().kube.namespace_setup == NamespaceSetup()
    monkeypatch.setenv("KUBECAMP_KUBE_TEAM_ROLE", "kubecamp-kubecamp-bot-team")
    monkeypatch.setenv("KUBECAMP_KUBE_SERVICE_ACCOUNT", "kubecamp/kubecamp-bot")
    monkeypatch.setenv("KUBECAMP_KUBE_POD_SECURITY", "restricted")
    assert load_settings().kube.namespace_setup == NamespaceSetup(
        team_role="kubecamp-kubecamp-bot-team", service_account=("kubecamp", "kubecamp-bot"), pod_security="restricted"
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"KUBECAMP_KUBE_TEAM_ROLE": "r"}, r"KUBECAMP_KUBE_SERVICE_ACCOUNT: .*together with KUBECAMP_KUBE_TEAM_ROLE"),
        ({"KUBECAMP_KUBE_SERVICE_ACCOUNT": "kubecamp/bot"}, r"KUBECAMP_KUBE_SERVICE_ACCOUNT: .*together with"),
        (
            {"KUBECAMP_KUBE_TEAM_ROLE": "r", "KUBECAMP_KUBE_SERVICE_ACCOUNT": "bot"},
            r"SERVICE_ACCOUNT: .*namespace/name",
        ),
        ({"KUBECAMP_KUBE_POD_SECURITY": "privileged"}, r"KUBECAMP_KUBE_POD_SECURITY: .*baseline or restricted"),
    ],
)
def test_a_bad_team_namespace_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for variable in ("KUBECAMP_KUBE_TEAM_ROLE", "KUBECAMP_KUBE_SERVICE_ACCOUNT", "KUBECAMP_KUBE_POD_SECURITY"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigInvalid, match=named):
        load_settings()
