"""Settings from the environment (KUBECAMP_*), in sections, built once in `main()`.

A missing or malformed setting stops start-up with one line naming the variable and what it expects.
Secrets are `SecretStr`: they never appear in reprs or logs.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigInvalid
from bot.team_namespace import NamespaceSetup, PodSecurityLevel
from bot.values import Dns1123Label, NamespacePrefix


def _together_with(partner: str) -> Callable[[str | None, ValidationInfo], str | None]:
    """A validator: the setting is given exactly when `partner`, a KUBECAMP_KUBE_ field declared before it, is."""

    def check(value: str | None, info: ValidationInfo) -> str | None:
        if (value is None) != (info.data.get(partner) is None):
            raise ValueError(f"set it together with KUBECAMP_KUBE_{partner.upper()}, or neither")
        return value

    return check


def _secret_not_blank(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


class _Section(BaseSettings):
    # Inherited by every section, which adds only its prefix (pydantic merges model_config).
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class StoreSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_")

    data_dir: Path = Field(default=Path("data"), description="folder for the SQLite file")
    database_url: str | None = Field(
        default=None,
        description="a PostgreSQL database, postgresql+asyncpg://… (the postgres extra); default: SQLite in data_dir",
    )
    data_min_free_mib: int = Field(
        default=64,
        ge=0,
        le=1024 * 1024,
        description="MiB that must stay free on the SQLite store's volume; below it the bot reports not ready",
    )
    retention_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="days to keep resolved incidents, sent outbox messages and ended runs' verifications (0: forever)",
    )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kubecamp.db').resolve()}"


class CatalogSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_")

    scenarios_dir: Path = Field(default=Path("scenarios"), description="the scenario catalogue folder")
    language: Literal["ko", "en"] = Field(default="ko", description="language of messages: ko or en")
    timezone: str = Field(default="Asia/Seoul", description="an IANA time zone for clock times, like Asia/Seoul")
    verify_cooldown_seconds: float = Field(
        default=15.0, ge=0, le=600, description="seconds a team waits between its own verifications (and hint requests)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class KubeSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_KUBE_")

    config: Path | None = Field(default=None, description="kubeconfig path; default: in-cluster, else ~/.kube/config")
    context: str | None = Field(default=None, description="kubeconfig context")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="seconds per API request")
    namespace_prefix: NamespacePrefix = Field(default="kubecamp-", description="prefix of team namespaces")
    team_role: str | None = Field(
        default=None,
        min_length=1,
        description="the ClusterRole the bot binds to itself in each team namespace it creates (the chart's team role)",
    )
    service_account: str | None = Field(
        default=None,
        validate_default=True,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="the bot's ServiceAccount as namespace/name, the subject of those RoleBindings",
    )
    pod_security: PodSecurityLevel = Field(
        default="baseline", description="the Pod Security Standard team namespaces enforce: baseline or restricted"
    )
    bot_namespace: Dns1123Label | None = Field(
        default=None,
        description="the bot's own namespace, where a Secret labelled kubecamp.io/team registers a team's own"
        " cluster; unset: every team works on the one cluster",
    )

    team_access_role: str | None = Field(
        default=None,
        min_length=1,
        description="the ClusterRole bound to each team's ServiceAccount in its namespace (the chart's team access)",
    )
    team_accounts_namespace: str | None = Field(
        default=None,
        validate_default=True,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="the namespace of the teams' ServiceAccounts (the chart's release namespace)",
    )
    team_token_hours: float = Field(
        default=10.0,
        ge=1,
        le=744,
        description="hours a team's kubeconfig works, from when it is fetched: the length of a class day",
    )
    team_server: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="the API server URL students reach, written into their kubeconfigs, e.g. https://203.0.113.7:6443",
    )

    _with_the_team_role = field_validator("service_account")(_together_with("team_role"))
    _with_the_access_role = field_validator("team_accounts_namespace")(_together_with("team_access_role"))

    @property
    def namespace_setup(self) -> NamespaceSetup:
        account = None
        if self.service_account:
            namespace, name = self.service_account.split("/", 1)
            account = (namespace, name)
        return NamespaceSetup(team_role=self.team_role, service_account=account, pod_security=self.pod_security)


class DiscordSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_DISCORD_")

    token: SecretStr | None = Field(default=None, description="the bot token from the Discord developer portal")
    guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="the class's guild ids, comma-separated: 123,456; commands are synced there, and the bot"
        " answers no other guild",
    )
    global_sync: bool = Field(default=False, description="also sync the commands globally (true/false)")
    # By id only: a name matches any role so named, and whoever may create roles can copy it.
    instructor_role: int | None = Field(
        default=None,
        gt=0,
        description="the instructors' role id, a number: in Discord, Server Settings → Roles → ⋯ → Copy Role ID",
    )
    api_base: str | None = Field(
        default=None, pattern=r"^https?://", description="REST base URL, e.g. http://proxy:8080/api/v10"
    )
    gateway_url: str | None = Field(default=None, pattern=r"^wss?://", description="gateway URL, e.g. ws://proxy/")
    alerts_channel: int | None = Field(
        default=None, gt=0, description="the channel id for incidents of no team (alerts outside team namespaces)"
    )
    announcements_channel: int | None = Field(
        default=None,
        gt=0,
        description="the channel id where the bot says who solved a scenario first (🩸) and who finished; unset: none",
    )
    instructors_channel: int | None = Field(
        default=None, gt=0, description="the channel id of the instructors' board (/admin board); unset: no board"
    )
    board_stuck_minutes: int = Field(
        default=15,
        ge=1,
        le=240,
        description="minutes without a verification after which the board marks a team as stuck",
    )

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.strip("[] ").split(",") if part.strip()]
        return value

    @field_validator("instructor_role", mode="before")
    @classmethod
    def _an_id_not_a_name(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("a role is given by its id, a number, not by its name")
        return value

    _token_not_blank = field_validator("token")(_secret_not_blank)

    def check_complete(self) -> int:
        """What being in Discord needs and other commands do not: ConfigInvalid naming the first setting
        missing (without guild ids the bot would refuse every interaction); the instructors' role id once
        everything is set."""
        if self.token is None:
            raise self._not_set("token")
        if not self.guild_ids:
            missing = self._not_set("guild_ids")
            if self.global_sync:  # the gate answers no guild but those: commands offered everywhere, served nowhere
                raise ConfigInvalid(f"{missing}; KUBECAMP_DISCORD_GLOBAL_SYNC does not replace them")
            raise missing
        if self.instructor_role is None:
            raise self._not_set("instructor_role")
        return self.instructor_role

    def _not_set(self, field_name: str) -> ConfigInvalid:
        variable = f"{self.model_config.get('env_prefix', '')}{field_name}".upper()
        return ConfigInvalid(f"{variable} is not set (expected {type(self).model_fields[field_name].description})")


class WebSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_WEB_")

    # All interfaces by default: it runs in a pod, behind a Service.
    host: str = Field(default="0.0.0.0", description="address the web server listens on")  # noqa: S104
    port: int = Field(default=8080, ge=0, le=65535, description="port of the Alertmanager webhook (0: any free port)")
    probe_port: int = Field(
        default=8081, ge=0, le=65535, description="port of /healthz, /readyz and /metrics (0: any free port)"
    )
    # Unset: bot.web's IDLE_TIMEOUT. The tests that wait it out set it lower.
    idle_timeout_seconds: float | None = Field(
        default=None, gt=0, le=3600, description="seconds a connection may go without a whole request's headers"
    )

    scoreboard_port: int = Field(
        default=8082, ge=0, le=65535, description="port of the scoreboard page, /scoreboard (0: any free port)"
    )

    @field_validator("probe_port")
    @classmethod
    def _not_the_webhook_port(cls, value: int, info: ValidationInfo) -> int:
        if value != 0 and value == info.data.get("port"):
            raise ValueError("must differ from KUBECAMP_WEB_PORT: the probes and the webhook have a listener each")
        return value

    @field_validator("scoreboard_port")
    @classmethod
    def _a_port_of_its_own(cls, value: int, info: ValidationInfo) -> int:
        if value != 0 and value in (info.data.get("port"), info.data.get("probe_port")):
            raise ValueError("must differ from KUBECAMP_WEB_PORT and KUBECAMP_WEB_PROBE_PORT: a listener each")
        return value


class ScoreboardSettings(_Section):
    """Who may open the projector page (bot.web.scoreboard)."""

    model_config = SettingsConfigDict(env_prefix="KUBECAMP_SCOREBOARD_")

    token: SecretStr | None = Field(
        default=None, description="a token the page's URL must carry (?token=) for a private class; none: open"
    )
    instructor_token: SecretStr | None = Field(
        default=None, description="the token of the instructors' live view (?view=instructor&token=); none: off"
    )

    _secrets_not_blank = field_validator("token", "instructor_token")(_secret_not_blank)


class WebhookSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_WEBHOOK_")

    token: SecretStr | None = Field(default=None, description="the bearer token Alertmanager sends (authorization)")
    username: str | None = Field(default=None, min_length=1, description="the basic-auth user Alertmanager sends")
    password: SecretStr | None = Field(default=None, description="the basic-auth password Alertmanager sends")
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="the largest webhook body accepted, in bytes"
    )

    _secrets_not_blank = field_validator("token", "password")(_secret_not_blank)


class AlertmanagerSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_ALERTMANAGER_")

    url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="Alertmanager's URL for silences, e.g. http://alertmanager.monitoring:9093",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="seconds per Alertmanager request")
    edit_interval: float = Field(
        default=5.0, ge=0, le=300, description="seconds between two edits of one incident's message"
    )


class LogSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR"
    )
    format: Literal["plain", "json"] = Field(default="plain", description="plain lines or json, one object per line")


class RepositorySettings(_Section):
    """How far the bot goes fetching a build's repository to check its layout (bot.repository_check)."""

    model_config = SettingsConfigDict(env_prefix="KUBECAMP_REPOSITORY_")

    timeout_seconds: float = Field(default=30.0, gt=0, le=300, description="seconds a repository check may take")
    max_mib: float = Field(
        default=20.0, gt=0, le=1024, description="MiB read from a repository's server before the check stops"
    )
    max_paths: int = Field(
        default=20000, ge=1, le=1_000_000, description="files and folders of a repository's tree read at most"
    )
    github_url: str = Field(
        default="https://github.com",
        pattern=r"^https?://[^/?#@\s]+(/[^?#@\s]*)?$",
        description="where a submitted GitHub repository is fetched from: GitHub, or a mirror of it",
    )
    allow_private_hosts: bool = Field(
        default=False,
        description="fetch from private or loopback addresses, over http too (a mirror in the class network)",
    )


