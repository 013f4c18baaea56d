"""bot.config: a malformed setting names its variable and what it expects."""

from __future__ import annotations

import pytest

from bot.config import DiscordSettings, load_settings
from bot.errors import ConfigInvalid


def test_the_namespace_prefix_is_a_label_beginning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECAMP_KUBE_NAMESPACE_PREFIX", "camp-")
    assert load_settings().kube.namespace_prefix == "camp-"


@pytest.mark.parametrize("prefix", ["Camp-", "-camp", "c" * 22])
def test_a_bad_namespace_prefix_is_named(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv("KUBECAMP_KUBE_NAMESPACE_PREFIX", prefix)
    with pytest.raises(ConfigInvalid, match=r"KUBECAMP_KUBE_NAMESPACE_PREFIX: .*lower-case letters.*prefix of team"):
        load_settings()


def test_the_instructor_role_is_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECAMP_DISCORD_INSTRUCTOR_ROLE", " 234567890123456789 ")
    assert load_settings().discord.instructor_role == 234567890123456789


@pytest.mark.parametrize("role", ["instructor", "@instructor", "2345x", "-5", ""])
def test_an_instructor_role_that_is_no_id_is_named(monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    monkeypatch.setenv("KUBECAMP_DISCORD_INSTRUCTOR_ROLE", role)
    with pytest.raises(ConfigInvalid, match=r"KUBECAMP_DISCORD_INSTRUCTOR_ROLE: .*Copy Role ID") as error:
        load_settings()
    assert "a role is given by its id, a number, not by its name" in str(error.value)


@pytest.mark.parametrize(
    ("unset", "expected"),
    [
        ("token", "KUBECAMP_DISCORD_TOKEN is not set (expected the bot token"),
        ("guild_ids", "KUBECAMP_DISCORD_GUILD_IDS is not set (expected the class's guild ids"),
        ("instructor_role", "KUBECAMP_DISCORD_INSTRUCTOR_ROLE is not set (expected the instructors' role id"),
    ],
)
def test_being_in_discord_needs_the_token_the_guilds_and_the_instructor_role(unset: str, expected: str) -> None:
    complete = {"token": "t", "guild_ids": [123456789012345678], "instructor_role": 234567890123456789}
    assert DiscordSettings(**complete).check_complete() == 234567890123456789
    del complete[unset]
    with pytest.raises(ConfigInvalid) as error:
        DiscordSettings(**complete).check_complete()
    assert str(error.value).startswith(expected)


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
