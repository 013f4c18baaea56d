"""Boards in the store: per challenge, the instructors' board message the bot keeps current.

A board is posted with its message's outbox entry in one transaction, and each edit is recorded (`edits`
counted, `shown` replaced) with the edit's outbox entry in one transaction: a restart finds the message to
edit and what it shows, and a crash leaves no edit half done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from bot.store.db import Database, WriteStep, check_by, utc
from bot.store.models import Board


class BoardStore:
    """The boards table, on the bot's `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, challenge_id: int) -> Board | None:
        async with self._db.reading() as session:
            return (await session.exec(select(Board).where(Board.challenge_id == challenge_id))).first()

    async def all(self) -> list[Board]:
        async with self._db.reading() as session:
            return list(await session.exec(select(Board).order_by(col(Board.challenge_id))))

    async def post(
        self,
        challenge_id: int,
        *,
        channel_id: int,
        message_key: str,
        shown: str,
        by: str,
        at: datetime,
        then: WriteStep,
    ) -> Board:
        """The challenge's board is now the message `message_key` (a board posted before is replaced: its
        message is left as it last was), enqueued by `then` in the same transaction."""
        at = utc("at", at)
        check_by(by)
        async with self._db.writing() as session:
            board = (await session.exec(select(Board).where(Board.challenge_id == challenge_id))).first()
            if board is None:
                board = Board(
                    challenge_id=challenge_id,
                    channel_id=channel_id,
                    message_key=message_key,
                    posted_by=by,
                    posted_at=at,
                )
            board.channel_id, board.message_key, board.edits, board.shown = channel_id, message_key, 0, shown
            board.posted_by, board.posted_at = by, at
            session.add(board)
            await then(session)
            await session.flush()
            await session.refresh(board)
        return board

    async def edit(self, board: Board, shown: str, then: Callable[[int], WriteStep]) -> bool:
        """Record the board's next edit, `board.edits + 1`, showing `shown`, with `then(number)` (the edit's outbox
        entry) in the same transaction. False, and nothing written, if the board changed since `board` was read
        (edited or posted anew meanwhile)."""
        number = board.edits + 1
        async with self._db.writing() as session:
            result = await session.exec(
                sa.update(Board)
                .where(
                    col(Board.id) == board.id,
                    col(Board.edits) == board.edits,
                    col(Board.message_key) == board.message_key,
                )
                .values(edits=number, shown=shown)
            )
            if result.rowcount != 1:
                return False
            await then(number)(session)
        return True
