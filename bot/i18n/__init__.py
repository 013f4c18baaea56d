"""One catalogue for every sentence the bot writes, in Korean and English.

Code never builds user-facing sentences: it returns a `Message` (a key and its parameters) and the
caller renders it in the language of the guild, the CLI or the test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Formatter
from typing import Any, Literal

import yaml

from bot.yaml_safe import SafeLoader

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")


@dataclass(frozen=True)
class Message:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(key=str(data["key"]), params=dict(data.get("params") or {}))


@cache
def _catalogue() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("messages.yaml").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = yaml.load(text, Loader=SafeLoader)  # noqa: S506 - the safe loader
    return loaded


def keys() -> frozenset[str]:
    return frozenset(_catalogue())


@dataclass(frozen=True)
class Place:
    """Where a template puts a parameter: inside a code span; at the start of a line (nothing but spaces
    written before it on its line)."""

    in_code: bool = False
    line_start: bool = True


#: Escapes a text parameter for the place its template puts it.
Escape = Callable[[str, Place], str]


def render(message: Message, lang: Lang, *, escape: Escape | None = None) -> str:
    """The message in `lang`. A missing key is a programming error and raises KeyError. With `escape`,
    every text parameter, nested messages' too, passes through it (`bot.markup.message`)."""
    template = _catalogue()[message.key][lang]
    if escape is None:
        return template.format(**{name: _param(value, lang) for name, value in message.params.items()})
    formatter = Formatter()
    written: list[str] = []
    ticks = 0  # the template's backticks so far: an odd number opens a code span
    for literal, name, spec, conversion in formatter.parse(template):
        written.append(literal)
        ticks += literal.count("`")
        if name is None:
            continue
        line = "".join(written).rpartition("\n")[2]
        place = Place(in_code=ticks % 2 == 1, line_start=not line.strip())
        value, _ = formatter.get_field(name, (), message.params)
        value = formatter.convert_field(_param(value, lang, escape, place), conversion)
        written.append(formatter.format_field(value, spec or ""))
    return "".join(written)


def _param(value: Any, lang: Lang, escape: Escape | None = None, place: Place | None = None) -> Any:
    """A parameter as written: a nested message rendered, a text given in both languages ({"ko", "en"},
    such as a label from the scenario catalogue) in `lang`, anything else as it is (a text escaped)."""
    if isinstance(value, Mapping) and "key" in value:
        return render(Message.from_json(value), lang, escape=escape)
    if isinstance(value, Mapping) and set(value) == set(LANGS):
        return value[lang]
    if escape is not None and isinstance(value, str):
        return escape(value, place or Place())
    return value


def t(key: str, lang: Lang, **params: Any) -> str:
    return render(Message(key, params), lang)
