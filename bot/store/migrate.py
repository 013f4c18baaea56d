"""Schema migrations, run from code: no alembic.ini is needed at runtime.

The Alembic configuration is built here (script location = the `migrations` folder of this
package), the engine is ours (`bot.store.db.create_engine`, with foreign keys off as SQLite table
rebuilds require, and checked with ``PRAGMA foreign_key_check`` before committing), and the whole
upgrade runs in one transaction: on SQLite a failed migration leaves the file as it was.

The URL is never logged or put in an error message with its password.

For developers, ``alembic -c bot/store/alembic.ini revision --autogenerate -m "..."`` works too
(see that file); review what it writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from bot.errors import StoreUnavailable
from bot.store.db import BEGIN_IMMEDIATE, create_engine, mask_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of this package; `connection` is handed to env.py to use."""
    config = Config()
    # set_main_option interpolates %-signs, hence the escaping.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(make_config())


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (default: the newest)."""
    log.info("migrating the database %s up to %s", mask_url(url), revision)
    await _run(url, lambda config: command.upgrade(config, revision), f"upgrade to {revision}")


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` ("base" empties it)."""
    log.info("migrating the database %s down to %s", mask_url(url), revision)
    await _run(url, lambda config: command.downgrade(config, revision), f"downgrade to {revision}")


async def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at, or None if it was never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except sa_exc.DBAPIError as e:
        raise StoreUnavailable(f"cannot read the schema revision of {mask_url(url)}: {e.orig}") from e
    except OSError as e:  # a server that cannot be reached (bot.store.db.Database.translating)
        raise StoreUnavailable(f"cannot read the schema revision of {mask_url(url)}: {e}") from e
    finally:
        await engine.dispose()


async def _run(url: str, action: Callable[[Config], None], what: str) -> None:
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.execution_options(**{BEGIN_IMMEDIATE: True}).begin() as connection:
            # The write lock is taken with the transaction's first statement (on PostgreSQL): take it before alembic
            # starts, whose context is global to the process, so that two migrations in one process wait in turn.
            await connection.exec_driver_sql("SELECT 1")
            await connection.run_sync(lambda sync: action(make_config(sync)))
    except sa_exc.DBAPIError as e:
        raise StoreUnavailable(f"cannot {what} the database {mask_url(url)}: {e.orig}") from e
    except OSError as e:  # a server that cannot be reached
        raise StoreUnavailable(f"cannot {what} the database {mask_url(url)}: {e}") from e
    finally:
        await engine.dispose()
