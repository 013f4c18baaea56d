"""What every table shares: the constraint names, UTC timestamps, statuses as checked strings."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

from bot.store.errors import InvalidValue
from bot.values import DNS1123_LABEL_MAX
from bot.values import TEAM_NAME_MAX as TEAM_NAME_MAX

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

#: A namespace's name is a DNS-1123 label; it and the longest team name are also CHECK constraints.
NAMESPACE_MAX = DNS1123_LABEL_MAX


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Writes refuse naive datetimes and convert aware ones to UTC; SQLite (which has no time zones)
    stores the naive UTC value, PostgreSQL a ``timestamptz``. Reads always return aware UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidValue("datetime", value, "not a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValue("datetime", value, "naive datetime refused: give it a time zone (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(enum: type[StrEnum]) -> sa.Enum:
    # Stored as VARCHAR(16) + an explicit CHECK constraint (declared in __table_args__);
    # validate_strings refuses an unknown value before it reaches the database.
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def _in(column: str, enum: type[StrEnum]) -> str:
    # The column is quoted: "trigger" is a keyword in SQL.
    return f'"{column}" IN ({", ".join(repr(m.value) for m in enum)})'


def _now() -> datetime:
    return datetime.now(UTC)
