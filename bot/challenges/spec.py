"""What every part of a challenge file shares: strict models, texts in both languages, timed hints, and the
report of a model's first error as a `ScenarioInvalid` naming the file and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import ScenarioInvalid

if TYPE_CHECKING:
    from bot.challenges.checks import CheckSpec
from bot.values import Duration


class Strict(BaseModel):
    """Unknown keys are errors: a typo never silently disables a setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages of the course."""

    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Hint(Strict):
    after: Duration
    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def text(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class ItemSpec(Protocol):
    """The part of a scenario's or a criterion's spec a run reads."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> Text: ...
    @property
    def points(self) -> int: ...
    @property
    def hints(self) -> list[Hint]: ...


class CheckedItem:
    """What a run verifies: a break-fix challenge's scenario, or a build's criterion proven by checks. Both give
    their spec's id, title, points and hints, the kinds their checks read, and where those read."""

    spec: ItemSpec
    checks: tuple[CheckSpec, ...]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> Text:
        return self.spec.title

    @property
    def points(self) -> int:
        return self.spec.points

    @property
    def hints(self) -> tuple[Hint, ...]:
        return tuple(self.spec.hints)

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind the item's checks read."""
        return frozenset(kind for check in self.checks for kind in check.kinds)

    def hints_due(self, elapsed: timedelta) -> list[int]:
        """Levels (0-based) of the hints whose offset has passed."""
        return [level for level, hint in enumerate(self.spec.hints) if hint.after <= elapsed]

    @property
    def namespace(self) -> str | None:
        """Which of a build's namespaces its checks read; None: the team's own (where a scenario is deployed)."""
        return None

    @property
    def missing_message(self) -> str:
        """What an object a check needs and does not find means: a scenario's was deleted or renamed."""
        return "check.missing"


def _field_path(loc: tuple[int | str, ...], document: Any) -> str:
    """Pydantic's location, spelled like the YAML (scenarios[1].checks[0]), with ids where known."""
    out = ""
    node = document
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and "id" in node:
                out += f"(id={node['id']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def raise_first(error: ValidationError, path: Path, document: Any) -> None:
    first = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (a typo? see docs/scenarios.md for the format)"
    elif first["type"] == "missing":
        message = "required key is missing"
    raise ScenarioInvalid(str(path), _field_path(loc, document), message) from error