class LeaderSettings(_Section):
    """An active + warm standby pair: the replicas elect their leader on a Lease (bot.leader)."""

    model_config = SettingsConfigDict(env_prefix="KUBECAMP_LEADER_")

    election: bool = Field(
        default=False,
        description="true: only the holder of the Lease connects to Discord and sends; needs a PostgreSQL database",
    )
    lease_name: Dns1123Label = Field(default="kubecamp-bot", description="the name of the Lease")
    lease_namespace: Dns1123Label | None = Field(
        default=None, description="the namespace of the Lease; default: KUBECAMP_KUBE_BOT_NAMESPACE"
    )
    lease_seconds: float = Field(
        default=15.0,
        ge=3,
        le=300,
        description="seconds the Lease holds without renewal: how long a follower waits before taking over",
    )
    identity: str | None = Field(
        default=None, min_length=1, max_length=253, description="this replica's name in the Lease; default: hostname"
    )


S = TypeVar("S", bound=_Section)


@dataclass(frozen=True)
class Settings:
    store: StoreSettings
    catalog: CatalogSettings
    kube: KubeSettings
    discord: DiscordSettings
    web: WebSettings
    log: LogSettings
    webhook: WebhookSettings
    alertmanager: AlertmanagerSettings
    repository: RepositorySettings = field(default_factory=RepositorySettings)
    scoreboard: ScoreboardSettings = field(default_factory=ScoreboardSettings)
    leader: LeaderSettings = field(default_factory=LeaderSettings)

    def lease(self) -> tuple[str, str, str] | None:
        """The Lease's (namespace, name, this replica's identity) when leader election is on, else None.
        Raises ConfigInvalid when it is on with a SQLite store, or with no namespace for the Lease."""
        leader = self.leader
        if not leader.election:
            return None
        if not self.store.url.startswith("postgresql"):
            raise ConfigInvalid(
                "KUBECAMP_LEADER_ELECTION: two replicas need one PostgreSQL database"
                " (set KUBECAMP_DATABASE_URL=postgresql+asyncpg://…); a SQLite file cannot be shared"
            )
        namespace = leader.lease_namespace or self.kube.bot_namespace
        if namespace is None:
            raise ConfigInvalid(
                "KUBECAMP_LEADER_LEASE_NAMESPACE: not set (expected the namespace of the Lease;"
                " or set KUBECAMP_KUBE_BOT_NAMESPACE)"
            )
        return namespace, leader.lease_name, leader.identity or socket.gethostname()

    def secrets(self) -> list[str]:
        """The secret values set, for the log filter that masks them."""
        values = (
            self.discord.token,
            self.webhook.token,
            self.webhook.password,
            self.scoreboard.token,
            self.scoreboard.instructor_token,
        )
        return [v.get_secret_value() for v in values if v is not None]


