"""A build's rubric and phases: what the team builds is scored criterion by criterion.

A build deploys nothing broken: the team builds in its namespaces, and each criterion of the rubric is
proven one way, declared in the catalogue:

* `checks:` — the check library over one of the team's namespaces, at each verification; the points
  count when every check passed at the run's latest verification (at the deadline, its final one);
* `evidence:` — a command's output the team pastes, read by a named parser under a condition
  (`{parser: docker-service-ls, service: web-service, replicas: "3/3"}`); the points count once a paste
  passed;
* `graded: true` — an instructor awards up to the criterion's points, with a reason;
* `self: true` — only in a lab: the team ticks it with a button in its run's thread (its word, kept with who
  and when).

A lab's checkpoints are criteria too, grouped under the lab's phases instead of rubric groups.

Criteria are `bonus` or required, and grouped as the course material groups them. The build's own
namespaces (`namespaces: [streaming, monitoring, logging]`) become, per team, `<team namespace>-<name>`,
made and labelled like the team's namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from bot.challenges.checks import CheckSpec
from bot.challenges.spec import CheckedItem, Hint, Strict, Text
from bot.evidence import ConditionInvalid, validate_condition
from bot.values import DNS1123_LABEL_MAX, Duration

#: A criterion's id: also the `item` of `/grade`.
ITEM_ID = r"^[a-z0-9][a-z0-9-]{0,40}$"
#: A build namespace's name, appended to the team's namespace.
NAMESPACE_KEY = r"^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$"
#: Discord's limits: the buttons of a row, and (with five rows to a message) the most self-ticked checkpoints
#: one phase of a lab may have: their buttons are one message.
ROW_BUTTONS = 5
PHASE_TICKS_MAX = ROW_BUTTONS * 5
#: The name every reference folder has: the Helm chart's .helmignore leaves folders of this name out,
#: like solutions (a build's reference is its answer).
REFERENCE_FOLDER = "reference"


class EvidenceSpec(Strict):
    """How a pasted output proves a criterion: `parser` names the command's table (`bot.evidence.PARSERS`),
    every other key is a parameter of its condition, checked when the catalogue loads."""

    model_config = ConfigDict(extra="allow", frozen=True)

    parser: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _valid_condition(self) -> EvidenceSpec:
        try:
            validate_condition(self.parser, self.params)
        except ConditionInvalid as exc:
            raise ValueError(f"{exc.parser}: {exc.problem}") from None
        return self


Proof = Literal["checks", "evidence", "graded", "self"]
PROOFS: tuple[Proof, ...] = ("checks", "evidence", "graded", "self")
#: The model's field of a proof whose key is a Python word.
_PROOF_FIELDS = {"self": "ticked"}


class CriterionSpec(Strict):
    id: str = Field(pattern=ITEM_ID)
    title: Text
    points: int = Field(ge=1, le=1000)
    #: A bonus criterion adds to the score; the required ones are what the build must have.
    bonus: bool = False
    #: One of the challenge's `namespaces`; without it, the team's own namespace.
    namespace: str | None = None
    checks: list[Any] | None = Field(default=None, min_length=1)
    #: The parser of a command's output and its condition (e.g. `{parser: docker-node-ls, ready: 3}`).
    evidence: EvidenceSpec | None = None
    graded: Literal[True] | None = None
    #: A lab's checkpoint the team ticks itself (`self: true` in the file).
    ticked: Literal[True] | None = Field(default=None, alias="self")
    hints: list[Hint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_proof(self) -> CriterionSpec:
        proofs = [name for name in PROOFS if getattr(self, _PROOF_FIELDS.get(name, name)) is not None]
        if len(proofs) != 1:
            given = ", ".join(proofs) if proofs else "none"
            raise ValueError(
                f"a criterion is proven exactly one way: checks, evidence, graded or self (given: {given})"
            )
        if self.checks is None and self.namespace is not None:
            raise ValueError("namespace: only a criterion proven by checks reads a namespace")
        if self.checks is None and self.hints:
            raise ValueError("hints: only a criterion proven by checks has hints (they follow its verification)")
        offsets = [h.after for h in self.hints]
        if offsets != sorted(offsets):
            raise ValueError("hints must be listed in the order of their `after` offsets")
        return self

    @property
    def proof(self) -> Proof:
        if self.checks is not None:
            return "checks"
        if self.evidence is not None:
            return "evidence"
        return "self" if self.ticked else "graded"


class RubricGroupSpec(Strict):
    """A group of criteria, as the course material groups them (monitoring, automation, …)."""

    id: str = Field(pattern=ITEM_ID)
    title: Text
    criteria: list[CriterionSpec] = Field(min_length=1)


class PhaseSpec(Strict):
    """A time box of a build's or a lab's schedule; a reminder is posted when it begins. A lab's phase has an
    id and the checkpoints the team reaches in it; a build's has neither."""

    title: Text
    duration: Duration
    id: str | None = Field(default=None, pattern=ITEM_ID)
    checkpoints: list[CriterionSpec] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _positive(self) -> PhaseSpec:
        if self.duration <= timedelta(0):
            raise ValueError("duration must be positive")
        return self


