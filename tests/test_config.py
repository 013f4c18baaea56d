"""bot.config: a malformed setting names its variable and what it expects."""

from __future__ import annotations

import pytest

from bot.config import DiscordSettings, load_settings
from bot.errors import ConfigInvalid
from bot.team_access import AccessSetup
from bot.team_namespace import NamespaceSetup


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


@pytest.mark.parametrize("value", ["0", "-1", "soon", "3601"])
def test_a_bad_idle_timeout_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert load_settings().web.idle_timeout_seconds is None  # unset: bot.web's IDLE_TIMEOUT
    monkeypatch.setenv("KUBECAMP_WEB_IDLE_TIMEOUT_SECONDS", value)
    with pytest.raises(ConfigInvalid, match=r"^KUBECAMP_WEB_IDLE_TIMEOUT_SECONDS: .*whole request's headers"):
        load_settings()
    monkeypatch.setenv("KUBECAMP_WEB_IDLE_TIMEOUT_SECONDS", "2.5")
    assert load_settings().web.idle_timeout_seconds == 2.5


def test_the_scoreboard_page_has_a_port_of_its_own_and_secret_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().web.scoreboard_port == 8082
    monkeypatch.setenv("KUBECAMP_WEB_SCOREBOARD_PORT", "8081")
    with pytest.raises(ConfigInvalid, match=r"^KUBECAMP_WEB_SCOREBOARD_PORT: Value error, must differ"):
        load_settings()
    monkeypatch.setenv("KUBECAMP_WEB_SCOREBOARD_PORT", "0")
    monkeypatch.setenv("KUBECAMP_SCOREBOARD_TOKEN", "our-class")
    monkeypatch.setenv("KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN", "teachers")
    settings = load_settings()
    assert {"our-class", "teachers"} <= set(settings.secrets())  # masked in the logs
    monkeypatch.setenv("KUBECAMP_SCOREBOARD_TOKEN", " ")
    with pytest.raises(ConfigInvalid, match=r"^KUBECAMP_SCOREBOARD_TOKEN: Value error, must not be empty"):
        load_settings()


@pytest.mark.parametrize("value", ["-1", "lots", "1048577"])
def test_a_bad_minimum_of_free_space_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KUBECAMP_DATA_MIN_FREE_MIB", value)
    with pytest.raises(ConfigInvalid, match=r"^KUBECAMP_DATA_MIN_FREE_MIB: .*MiB that must stay free"):
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


TEAM_ACCESS_VARIABLES = (
    "KUBECAMP_KUBE_TEAM_ACCESS_ROLE",
    "KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE",
    "KUBECAMP_KUBE_TEAM_TOKEN_HOURS",
    "KUBECAMP_KUBE_TEAM_SERVER",
)


def test_team_access_is_off_unless_its_role_and_namespace_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in TEAM_ACCESS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert AccessSetup.of(load_settings().kube) is None
    monkeypatch.setenv("KUBECAMP_KUBE_TEAM_ACCESS_ROLE", "kubecamp-kubecamp-bot-team-access")
    monkeypatch.setenv("KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE", "kubecamp")
    assert AccessSetup.of(load_settings().kube) == AccessSetup(
        role="kubecamp-kubecamp-bot-team-access", accounts_namespace="kubecamp", token_hours=10.0, server=None
    )
    monkeypatch.setenv("KUBECAMP_KUBE_TEAM_TOKEN_HOURS", "30")
    monkeypatch.setenv("KUBECAMP_KUBE_TEAM_SERVER", "https://203.0.113.7:6443")
    setup = AccessSetup.of(load_settings().kube)
    assert setup is not None and (setup.token_hours, setup.server) == (30.0, "https://203.0.113.7:6443")


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (
            {"KUBECAMP_KUBE_TEAM_ACCESS_ROLE": "r"},
            r"KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE: .*together with KUBECAMP_KUBE_TEAM_ACCESS_ROLE",
        ),
        ({"KUBECAMP_KUBE_TEAM_ACCOUNTS_NAMESPACE": "kubecamp"}, r"TEAM_ACCOUNTS_NAMESPACE: .*together with"),
        ({"KUBECAMP_KUBE_TEAM_TOKEN_HOURS": "0.5"}, r"KUBECAMP_KUBE_TEAM_TOKEN_HOURS: .*hours a team's kubeconfig"),
        ({"KUBECAMP_KUBE_TEAM_SERVER": "203.0.113.7:6443"}, r"KUBECAMP_KUBE_TEAM_SERVER: .*URL students reach"),
    ],
)
def test_a_bad_team_access_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for variable in TEAM_ACCESS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigInvalid, match=named):
        load_settings()


def test_leader_election_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECAMP_LEADER_ELECTION", raising=False)
    assert load_settings().lease() is None


def test_leader_election_on_a_sqlite_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECAMP_DATABASE_URL", raising=False)
    monkeypatch.setenv("KUBECAMP_LEADER_ELECTION", "true")
    monkeypatch.setenv("KUBECAMP_KUBE_BOT_NAMESPACE", "kubecamp")
    with pytest.raises(ConfigInvalid, match="two replicas need one PostgreSQL database"):
        load_settings().lease()


def test_the_lease_is_in_the_bots_namespace_under_this_replicas_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECAMP_DATABASE_URL", "postgresql+asyncpg://kubecamp@db/kubecamp")
    monkeypatch.setenv("KUBECAMP_LEADER_ELECTION", "true")
    monkeypatch.setenv("KUBECAMP_LEADER_IDENTITY", "kubecamp-bot-7d9f-abcde")
    monkeypatch.delenv("KUBECAMP_KUBE_BOT_NAMESPACE", raising=False)
    with pytest.raises(ConfigInvalid, match="KUBECAMP_LEADER_LEASE_NAMESPACE"):
        load_settings().lease()
    monkeypatch.setenv("KUBECAMP_KUBE_BOT_NAMESPACE", "kubecamp")
    assert load_settings().lease() == ("kubecamp", "kubecamp-bot", "kubecamp-bot-7d9f-abcde")


def test_a_lease_shorter_than_three_seconds_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECAMP_LEADER_LEASE_SECONDS", "1")
    with pytest.raises(ConfigInvalid, match="KUBECAMP_LEADER_LEASE_SECONDS"):
        load_settings()
