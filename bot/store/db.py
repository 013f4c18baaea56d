"""The database engine: SQLite by default, any SQLAlchemy async URL otherwise.

SQLite needs care to behave under a bot that does several things at once:

* WAL journal, so that readers do not block the writer and the writer does not block readers;
* ``foreign_keys=ON``, which SQLite leaves off unless asked on every connection;
* ``busy_timeout=5000``, so that a writer waits for another one instead of failing at once;
* real transactions: the sqlite3 module's legacy mode starts no transaction before a SELECT, so a
  read-then-write could act on a stale read. SQLAlchemy takes over BEGIN here (the recipe from the
  SQLAlchemy SQLite documentation), and a connection given the `BEGIN_IMMEDIATE` execution option
  starts with ``BEGIN IMMEDIATE``, taking the write lock up front: writes are serialised rather than
  failing with SQLITE_BUSY when two of them read the same rows first.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: Execution option (on an engine or a connection): on SQLite, start transactions with
#: ``BEGIN IMMEDIATE``. Ignored by other databases.
BEGIN_IMMEDIATE = "kubecamp_begin_immediate"

BUSY_TIMEOUT_MS = 5000


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return URL.create("sqlite+aiosqlite", database=str(Path(path).expanduser().absolute())).render_as_string()


def mask_url(url: str | URL) -> str:
    """The URL as it may be logged or shown: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say nothing of it rather than risk a password
        return "<unparsable database URL>"


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, sqlite_foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`, with the SQLite settings above when it is SQLite.

    `sqlite_foreign_keys=False` is for migrations only: SQLite rebuilds a table to alter it (drop the
    old one, rename the new one), and with foreign keys enforced dropping a parent table would cascade
    to its children. The migration checks the keys itself afterwards (``PRAGMA foreign_key_check``).
    Extra keyword arguments go to `create_async_engine`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, **kwargs)

    _prepare_sqlite_file(parsed)
    kwargs.setdefault("json_serializer", functools.partial(json.dumps, ensure_ascii=False))
    engine = create_async_engine(parsed, **kwargs)
    foreign_keys = "ON" if sqlite_foreign_keys else "OFF"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Stop the driver from issuing BEGIN itself (see _on_begin), before anything else runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching a new file to WAL may have to wait for another connection.
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys={foreign_keys}")
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _prepare_sqlite_file(url: URL) -> None:
    """Create the folder of the database file, and refuse a path that cannot be a database file.

    Checked here rather than left to the driver: aiosqlite leaves a worker thread behind when its
    connect fails, which reports an error if the event loop ends first (a CLI run that fails).
    """
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri") in ("true", "1"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise StoreUnavailable(f"the database path {path} is a directory, not a file")
    parent = path.parent
    if not parent.exists():
        log.info("creating the database folder %s", parent)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"cannot create the database folder {parent}: {e}") from e
