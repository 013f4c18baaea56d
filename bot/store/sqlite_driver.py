"""SQLAlchemy's aiosqlite adapter, with each statement one round trip to the driver's thread.

aiosqlite runs sqlite3 in a thread of its own and hands each call to it through a queue; SQLAlchemy's adapter
makes four such calls for a statement (open a cursor, execute, fetch the rows, close the cursor). A round trip
costs about 60 µs of CPU on both sides, more than most of the store's statements themselves. This cursor makes
the four calls in the thread in one: the statement's rows, description, row count and last row id come back
together, as SQLAlchemy's adapter fetches them anyway.

A transaction makes two round trips fewer. Its BEGIN (`OneTripConnection.begin_statement`) goes in the round
trip of its first statement, which follows it at once anyway. And the ROLLBACK with which the pool resets a
connection it takes back, after every COMMIT, is made only inside a transaction: outside one sqlite3's own
rollback does nothing, and the round trip was a quarter of a one-row read's. (A call whose caller was cancelled
may still run in the driver's thread; SQLAlchemy then closes the connection behind it rather than reset it.)
A one-row read went from four round trips to two. Everything else (functions, streamed results, errors) is
SQLAlchemy's own adapter, a streamed statement's BEGIN sent before it.

It leans on two internals that SQLAlchemy's adapter leans on as well: aiosqlite's `Connection._execute` (run a
function in the connection's thread) and `Connection._conn` (the sqlite3 connection there). The versions are
pinned in constraints.txt, and every store test runs through this cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

#: What one round trip brings back: description, row count, last row id, rows (None without a description).
_Outcome = tuple[Any, int, int | None, list[Any] | None]


def _whole_statement(
    connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """In the driver's thread: the transaction's `begin` if it is still to be sent, then the statement on a cursor
    of its own, whole."""
    if begin is not None:
        _begin(connection, begin)
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _begin(connection: sqlite3.Connection, begin: str) -> None:
    connection.execute(begin).close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one round trip; its results are kept here, so closing it is free."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")
    _adapt_connection: OneTripConnection

    def __init__(self, adapt_connection: OneTripConnection) -> None:
        # No driver cursor is opened (the base class would, in a round trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # None before an INSERT, as sqlite3's

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._statement(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._statement(operation, seq_of_parameters, many=True)

    def _statement(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection = self._adapt_connection
        begin, connection.begin_statement = connection.begin_statement, None
        try:
            outcome: _Outcome = await_(self._one_trip(begin, operation, parameters, many))
        except Exception as error:
            connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows or ())

    async def _one_trip(self, begin: str | None, operation: Any, parameters: Any, many: bool) -> _Outcome:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            outcome: _Outcome = await driver._execute(
                _whole_statement, driver._conn, begin, operation, parameters, many
            )
            return outcome

    async def _async_soft_close(self) -> None:
        """Nothing to close: the results are here already."""

    def close(self) -> None:
        self._rows.clear()


class StreamingCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """SQLAlchemy's cursor for a streamed statement, after the transaction's BEGIN if that is still to be sent."""

    __slots__ = ()
    _adapt_connection: OneTripConnection

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._adapt_connection.send_begin()
        return super().execute(operation, parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("begin_statement",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy takes the attribute for invariant
    _ss_cursor_cls = StreamingCursor

    def __init__(self, dbapi: Any, connection: AsyncIODBAPIConnection) -> None:
        super().__init__(dbapi, connection)
        #: The statement that begins the transaction under way (BEGIN, BEGIN IMMEDIATE) while it is still to be
        #: sent: set by the engine's ``begin`` event, sent with the transaction's first statement.
        self.begin_statement: str | None = None

    def send_begin(self) -> None:
        """Send the transaction's BEGIN now if it is still to be sent, in a round trip of its own."""
        if self.begin_statement is not None:
            begin, self.begin_statement = self.begin_statement, None
            self._call(_begin, begin)

    def commit(self) -> None:
        self.begin_statement = None
        if not self._idle():
            self._call(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self.begin_statement = None
        if not self._idle():
            self._call(sqlite3.Connection.rollback)

    def _idle(self) -> bool:
        """Whether the driver's connection is outside any transaction: a COMMIT or ROLLBACK would then do nothing,
        as sqlite3's do there. (Read here, not in the driver's thread: SQLAlchemy commits or rolls back only when
        no call of ours runs there. One whose caller was cancelled makes SQLAlchemy invalidate the connection:
        it is closed behind that call, never reset.)"""
        driver = self._connection._connection
        return driver is not None and not driver.in_transaction

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        """`function(driver connection, *args)` in the driver's thread, with SQLAlchemy's errors."""
        if self._connection._connection is None:
            return  # closed already: as SQLAlchemy's adapter, nothing to do
        try:
            await_(self._connection._execute(function, self._connection._conn, *args))
        except Exception as error:
            self._handle_exception(error)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module, whose connections make `OneTripCursor`s: `create_async_engine(module=...)`."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