def _section(cls: type[S]) -> S:
    try:
        return cls()
    except ValidationError as exc:
        error = exc.errors()[0]
        prefix = cls.model_config.get("env_prefix", "")
        field_name = str(error["loc"][0]) if error["loc"] else ""
        variable = f"{prefix}{field_name}".upper()
        description = cls.model_fields[field_name].description if field_name in cls.model_fields else None
        expected = f" (expected {description})" if description else ""
        given = error.get("input")
        secret = "token" in field_name or "password" in field_name
        shown = "" if secret or isinstance(given, dict) else f"; got {given!r}"
        # not chained: the validation error holds every value as given, tokens included
        raise ConfigInvalid(f"{variable}: {error['msg']}{expected}{shown}") from None


def load_settings() -> Settings:
    """Every section from the environment. Raises ConfigInvalid naming the first bad variable."""
    return Settings(
        store=_section(StoreSettings),
        catalog=_section(CatalogSettings),
        kube=_section(KubeSettings),
        discord=_section(DiscordSettings),
        web=_section(WebSettings),
        log=_section(LogSettings),
        webhook=_section(WebhookSettings),
        alertmanager=_section(AlertmanagerSettings),
        repository=_section(RepositorySettings),
        scoreboard=_section(ScoreboardSettings),
        leader=_section(LeaderSettings),
    )
