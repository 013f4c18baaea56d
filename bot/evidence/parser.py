"""What every evidence parser is: a command's table read into typed rows, a condition over them, a verdict.

A checkpoint in the catalogue names a parser and its condition's parameters; the condition is validated
when the catalogue loads (`Parser.condition_of`), so a typo stops the catalogue, not a class. A team's
paste is judged by `Parser.evaluate`, which answers every text, however broken, with a `Verdict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bot.errors import KubecampError
from bot.evidence.table import clean, read_table
from bot.i18n import Message
from bot.limits import ELLIPSIS, TEXT_INPUT_MAX

#: The longest text from a paste that a verdict repeats (a hostname, a service name, an image).
ECHO_MAX = 60
#: How many names a verdict lists (the services a table has, the tasks not yet updated).
LIST_MAX = 8


class ConditionInvalid(KubecampError):
    """A checkpoint's condition does not fit its parser; `problem` names the field, if one, and why (in
    English, with pydantic's words: the text is for the catalogue's author, the message names the parser)."""

    def __init__(self, parser: str, problem: str) -> None:
        self.parser = parser
        self.problem = problem
        super().__init__(f"{parser}: {problem}")
        self.message = Message("evidence.condition_invalid", {"parser": parser})


class Condition(BaseModel):
    """The parameters of a checkpoint's condition: exact types (no "3" for 3), no unknown keys, and at
    least one requirement: a condition that asks nothing would pass any paste."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Keys that select rows rather than require something of them (a service's name).
    selectors: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _requires_something(self) -> Condition:
        asked = [name for name, value in self if value is not None and name not in self.selectors]
        if not asked:
            requirements = sorted(set(type(self).model_fields) - self.selectors)
            raise ValueError(f"asks for nothing: give at least one of {', '.join(requirements)}")
        return self


@dataclass(frozen=True)
class Verdict:
    """`message` says what the paste showed (or why nothing could be read); `unmet` each requirement
    it does not meet. It passes when the table was read and nothing is unmet."""

    passed: bool
    message: Message
    unmet: tuple[Message, ...] = ()


RowT = TypeVar("RowT")
ConditionT = TypeVar("ConditionT", bound=Condition)


class Parser(ABC, Generic[RowT, ConditionT]):
    """One command's table. Subclasses name the command, its columns and its condition, read a row and
    judge the rows."""

    #: The stable name the catalogue uses, e.g. "docker-node-ls".
    name: ClassVar[str]
    #: The command as a team types it (shown when its table is not found).
    command: ClassVar[str]
    #: Every header the command's table can have (its default and its wide or custom formats).
    columns: ClassVar[frozenset[str]]
    condition: ClassVar[type[Condition]]

    @abstractmethod
    def needs(self, condition: ConditionT) -> frozenset[str]:
        """The headers the table must have for `condition` to be judged."""

    @abstractmethod
    def row(self, cells: Mapping[str, str]) -> RowT | None:
        """A row of the table, or None when the cells are not one (the table ends there)."""

    @abstractmethod
    def judge(self, rows: Sequence[RowT], condition: ConditionT) -> tuple[Message, list[Message]]:
        """What the rows show, and each requirement of `condition` they do not meet."""

    def condition_of(self, params: Mapping[str, Any]) -> ConditionT:
        """`params` as this parser's condition; ConditionInvalid names the field and the problem."""
        if not isinstance(params, Mapping):
            raise ConditionInvalid(self.name, f"must be a mapping of parameters, not {type(params).__name__}")
        try:
            return self.condition.model_validate(dict(params))  # type: ignore[return-value]
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                known = ", ".join(sorted(self.condition.model_fields))
                raise ConditionInvalid(self.name, f"{field}: unknown parameter (this parser knows {known})") from None
            problem = str(error["msg"]).removeprefix("Value error, ")
            raise ConditionInvalid(self.name, f"{field}: {problem}" if field else problem) from None

    def evaluate(self, condition: ConditionT, text: str) -> Verdict:
        """The verdict on a team's paste."""
        if len(text) > TEXT_INPUT_MAX:
            return Verdict(False, Message("evidence.too_long", {"chars": len(text), "max": TEXT_INPUT_MAX}))
        needed = self.needs(condition)
        table = read_table(clean(text), known=self.columns, required=needed)
        if table is None:
            return Verdict(
                False, Message("evidence.no_table", {"command": self.command, "headers": ", ".join(sorted(needed))})
            )
        rows = []
        for cells in table.rows:
            row = self.row(cells)
            if row is None:
                break
            rows.append(row)
        if not rows:
            return Verdict(False, Message("evidence.no_rows", {"command": self.command}))
        found, unmet = self.judge(rows, condition)
        return Verdict(not unmet, found, tuple(unmet))


def echo(text: str) -> str:
    """A text from the paste as a verdict repeats it: cut to ECHO_MAX characters."""
    return text if len(text) <= ECHO_MAX else text[: ECHO_MAX - 1] + ELLIPSIS


def listing(names: Sequence[str]) -> str:
    """Names from the paste as a verdict lists them: at most LIST_MAX, each echoed, then how many more."""
    shown = ", ".join(echo(name) for name in names[:LIST_MAX])
    more = len(names) - LIST_MAX
    return f"{shown}, +{more}" if more > 0 else shown or "-"


def at_least(what: str, found: int, wanted: int | None) -> list[Message]:
    """The unmet requirement "at least `wanted` of `what`" (a message key), or nothing when it is met."""
    if wanted is None or found >= wanted:
        return []
    return [Message("evidence.at_least", {"what": Message(what).to_json(), "found": found, "wanted": wanted})]