#: A build namespace's name (`streaming`), appended to the team's namespace.
NamespaceKey = Annotated[str, Field(pattern=NAMESPACE_KEY)]


def validate_build(
    rubric: Sequence[RubricGroupSpec], namespaces: Sequence[str], phases: Sequence[PhaseSpec], time_limit: timedelta
) -> None:
    """What a build's parts must agree on (raised as ValueError, reported at the challenge's top level)."""
    duplicates = _duplicates(namespaces)
    if duplicates:
        raise ValueError(f"duplicate namespaces: {', '.join(duplicates)}")
    duplicates = _duplicates([c.id for g in rubric for c in g.criteria])
    if duplicates:
        raise ValueError(f"duplicate criterion ids: {', '.join(duplicates)}")
    duplicates = _duplicates([g.id for g in rubric])
    if duplicates:
        raise ValueError(f"duplicate rubric group ids: {', '.join(duplicates)}")
    criteria = [c for g in rubric for c in g.criteria]
    ticked = [c.id for c in criteria if c.ticked]
    if ticked:
        raise ValueError(f"criterion {ticked[0]}: only a lab's checkpoint is ticked by the team (self: true)")
    if not any(c.checks is not None for c in criteria):
        raise ValueError("a build's rubric needs at least one criterion proven by checks (its verification)")
    if all(c.bonus for c in criteria):
        raise ValueError("a build's rubric needs at least one required criterion (not bonus)")
    _within(criteria, "criterion", namespaces, phases, time_limit)


def validate_lab(phases: Sequence[PhaseSpec], namespaces: Sequence[str], time_limit: timedelta) -> None:
    """What a lab's parts must agree on: its phases, each with an id and checkpoints, and where their checks
    look (raised as ValueError, reported at the challenge's top level)."""
    groups = [lab_group(phase) for phase in phases]
    duplicates = _duplicates([g.id for g in groups])
    if duplicates:
        raise ValueError(f"duplicate phase ids: {', '.join(duplicates)}")
    duplicates = _duplicates(namespaces)
    if duplicates:
        raise ValueError(f"duplicate namespaces: {', '.join(duplicates)}")
    checkpoints = [c for g in groups for c in g.criteria]
    duplicates = _duplicates([c.id for c in checkpoints])
    if duplicates:
        raise ValueError(f"duplicate checkpoint ids: {', '.join(duplicates)}")
    if all(c.bonus for c in checkpoints):
        raise ValueError("a lab needs at least one required checkpoint (not bonus)")
    for group in groups:
        ticked = sum(1 for c in group.criteria if c.ticked)
        if ticked > PHASE_TICKS_MAX:
            raise ValueError(
                f"phase {group.id}: {ticked} checkpoints ticked by the team; their buttons are one Discord "
                f"message, which holds at most {PHASE_TICKS_MAX}"
            )
    _within(checkpoints, "checkpoint", namespaces, phases, time_limit)


