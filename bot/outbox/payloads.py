"""What each kind of outbox entry carries, as one pydantic model per kind keyed by the kind.

A message is Discord message JSON (``content``, ``embeds``, ``components``, ``allowed_mentions``, …
and ``files``: [{"filename", "text" | "base64"}]); a thread, {"name": …, "message": <message>}; an
edit, the message fields to replace; a thread update, {"name"?, "archived"?}. Discord's own fields
pass through unchecked (extra="allow"): the models only refuse what the outbox could not send.
Sizes do not matter, `bot.limits.fit_message` deals with them. The payload kept is the one given;
the models only validate it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from bot.store.errors import InvalidValue
from bot.store.models import OutboxKind

#: Message fields that carry something to show, besides the content.
_SHOWN = ("embeds", "files", "components", "sticker_ids", "poll")


def _text(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _embeds(value: object) -> object:
    if value is not None and not (isinstance(value, list) and all(isinstance(e, Mapping) for e in value)):
        raise ValueError("must be a list of embed objects")
    return value


def _first_message(value: object) -> object:
    if not isinstance(value, Mapping):
        raise ValueError("a thread needs its first message")
    return value


def _named(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a thread needs a name")
    return value


def _thread_name(value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a thread name is not empty")
    return value


def _archived(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class File(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    filename: str = Field(min_length=1)
    text: str | None = None
    base64: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> File:
        if (self.text is None) == (self.base64 is None):
            raise ValueError('a file is {"filename": …, "text" or "base64": …}')
        return self


class Message(_Open):
    content: Annotated[str | None, BeforeValidator(_text)] = None
    embeds: Annotated[list[dict[str, Any]] | None, BeforeValidator(_embeds)] = None
    files: list[File] | None = None

    @model_validator(mode="after")
    def _shows_something(self) -> Message:
        fields = {**(self.model_extra or {}), "embeds": self.embeds, "files": self.files}
        if not (self.content or "").strip() and not any(fields.get(key) for key in _SHOWN):
            raise ValueError("a message needs content, embeds, files, components, stickers or a poll")
        return self


class Thread(_Closed):
    name: Annotated[str | None, BeforeValidator(_named)] = None
    message: Annotated[Message | None, BeforeValidator(_first_message)] = None

    @model_validator(mode="after")
    def _has_name_and_first_message(self) -> Thread:
        if self.name is None:
            raise ValueError("a thread needs a name")
        if self.message is None:
            raise ValueError("a thread needs its first message")
        return self


class Edit(_Open):
    files: list[File] | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Edit:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("an edit changes something")
        return self


class ThreadUpdate(_Closed):
    name: Annotated[str | None, BeforeValidator(_thread_name)] = None
    archived: Annotated[bool | None, BeforeValidator(_archived)] = None

    @model_validator(mode="after")
    def _changes_something(self) -> ThreadUpdate:
        if not self.model_fields_set:
            raise ValueError("a thread update is {name?, archived?}, at least one")
        return self


class _MessageEntry(_Closed):
    kind: Literal["message"]
    payload: Message


class _ThreadEntry(_Closed):
    kind: Literal["thread"]
    payload: Thread


class _EditEntry(_Closed):
    kind: Literal["edit"]
    payload: Edit


class _ThreadUpdateEntry(_Closed):
    kind: Literal["thread_update"]
    payload: ThreadUpdate


_ENTRY: TypeAdapter[_MessageEntry | _ThreadEntry | _EditEntry | _ThreadUpdateEntry] = TypeAdapter(
    Annotated[_MessageEntry | _ThreadEntry | _EditEntry | _ThreadUpdateEntry, Field(discriminator="kind")]
)


def check_payload(kind: OutboxKind, payload: Mapping[str, Any]) -> None:
    """`InvalidValue` naming the field (payload.…) and what it should be, if `payload` is no `kind`'s."""
    if not isinstance(payload, Mapping):
        raise InvalidValue("payload", payload, "must be a mapping")
    try:
        _ENTRY.validate_python({"kind": kind.value, "payload": dict(payload)})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"][1:])  # after the kind the union is keyed by
        if error["type"] == "value_error":
            problem = str(error["ctx"]["error"])
        elif error["type"] == "extra_forbidden":
            problem = f"unknown field of a {kind}"
        else:
            problem = error["msg"]
        raise InvalidValue(field, error["input"], problem) from None
