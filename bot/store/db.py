"""The database engine: SQLite by default, any SQLAlchemy async URL otherwise.

SQLite needs care to behave under a bot that does several things at once:

* WAL journal, so that readers do not block the writer and the writer does not block readers;
* ``foreign_keys=ON``, which SQLite leaves off unless asked on every connection;
* ``busy_timeout=5000``, so that a writer waits for another one instead of failing at once;
* ``synchronous=NORMAL``: in WAL mode a commit then writes the log without waiting for the disk to
  flush it (the log is flushed at each checkpoint). A commit survives a crash of the process, as with
  FULL, and the file cannot be corrupted; only an operating-system crash or a power cut may lose the
  last commits. Waiting for the flush on every commit made it the slowest part of taking a webhook;
  what could be lost Alertmanager notifies again at its next change or repeat;
* real transactions: the sqlite3 module's legacy mode starts no transaction before a SELECT, so a
  read-then-write could act on a stale read. SQLAlchemy takes over BEGIN here (the recipe from the
  SQLAlchemy SQLite documentation), and a connection given the `BEGIN_IMMEDIATE` execution option
  starts with ``BEGIN IMMEDIATE``, taking the write lock up front: writes are serialised rather than
  failing with SQLITE_BUSY when two of them read the same rows first.

`create_sync_twin` opens the same SQLite file through the synchronous sqlite3 driver, with the same
settings, for a hot write done whole in a worker thread: through aiosqlite every statement is a round
trip between the event loop and the driver's thread, which costs more than the statement itself.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: Execution option (on an engine or a connection): on SQLite, start transactions with
#: ``BEGIN IMMEDIATE``. Ignored by other databases.
BEGIN_IMMEDIATE = "kubecamp_begin_immediate"

BUSY_TIMEOUT_MS = 5000
_JSON_SERIALIZER = functools.partial(json.dumps, ensure_ascii=False)


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
    kwargs.setdefault("json_serializer", _JSON_SERIALIZER)
    engine = create_async_engine(parsed, **kwargs)
    _configure_sqlite(engine.sync_engine, foreign_keys=sqlite_foreign_keys)
    return engine


def create_sync_twin(url: str | URL) -> Engine | None:
    """A synchronous engine on the same SQLite file as the async `url` (sqlite3 instead of aiosqlite), with
    the same settings; None when `url` is not SQLite. Its pooled connections may be used from any thread
    (SQLAlchemy turns sqlite3's ``check_same_thread`` off for a file), one thread at a time."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not _is_file(parsed):
        return None  # an in-memory database is private to its connection: a twin would open another
    parsed = parsed.set(drivername="sqlite+pysqlite")
    _prepare_sqlite_file(parsed)
    engine = sqlalchemy.create_engine(parsed, json_serializer=_JSON_SERIALIZER)
    _configure_sqlite(engine, foreign_keys=True)
    return engine


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    pragma_foreign_keys = "ON" if foreign_keys else "OFF"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Stop the driver from issuing BEGIN itself (see _on_begin), before anything else runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching a new file to WAL may have to wait for another connection.
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys={pragma_foreign_keys}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_file(url: URL) -> bool:
    """Whether a SQLite URL names a plain file (not in-memory, not a URI the driver interprets)."""
    return bool(url.database) and url.database != ":memory:" and url.query.get("uri") not in ("true", "1")


def _prepare_sqlite_file(url: URL) -> None:
    """Create the folder of the database file, and refuse a path that cannot be a database file.

    Checked here rather than left to the driver: aiosqlite leaves a worker thread behind when its
    connect fails, which reports an error if the event loop ends first (a CLI run that fails).
    """
    if not _is_file(url):
        return
    path = Path(str(url.database)).expanduser()
    if path.is_dir():
        raise StoreUnavailable(f"the database path {path} is a directory, not a file")
    parent = path.parent
    if not parent.exists():
        log.info("creating the database folder %s", parent)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"cannot create the database folder {parent}: {e}") from e