def _within(
    items: Sequence[CriterionSpec],
    what: str,
    namespaces: Sequence[str],
    phases: Sequence[PhaseSpec],
    time_limit: timedelta,
) -> None:
    """Every item reads one of the challenge's namespaces, and the phases fit in its time limit."""
    for item in items:
        if item.namespace is not None and item.namespace not in namespaces:
            known = ", ".join(namespaces) or "none"
            raise ValueError(
                f"{what} {item.id}: namespace {item.namespace!r} is not one of the challenge's namespaces ({known})"
            )
    total = sum((p.duration for p in phases), timedelta())
    if total > time_limit:
        raise ValueError(f"the phases add up to {total}, past the time limit {time_limit}")


def lab_group(phase: PhaseSpec) -> RubricGroupSpec:
    """A lab's phase as the group of its checkpoints (ValueError: a phase without an id or checkpoints)."""
    if phase.id is None or phase.checkpoints is None:
        raise ValueError("a lab's phase has an id and its checkpoints")
    return RubricGroupSpec(id=phase.id, title=phase.title, criteria=phase.checkpoints)


def validate_bonus_items(rubric: Sequence[RubricGroupSpec]) -> None:
    """A break-fix challenge's rubric: bonus items an instructor grades (the course's 도전 과제), added to what
    its scenarios score; its scenarios are what is verified (raised as ValueError, at the challenge's top level)."""
    duplicates = _duplicates([c.id for g in rubric for c in g.criteria])
    if duplicates:
        raise ValueError(f"duplicate criterion ids: {', '.join(duplicates)}")
    for criterion in (c for g in rubric for c in g.criteria):
        if not (criterion.graded and criterion.bonus):
            raise ValueError(
                f"criterion {criterion.id}: a break-fix challenge's rubric holds bonus items an instructor grades "
                "(graded: true, bonus: true); its scenarios are what is verified"
            )


def _duplicates(values: Sequence[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


@dataclass(frozen=True)
class Criterion(CheckedItem):
    """One criterion of a build's rubric, with its checks parsed (none unless it is proven by checks)."""

    spec: CriterionSpec
    group: RubricGroupSpec
    checks: tuple[CheckSpec, ...] = ()

    @property
    def namespace(self) -> str | None:
        """The build namespace its checks read (None: the team's own)."""
        return self.spec.namespace

    @property
    def missing_message(self) -> str:
        """An object a criterion's check needs and does not find is not built yet."""
        return "check.not_built"


@dataclass(frozen=True)
class Phase:
    title: Text
    starts: timedelta  # from the run's start
    duration: timedelta


def timed(specs: Sequence[PhaseSpec]) -> tuple[Phase, ...]:
    """The phases with their offsets from the run's start, in order."""
    out: list[Phase] = []
    offset = timedelta()
    for phase in specs:
        out.append(Phase(title=phase.title, starts=offset, duration=phase.duration))
        offset += phase.duration
    return tuple(out)


def team_namespaces(team_namespace: str, names: Sequence[str]) -> dict[str | None, str]:
    """The team's own namespace (key None) and one per build namespace `names`, by name (ValueError: too long)."""
    return {None: team_namespace, **{name: build_namespace(team_namespace, name) for name in names}}


def shared_namespace(ours: Iterable[str], others: Mapping[str, str], names: Iterable[str]) -> tuple[str, str] | None:
    """(namespace, team) when one of `ours` is another team's: its own namespace, or one of its build namespaces
    (`names`: every build's). `others`: the other teams' namespaces by team name. Team `blue`'s
    `kubecamp-blue-streaming` is team `blue-streaming`'s `kubecamp-blue-streaming`: clearing it would take
    the other team's work."""
    names = list(names)
    mine = set(ours)
    for team, namespace in sorted(others.items()):
        theirs = {namespace} | {f"{namespace}-{name}" for name in names}
        clash = sorted(mine & theirs)
        if clash:
            return clash[0], team
    return None


def build_namespace(team_namespace: str, name: str) -> str:
    """The team's namespace for a build's own `name` (`kubecamp-blue` + `streaming` → `kubecamp-blue-streaming`).
    ValueError when it would be longer than a namespace name may be."""
    namespace = f"{team_namespace}-{name}"
    if len(namespace) > DNS1123_LABEL_MAX:
        raise ValueError(f"{namespace!r} is longer than {DNS1123_LABEL_MAX} characters")
    return namespace
