"""Settings from the environment (KUBECAMP_*), in sections, built once in `main()`.

A missing or malformed setting stops start-up with one line naming the variable and what it expects.
Secrets are `SecretStr`: they never appear in reprs or logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigInvalid


class _Section(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class StoreSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="folder for the SQLite file")
    database_url: str | None = Field(
        default=None, description="any SQLAlchemy async URL; default sqlite+aiosqlite in data_dir"
    )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kubecamp.db').resolve()}"


class CatalogSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_", extra="ignore", frozen=True)

    scenarios_dir: Path = Field(default=Path("scenarios"), description="the scenario catalogue folder")
    language: Literal["ko", "en"] = Field(default="ko", description="language of messages: ko or en")


class KubeSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_KUBE_", extra="ignore", frozen=True)

    config: Path | None = Field(default=None, description="kubeconfig path; default: in-cluster, else ~/.kube/config")
    context: str | None = Field(default=None, description="kubeconfig context")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="seconds per API request")
    shared: bool = Field(
        default=True, description="the cluster is shared by the teams: cluster-scope scenarios are refused"
    )
    namespace_prefix: str = Field(
        default="kubecamp-", pattern=r"^[a-z0-9]([a-z0-9-]{0,20})?$", description="prefix of team namespaces"
    )


class DiscordSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_DISCORD_", extra="ignore", frozen=True)

    token: SecretStr | None = Field(default=None, description="the bot token from the Discord developer portal")

    @field_validator("token")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


class LogSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="KUBECAMP_LOG_", extra="ignore", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


S = TypeVar("S", bound=_Section)


@dataclass(frozen=True)
class Settings:
    store: StoreSettings
    catalog: CatalogSettings
    kube: KubeSettings
    discord: DiscordSettings
    log: LogSettings


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
        shown = "" if "token" in field_name or isinstance(given, dict) else f"; got {given!r}"
        raise ConfigInvalid(f"{variable}: {error['msg']}{expected}{shown}") from None


def load_settings() -> Settings:
    """Every section from the environment. Raises ConfigInvalid naming the first bad variable."""
    return Settings(
        store=_section(StoreSettings),
        catalog=_section(CatalogSettings),
        kube=_section(KubeSettings),
        discord=_section(DiscordSettings),
        log=_section(LogSettings),
    )
