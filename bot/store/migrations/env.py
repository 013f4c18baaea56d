"""Alembic environment of the store.

Driven from code by `bot.store.migrate`, which passes an open connection (inside its transaction) in
``config.attributes["connection"]``. Run from the ``alembic`` command line (developers only), it
opens its own engine from ``-x url=...`` or the ``sqlalchemy.url`` of the ini file.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.store.db import BEGIN_IMMEDIATE, create_engine, is_sqlite
from bot.store.errors import StoreConflict

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter little in place: Alembic rebuilds the table ("batch mode").
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_on(connection: Connection) -> None:
    """Migrate inside the caller's transaction, then check what SQLite could not while rebuilding."""
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "sqlite":
        # Foreign keys are off while migrating (see bot.store.db.create_engine); raising here
        # rolls the whole migration back.
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreConflict(f"the migration would leave rows with dangling foreign keys: {broken[:10]}")


def _cli_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database URL: alembic -c bot/store/alembic.ini -x url=sqlite+aiosqlite:///... ")
    return url


async def _run_cli_online(url: str) -> None:
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.execution_options(**{BEGIN_IMMEDIATE: True}).begin() as connection:
            await connection.run_sync(run_migrations_on)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    url = _cli_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
    else:
        asyncio.run(_run_cli_online(_cli_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
