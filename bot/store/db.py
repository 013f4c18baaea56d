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

PostgreSQL gets the same guarantee from the same execution option: a write transaction takes a
transaction-level advisory lock (`WRITE_LOCK_KEY`) before its first statement, held until it commits or rolls
back; on asyncpg in the same round trip as its BEGIN (`_write_locking_connection`). Under
READ COMMITTED every statement after it sees what the writer before it committed, so a read-then-write of
one process cannot interleave with another's (two bot processes, or a migration starting beside a running
bot), as on SQLite; reads take no lock, and run in autocommit (no BEGIN and COMMIT around them, which READ
COMMITTED makes no different). There is no synchronous twin there: writes run on the async session.

`create_sync_twin` opens the same SQLite file through the synchronous sqlite3 driver, with the same
settings, for a hot write done whole in a worker thread: through aiosqlite every statement is a round
trip between the event loop and the driver's thread, which costs more than the statement itself. (One round
trip, not the four of SQLAlchemy's adapter: `bot.store.sqlite_driver`.)

`Database` is what every store of an aggregate (teams, runs, submissions, the outbox, incidents) works
on: the engine, read and write sessions, the process's write lock, the sync twin, and the translation
of database errors into the project's.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.errors import StoreUnavailable
from bot.store.errors import InvalidValue, NotFound, StoreConflict
from bot.store.sqlite_driver import OneTripConnection, one_trip_dbapi

log = logging.getLogger(__name__)

#: Execution option (on an engine or a connection): a write transaction, serialised against every other one
#: on the database: on SQLite it starts with ``BEGIN IMMEDIATE``, on PostgreSQL it first takes the advisory lock
#: `WRITE_LOCK_KEY`. Ignored by other databases.
BEGIN_IMMEDIATE = "kubecamp_begin_immediate"

#: The PostgreSQL advisory lock every write transaction holds (``pg_advisory_xact_lock``): one number of the
#: database's own lock space (advisory locks are per database), "kcbw" (kubecamp-bot writes) in ASCII.
WRITE_LOCK_KEY = 0x6B636277

BUSY_TIMEOUT_MS = 5000
_JSON_SERIALIZER = functools.partial(json.dumps, ensure_ascii=False)

_M = TypeVar("_M", bound=SQLModel)
_E = TypeVar("_E", bound=StrEnum)

#: A caller's own write, run on the session of a store transaction so that both commit together. It
#: writes on that session only: a store's write method would wait for the write lock its caller holds.
WriteStep = Callable[[AsyncSession], Awaitable[None]]


