"""Errors of the storage layer that `bot.errors` does not already name.

`bot.errors.StoreUnavailable` (the database cannot be reached or written) and
`bot.errors.UnknownTeam` (no team of that name) are raised as they are; the types here cover what is
particular to the store.
"""

from __future__ import annotations

from bot.errors import KubecampError
from bot.i18n import Message


class StoreConflict(KubecampError):
    """The database refused a write because of what is already stored.

    A second active run of the same challenge for a team, a duplicate team name or namespace, a
    Discord role already linked to another team, removing a team that still has history, …
    The text says what conflicts, for the log; `reason`, when a user can meet the conflict, says it in the
    catalogue's words. The database error, if any, is chained as ``__cause__``.
    """

    def __init__(self, detail: str, *, reason: Message | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.message = Message("err.conflict", {"detail": (reason or Message("conflict.stored")).to_json()})


class NotFound(KubecampError):
    """A record addressed by its id does not exist (teams addressed by name raise `UnknownTeam`)."""

    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} #{key}")
        self.message = Message("err.not_found", {"key": key})


class InvalidValue(KubecampError, ValueError):
    """A value handed to the store breaks a rule of the schema (length, format, allowed values)."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")
        self.message = Message("err.invalid_value")
