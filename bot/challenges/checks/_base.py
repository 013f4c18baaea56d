"""What every check shares: its outcome, its argument model, the registry, and helpers over plain objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.challenges.selectors import parse_selector, selector_matches
from bot.i18n import Message
from bot.limits import shorten as shorten
from bot.snapshot import Obj, Snapshot, SnapshotGap
from bot.snapshot import find_condition as find_condition


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check's status, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not check: never counts as solved


@dataclass(frozen=True)
class Outcome:
    """`message` is the symptom, what `kubectl get/describe` shows, and is always shown; `diagnosis`
    names the field and the bound, and is shown only once the scenario's hints reach that far."""

    status: Status
    message: Message
    diagnosis: Message | None = None

    @classmethod
    def ok(cls, message_key: str, /, **params: Any) -> Outcome:
        return cls(Status.PASS, Message(message_key, params))

    @classmethod
    def fail(cls, message_key: str, /, diagnosis: Message | None = None, **params: Any) -> Outcome:
        return cls(Status.FAIL, Message(message_key, params), diagnosis)


class CheckSpec(BaseModel):
    """Base of every check: its arguments are the model's fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    check_name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]

    #: A guard keeps passing while the scenario is broken: it pins what the fix must not break
    #: (the Deployment behind a mis-set HPA). Students are told so.
    guard: bool = False

    def evaluate(self, snapshot: Snapshot) -> Outcome:
        """Run the check; a kind that could not be listed is "could not check", a required object that
        does not exist (see `require`) is a failure that says so."""
        try:
            return self.run(snapshot)
        except SnapshotGap as gap:
            return Outcome(
                Status.UNKNOWN, Message("check.could_not_check", {"kind": gap.kind, "reason": gap.reason.to_json()})
            )
        except Missing as missing:
            return Outcome.fail("check.missing", kind=missing.kind, name=missing.name)

    def run(self, snapshot: Snapshot) -> Outcome:
        raise NotImplementedError

    def args(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude={"guard"})


REGISTRY: dict[str, type[CheckSpec]] = {}


def register(name: str, *kinds: str) -> Callable[[type[CheckSpec]], type[CheckSpec]]:
    def wrap(cls: type[CheckSpec]) -> type[CheckSpec]:
        cls.check_name = name
        cls.kinds = kinds
        REGISTRY[name] = cls
        return cls

    return wrap


def parse_check(raw: object) -> CheckSpec:
    """`{check_name: {args}}` → a validated CheckSpec; ValueError with a readable reason otherwise."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError("a check is a mapping with exactly one key, the check's name: {deployment_available: {...}}")
    ((name, args),) = raw.items()
    cls = REGISTRY.get(str(name))
    if cls is None:
        raise ValueError(f"unknown check {name!r}; known checks: {', '.join(sorted(REGISTRY))}")
    if not isinstance(args, dict):
        raise ValueError(f"{name}: arguments must be a mapping, got {type(args).__name__}")
    try:
        return cls.model_validate(args)
    except ValidationError as exc:
        # An unknown argument is usually a typo of a missing one: name the typo first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        problem = {"extra_forbidden": "unknown argument", "missing": "required argument is missing"}.get(
            first["type"], first["msg"]
        )
        raise ValueError(f"{name}.{where}: {problem}") from exc


# --- helpers over plain objects -------------------------------------------------------------------


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", "?"))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def template_containers(template_spec: Obj) -> list[Obj]:
    return list(template_spec.get("containers") or [])


def pods_of(snapshot: Snapshot, selector: Mapping[str, Any] | None) -> list[Obj]:
    return [p for p in snapshot.list("Pod") if selector_matches(selector, labels_of(p))]


def diagnosis(key: str, /, **params: Any) -> Message:
    return Message(key, params)


def owned_by(obj: Obj, kind: str, name: str) -> bool:
    references = obj.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("kind") == kind and ref.get("name") == name for ref in references)


def require(snapshot: Snapshot, kind: str, name: str) -> Obj:
    """The named object; a missing one makes the check fail saying so (see NamedCheck)."""
    obj = snapshot.get(kind, name)
    if obj is None:
        raise Missing(kind, name)
    return obj


class Missing(Exception):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind}/{name}")
        self.kind = kind
        self.name = name


class NamedCheck(CheckSpec):
    """A check about one named object."""

    name: str = Field(min_length=1)


class LabelSelecting(CheckSpec):
    """A check about the objects a label selector picks."""

    selector: str = Field(min_length=1)

    @field_validator("selector")
    @classmethod
    def _parsable(cls, value: str) -> str:
        parse_selector(value)
        return value


class SelectorCheck(LabelSelecting):
    def pods(self, snapshot: Snapshot) -> list[Obj]:
        return pods_of(snapshot, parse_selector(self.selector))