class Database:
    """The bot's database. Open with `await Database.open(url)`, close with `await db.close()`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._where = mask_url(engine.url)
        # On PostgreSQL a read runs without a transaction: under READ COMMITTED each statement sees what was
        # committed when it began, in a transaction or not, and BEGIN and COMMIT would be two more round trips.
        postgresql = engine.dialect.name == "postgresql"
        reads = engine.execution_options(isolation_level="AUTOCOMMIT") if postgresql else engine
        self._read = async_sessionmaker(reads, class_=AsyncSession, expire_on_commit=False)
        self._write = async_sessionmaker(
            engine.execution_options(**{BEGIN_IMMEDIATE: True}), class_=AsyncSession, expire_on_commit=False
        )
        # Every write of this process queues here first: waiting in SQLite's busy handler is sleeping and
        # polling, which under load takes longer than the writes themselves (and on PostgreSQL each waiting
        # writer would hold a pooled connection).
        self.write_lock = asyncio.Lock()
        #: The engine's synchronous twin on SQLite (create_sync_twin), for a write run whole in a worker
        #: thread under `write_lock`; None on other databases.
        self.sync_twin = create_sync_twin(engine.url)

    @classmethod
    async def open(cls, url: str) -> Database:
        """Connect to `url` and check that the database answers (`StoreUnavailable` if not).

        The schema is not migrated here: run `bot.store.migrate.upgrade(url)` first.
        """
        db = cls(create_engine(url))
        try:
            await db.ping()
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        await self.engine.dispose()
        if self.sync_twin is not None:
            self.sync_twin.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (on PostgreSQL, statements in autocommit: see `__init__`); database errors
        become the store's."""
        with self.translating():
            async with self._read.begin() as session:
                yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (BEGIN IMMEDIATE on SQLite, the advisory write lock on PostgreSQL), committed when
        the block ends without error."""
        async with self.write_lock, self.writing_while_locked() as session:
            yield session

    @asynccontextmanager
    async def writing_while_locked(self) -> AsyncIterator[AsyncSession]:
        """`writing` for a caller that holds `write_lock` already (it is not reentrant)."""
        with self.translating():
            async with self._write.begin() as session:
                yield session

    @contextmanager
    def translating(self) -> Iterator[None]:
        """Turn database errors raised in the block into the project's: conflicts and unavailability."""
        try:
            yield
        except sa_exc.IntegrityError as error:
            raise StoreConflict(f"refused by the database: {error.orig}") from error
        except (sa_exc.DBAPIError, sa_exc.DisconnectionError, sa_exc.TimeoutError) as error:
            reason = error.orig if isinstance(error, sa_exc.DBAPIError) else error
            raise StoreUnavailable(f"database {self._where}: {reason}") from error
        except OSError as error:
            # A database server that cannot be reached: asyncpg's connect raises the socket's error itself (refused,
            # unknown host, timed out), not one of the driver's that SQLAlchemy wraps.
            raise StoreUnavailable(f"database {self._where}: {error}") from error

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database can take a write now: the bot's work is writes
        (a webhook is answered only once kept), so a store that answers reads alone is not ready."""
        async with self.writing() as session:
            if self.engine.dialect.name != "postgresql":
                await session.exec(select(sqlalchemy.literal(1)))  # BEGIN IMMEDIATE has taken the write lock
                return
            # Taking the advisory lock writes nothing: ask whether this transaction may write (not on a hot
            # standby, nor where default_transaction_read_only is on).
            read_only = select(sqlalchemy.func.current_setting("transaction_read_only"))
            if (await session.exec(read_only)).one() == "on":
                raise StoreUnavailable(f"database {self._where}: cannot execute writes in a read-only transaction")

    async def reachable(self) -> None:
        """Raise `StoreUnavailable` unless the database answers a read of its schema's version now. What
        readiness asks again and again: a read never queues behind the process's write lock, so neither a busy
        webhook nor a flood of probes makes the other wait (`ping` would)."""
        async with self.reading() as session:
            version = sqlalchemy.table("alembic_version", sqlalchemy.column("version_num"))
            await session.exec(select(version.c.version_num))


async def require(session: AsyncSession, model: type[_M], key: int) -> _M:
    """The row of `model` with primary key `key`; `NotFound` if there is none."""
    row = await session.get(model, key)
    if row is None:
        raise NotFound(model.__name__.lower(), key)
    return row


async def delete_first(session: AsyncSession, ids: SelectOfScalar[int], *, limit: int) -> int:
    """Delete at most `limit` rows: the first by id of those `ids` selects (the id column of one table).
    How many were deleted.

    For pruning: one bounded statement, so that the write lock is held briefly however much is old."""
    if limit < 1:
        raise InvalidValue("limit", limit, "at least 1")
    [column] = ids.selected_columns
    batch = ids.order_by(column).limit(limit)
    result = await session.exec(sqlalchemy.delete(column.table).where(column.in_(batch)))
    deleted: int = result.rowcount
    return deleted


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(field: str, value: datetime) -> datetime:
    """`value` in UTC; `InvalidValue` for what is not an aware datetime."""
    if not isinstance(value, datetime):
        raise InvalidValue(field, value, "not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(field, value, "naive datetime refused: give it a time zone (UTC)")
    return value.astimezone(UTC)


#: The longest name of who did something (a grade, a paste, a tick, a board, a freeze) the store keeps.
BY_MAX = 100


def check_by(by: str) -> None:
    """`InvalidValue` for a name of who acted that is empty or longer than `BY_MAX`."""
    if not by or len(by) > BY_MAX:
        raise InvalidValue("by", by, f"must be 1 to {BY_MAX} characters")


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
    """An async engine for `url`, with the SQLite settings above when it is SQLite, the write lock on PostgreSQL.

    `sqlite_foreign_keys=False` is for migrations only: SQLite rebuilds a table to alter it (drop the
    old one, rename the new one), and with foreign keys enforced dropping a parent table would cascade
    to its children. The migration checks the keys itself afterwards (``PRAGMA foreign_key_check``).
    Extra keyword arguments go to `create_async_engine`.
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _JSON_SERIALIZER)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.get_driver_name() == "asyncpg":
            kwargs["connect_args"] = {"connection_class": _write_locking_connection(), **kwargs.get("connect_args", {})}
        engine = create_async_engine(parsed, **kwargs)
        _configure_postgresql(engine.sync_engine)
        return engine
    if backend != "sqlite":
        return create_async_engine(parsed, **kwargs)

    _prepare_sqlite_file(parsed)
    if parsed.get_driver_name() == "aiosqlite":
        kwargs.setdefault("module", one_trip_dbapi())
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
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        driver: object = connection.connection.dbapi_connection
        if isinstance(driver, OneTripConnection):
            driver.begin_statement = begin  # sent in the round trip of the transaction's first statement
        else:
            connection.exec_driver_sql(begin)


_TAKE_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = bool(connection.get_execution_options().get(BEGIN_IMMEDIATE, False))
        driver = connection.connection.driver_connection
        if driver is not None and hasattr(driver, "lock_at_begin"):  # asyncpg: see _write_locking_connection
            driver.lock_at_begin = immediate
        elif immediate:
            connection.exec_driver_sql(_TAKE_WRITE_LOCK)


@functools.cache
def _write_locking_connection() -> type:
    """asyncpg's connection class, taking the write lock in the round trip of the BEGIN when asked: SQLAlchemy's
    driver sends BEGIN on its own, just before a transaction's first statement, and a statement of its own for
    the lock would be another round trip that every writer waits on. (asyncpg is the `postgres` extra: imported
    only for a postgresql+asyncpg URL.)"""
    import asyncpg  # type: ignore[import-untyped]  # optional, see above

    class WriteLockingConnection(asyncpg.Connection):  # type: ignore[misc]
        #: Set at each transaction's start (`_configure_postgresql`): whether its BEGIN takes the write lock.
        lock_at_begin = False

        # asyncpg's signature, timeout included
        async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109
            if self.lock_at_begin and not args and query.startswith("BEGIN"):
                self.lock_at_begin = False
                query = f"{query} {_TAKE_WRITE_LOCK};"  # one simple query: BEGIN; SELECT pg_advisory_xact_lock(…);
            status: str = await super().execute(query, *args, timeout=timeout)
            return status

    return WriteLockingConnection


def sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite URL names; None for another database, or SQLite in memory or by URI."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not _is_file(parsed):
        return None
    return Path(str(parsed.database)).expanduser()


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


def one_of(field: str, choices: type[_E], value: _E | str) -> _E:
    """`value` as a member of `choices`; `InvalidValue` naming them all if it is none of them."""
    try:
        return choices(value)
    except ValueError:
        raise InvalidValue(field, value, f"one of {', '.join(choices)}") from None
