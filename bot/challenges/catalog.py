"""The scenario catalogue: loads and validates `scenarios/<challenge>/challenge.yaml` and its manifests.

Every problem found is a `ScenarioInvalid` that names the file and the field, so an instructor who
writes a scenario sees exactly what to fix (`kubecamp scenarios validate`).

Solutions are read only on request (`solutions=True`): by the instructor's tooling, from a checkout
(`kubecamp scenarios validate`, `kubecamp preflight`). The bot loads its catalogue without them, and the
catalogue it is deployed with carries none (docs/deploy.md, "The scenario catalogue").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator

from bot.challenges.breaks import BreakSpec, parse_break
from bot.challenges.checks import CheckSpec, parse_check
from bot.challenges.drill import DrillSpec, chosen
from bot.challenges.kind_rules import kind_error
from bot.challenges.manifests import NO_SOLUTIONS, load_manifests, load_reference, read_yaml_documents
from bot.challenges.manifests import Manifest as Manifest
from bot.challenges.rubric import (
    REFERENCE_FOLDER,
    Criterion,
    NamespaceKey,
    Phase,
    PhaseSpec,
    RubricGroupSpec,
    lab_group,
    timed,
    validate_bonus_items,
    validate_build,
    validate_lab,
)
from bot.challenges.spec import CheckedItem, raise_first
from bot.challenges.spec import Hint as Hint
from bot.challenges.spec import Strict as _Strict
from bot.challenges.spec import Text as Text
from bot.challenges.submission_form import SubmissionSpec
from bot.errors import ScenarioInvalid, UnknownChallenge, UnknownScenario
from bot.kinds import ObjectRef
from bot.repository_check import Layout
from bot.values import Duration

T = TypeVar("T")

CHALLENGE_FILE = "challenge.yaml"
#: The name every solution folder has: the Helm chart's .helmignore leaves folders of this name out of the
#: chart (and so out of its release and the catalogue Secret).
SOLUTION_FOLDER = "solution"


class Tier(_Strict):
    within: Duration
    percent: int = Field(ge=0, le=100)


def _default_tiers() -> list[Tier]:
    # The course's evaluation matrix: within 50/70/90 minutes → 100/80/60 %.
    return [
        Tier(within=timedelta(minutes=50), percent=100),
        Tier(within=timedelta(minutes=70), percent=80),
        Tier(within=timedelta(minutes=90), percent=60),
    ]


class ScenarioSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    title: Text
    situation: Text
    symptoms: Text
    time_box: Duration
    points: int = Field(ge=0, le=1000)
    #: The seed's diagnosis steps (진단 과정), one per line; part of the briefing.
    diagnosis: Text | None = None
    scope: Literal["namespace", "cluster"] = "namespace"
    #: A folder with a good revision, applied (and rolled out) before `manifests`, so that
    #: `kubectl rollout undo` and `rollout history` have a revision to go back to.
    previous: str | None = None
    #: What the bot applies into the team's namespace; a cluster-scope scenario may have none.
    manifests: str | None = None
    solution: str
    #: What a cluster-scope scenario changes outside the namespace (`bot.challenges.breaks`).
    breaks: list[Any] = Field(default_factory=list)
    checks: list[Any] = Field(min_length=1)
    hints: list[Hint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _scope_matches(self) -> ScenarioSpec:
        if self.scope == "namespace" and (self.manifests is None or self.breaks):
            raise ValueError("a namespace scenario has manifests and no breaks (breaks need scope: cluster)")
        if self.scope == "cluster" and not self.breaks:
            raise ValueError("a cluster-scope scenario names its breaks (taint_node, exhaust_node, edit_static_pod)")
        return self

    @model_validator(mode="after")
    def _hints_in_order(self) -> ScenarioSpec:
        offsets = [h.after for h in self.hints]
        if offsets != sorted(offsets):
            raise ValueError("hints must be listed in the order of their `after` offsets")
        return self

    @model_validator(mode="after")
    def _solution_kept_apart(self) -> ScenarioSpec:
        """The chart leaves every folder named `solution` out, and only those: the solution must be one,
        and what the bot deploys must not be inside one."""
        if PurePosixPath(self.solution).name != SOLUTION_FOLDER:
            raise ValueError(
                f"solution {self.solution!r}: the folder must be named {SOLUTION_FOLDER!r} (e.g. "
                f"{self.id}/{SOLUTION_FOLDER}), so that the Helm chart leaves it out of the deployed catalogue"
            )
        for name, folder in (("manifests", self.manifests), ("previous", self.previous)):
            if folder is not None and SOLUTION_FOLDER in PurePosixPath(folder).parts:
                raise ValueError(
                    f"{name} {folder!r} is inside a folder named {SOLUTION_FOLDER!r}, which the Helm chart "
                    "leaves out of the deployed catalogue"
                )
        return self


class ChallengeSpec(_Strict):
    id: int = Field(ge=1, le=999)
    #: break-fix: broken scenarios are deployed and fixed; build: the team builds, scored by a rubric;
    #: lab: phases with time boxes, each with the checkpoints the team reaches.
    #: drill: an instructor breaks scenarios unannounced, the team learns of it from the alert.
    kind: Literal["break-fix", "build", "lab", "drill"] = "break-fix"
    title: Text
    story: Text
    source: str | None = None
    time_limit: Duration
    hints_after: Duration = timedelta(minutes=20)
    #: What a failed check tells before the hints say more: the symptom only, or the diagnosis too.
    feedback: Literal["symptom", "diagnosis"] = "symptom"
    tiers: list[Tier] = Field(default_factory=_default_tiers, min_length=1)
    #: A break-fix challenge's scenarios (at least one); a build has none.
    scenarios: list[ScenarioSpec] | None = Field(default=None, min_length=1)
    #: A build's criteria, in groups; its own namespaces; the phases of its schedule; its reference build.
    #: A break-fix challenge's rubric holds only bonus items an instructor grades.
    rubric: list[RubricGroupSpec] | None = Field(default=None, min_length=1)
    namespaces: list[NamespaceKey] | None = None
    phases: list[PhaseSpec] | None = None
    reference: str | None = None
    #: The hand-in form; without it the challenge takes no submissions.
    submission: SubmissionSpec | None = None
    #: A drill's scenarios, the alerts that announce them, and its points for acknowledging.
    drill: DrillSpec | None = None
    #: A build's repository layout, as its seed prescribes it: checked when a team submits the repository's URL.
    repository: Layout | None = None

    @model_validator(mode="after")
    def _build_consistent(self) -> ChallengeSpec:
        # Which keys each kind takes is checked on the document, where each has its field (`kind_error`).
        if self.reference is not None and PurePosixPath(self.reference).name != REFERENCE_FOLDER:
            raise ValueError(
                f"reference {self.reference!r}: the folder must be named {REFERENCE_FOLDER!r}, so that the Helm "
                "chart leaves it out of the deployed catalogue"
            )
        if self.kind == "build" and self.rubric is not None:
            validate_build(self.rubric, self.namespaces or [], self.phases or [], self.time_limit)
        phases = self.phases or []
        # A lab's phase without an id or checkpoints is reported on the document, at its field (`kind_error`).
        if self.kind == "lab" and phases and all(p.id is not None and p.checkpoints for p in phases):
            validate_lab(phases, self.namespaces or [], self.time_limit)
        if self.kind == "break-fix" and self.rubric is not None:
            validate_bonus_items(self.rubric)
        if self.repository is not None and self.repository_field is None:
            raise ValueError(
                "repository: the layout is checked on the repository a team submits, so the submission form needs "
                "a field with format github_url"
            )
        return self

    @property
    def repository_field(self) -> str | None:
        """The id of the hand-in field that takes the repository's URL (the first of format github_url)."""
        fields = self.submission.fields if self.submission is not None else []
        return next((f.id for f in fields if f.format == "github_url"), None)

    @model_validator(mode="after")
    def _consistent(self) -> ChallengeSpec:
        ids = [s.id for s in self.scenarios or []]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate scenario ids: {', '.join(duplicates)}")
        withins = [t.within for t in self.tiers]
        if withins != sorted(withins) or len(set(withins)) != len(withins):
            raise ValueError("tiers must be in increasing order of `within`")
        if self.tiers[-1].within > self.time_limit:
            raise ValueError("the last tier's `within` is past the time limit")
        if self.hints_after > self.time_limit:
            raise ValueError("hints_after is past the time limit")
        return self


@dataclass(frozen=True)
class Scenario(CheckedItem):
    spec: ScenarioSpec
    checks: tuple[CheckSpec, ...]
    manifests: tuple[Manifest, ...]
    #: The fixed state; None when the catalogue was loaded without solutions (as the bot loads it).
    solution: tuple[Manifest, ...] | None
    #: The good revision applied before `manifests` (empty: none); its objects are among `manifests`.
    previous: tuple[Manifest, ...] = ()
    #: What a cluster-scope scenario changes outside the team's namespace.
    breaks: tuple[BreakSpec, ...] = ()


@dataclass(frozen=True)
class Challenge:
    spec: ChallengeSpec
    folder: Path
    scenarios: tuple[Scenario, ...]
    #: A build's criteria, in the order of the rubric, or a lab's checkpoints, phase by phase; none for a
    #: break-fix challenge.
    rubric: tuple[Criterion, ...] = ()
    #: A build's reference, per namespace (None: the team's own); None unless loaded with the solutions.
    reference: dict[str | None, tuple[Manifest, ...]] | None = None

    @property
    def id(self) -> int:
        return self.spec.id

    @property
    def is_build(self) -> bool:
        return self.spec.kind == "build"

    @property
    def is_drill(self) -> bool:
        return self.spec.kind == "drill"

    @property
    def is_lab(self) -> bool:
        return self.spec.kind == "lab"

    @property
    def scored_by_items(self) -> bool:
        """A build or a lab: nothing broken is deployed, and the run is scored item by item (criteria,
        checkpoints) at its deadline, not by scenarios and time."""
        return self.is_build or self.is_lab

    @property
    def groups(self) -> tuple[RubricGroupSpec, ...]:
        """How the items are grouped: a build's rubric groups, or a lab's phases."""
        if self.is_lab:
            return tuple(lab_group(phase) for phase in self.spec.phases or [])
        return tuple(self.spec.rubric or [])

    @property
    def checked(self) -> tuple[CheckedItem, ...]:
        """What a run verifies: the scenarios, or a build's criteria (a lab's checkpoints) proven by checks."""
        if self.scored_by_items:
            return tuple(c for c in self.rubric if c.checks)
        return self.scenarios

    def checked_item(self, item_id: str) -> CheckedItem:
        for item in self.checked:
            if item.id == item_id:
                return item
        raise UnknownScenario(item_id, [c.id for c in self.checked], where=f"challenge {self.id} has")

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.rubric if c.id == criterion_id), None)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """A build's own namespaces (besides the team's): made per team as `<team namespace>-<name>`."""
        return tuple(self.spec.namespaces or ())

    @property
    def phases(self) -> tuple[Phase, ...]:
        return timed(self.spec.phases or [])

    def scenario(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise UnknownScenario(scenario_id, [s.id for s in self.scenarios], where=f"challenge {self.id} has")

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(kind for scenario in self.scenarios for kind in scenario.kinds)

    @property
    def total_points(self) -> int:
        """The points of every scenario; of a build or a lab, of its required items (the bonus ones add to them)."""
        if self.scored_by_items:
            return sum(c.points for c in self.rubric if not c.spec.bonus)
        return sum(s.spec.points for s in self.scenarios)


@dataclass
class Catalog:
    challenges: dict[int, Challenge] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Challenge]:
        return iter(sorted(self.challenges.values(), key=lambda c: c.id))

    def get(self, challenge_id: int) -> Challenge:
        try:
            return self.challenges[challenge_id]
        except KeyError:
            raise UnknownChallenge(challenge_id, sorted(self.challenges)) from None


def load_challenge(folder: Path, *, solutions: bool = False) -> Challenge:
    """The challenge in `folder`; its scenarios' solution folders are read (and must exist) only with
    `solutions`."""
    path = folder / CHALLENGE_FILE
    if not path.is_file():
        raise ScenarioInvalid(str(path), "", "file does not exist")
    documents = read_yaml_documents(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ScenarioInvalid(str(path), "", "must hold exactly one YAML mapping")
    document = documents[0]
    if "scenarios_of" in document:
        document = _with_scenarios_of(folder, document, path)
    if document.get("kind") == "drill":
        document = chosen(document, path)
    try:
        spec = ChallengeSpec.model_validate(document)
    except ValidationError as exc:
        raise_first(exc, path, document)
        raise  # unreachable: raise_first always raises
    wrong = kind_error(document)
    if wrong is not None:
        raise ScenarioInvalid(str(path), *wrong)
    scenarios: list[Scenario] = []
    for index, scenario_spec in enumerate(spec.scenarios or []):
        prefix = f"scenarios[{index}](id={scenario_spec.id})"
        checks = _parsed(scenario_spec.checks, parse_check, path, f"{prefix}.checks")
        breaks = _parsed(scenario_spec.breaks, parse_break, path, f"{prefix}.breaks")
        scope = scenario_spec.scope
        manifests: tuple[Manifest, ...] = ()
        if scenario_spec.manifests is not None:
            # the team's namespace is where they go, whatever the scenario's scope
            manifests = load_manifests(folder / scenario_spec.manifests, path, f"{prefix}.manifests", "namespace")
        solution: tuple[Manifest, ...] | None = None
        if solutions:
            solution = load_manifests(
                folder / scenario_spec.solution, path, f"{prefix}.solution", scope, if_absent=NO_SOLUTIONS
            )
        previous: tuple[Manifest, ...] = ()
        if scenario_spec.previous is not None:
            previous = load_manifests(folder / scenario_spec.previous, path, f"{prefix}.previous", scenario_spec.scope)
            _refuse_unknown_revisions(previous, manifests)
        scenarios.append(
            Scenario(
                spec=scenario_spec,
                checks=checks,
                manifests=manifests,
                solution=solution,
                previous=previous,
                breaks=breaks,
            )
        )
    _refuse_shared_objects(scenarios, path)
    groups, where = (
        ([lab_group(p) for p in spec.phases or []], "phases[{}](id={}).checkpoints[{}](id={}).checks")
        if spec.kind == "lab"
        else (spec.rubric or [], "rubric[{}](id={}).criteria[{}](id={}).checks")
    )
    rubric = tuple(
        Criterion(spec=criterion, group=group, checks=_parsed(criterion.checks or [], parse_check, path, at))
        for group_index, group in enumerate(groups)
        for index, criterion in enumerate(group.criteria)
        for at in [where.format(group_index, group.id, index, criterion.id)]
    )
    reference: dict[str | None, tuple[Manifest, ...]] | None = None
    if solutions and spec.reference is not None:
        reference = load_reference(folder / spec.reference, path, spec.namespaces or [])
    return Challenge(spec=spec, folder=folder, scenarios=tuple(scenarios), rubric=rubric, reference=reference)


def _parsed(raws: list[Any], parse: Callable[[object], T], path: Path, where: str) -> tuple[T, ...]:
    """Each one-key mapping of a list (a scenario's checks and breaks, a criterion's checks) parsed; ScenarioInvalid
    at the first bad one."""
    parsed: list[T] = []
    for index, raw in enumerate(raws):
        try:
            parsed.append(parse(raw))
        except ValueError as exc:
            raise ScenarioInvalid(str(path), f"{where}[{index}]", str(exc)) from exc
    return tuple(parsed)


def _with_scenarios_of(folder: Path, document: dict[str, Any], path: Path) -> dict[str, Any]:
    """`scenarios_of: ../challenge-2`: the other challenge's scenarios come first, their folders read from
    there, and its hand-in form unless this one has its own (a variant of a challenge keeps its scenarios
    without a copy of them)."""
    base = document["scenarios_of"]
    if not isinstance(base, str) or PurePosixPath(base).is_absolute():
        raise ScenarioInvalid(str(path), "scenarios_of", "must be a folder relative to this challenge's folder")
    base_file = folder / base / CHALLENGE_FILE
    if not base_file.is_file():
        raise ScenarioInvalid(str(path), "scenarios_of", f"{base_file} does not exist")
    base_documents = read_yaml_documents(base_file)
    if len(base_documents) != 1 or not isinstance(base_documents[0], dict) or "scenarios_of" in base_documents[0]:
        raise ScenarioInvalid(str(path), "scenarios_of", f"{base_file} must be one challenge with scenarios of its own")
    inherited = []
    for scenario in base_documents[0].get("scenarios") or []:
        if not isinstance(scenario, dict):
            raise ScenarioInvalid(str(base_file), "scenarios", "a scenario must be a mapping")
        moved = {
            key: str(PurePosixPath(base) / scenario[key])
            for key in ("manifests", "previous", "solution")
            if key in scenario
        }
        inherited.append({**scenario, **moved})
    rest = {key: value for key, value in document.items() if key != "scenarios_of"}
    if "submission" in base_documents[0]:
        rest.setdefault("submission", base_documents[0]["submission"])
    return {**rest, "scenarios": [*inherited, *(document.get("scenarios") or [])]}


def _refuse_unknown_revisions(previous: tuple[Manifest, ...], manifests: tuple[Manifest, ...]) -> None:
    """A previous revision is an earlier state of the broken objects, never an object of its own
    (it would outlive nothing the run tracks as the scenario's)."""
    broken = {m.ref for m in manifests}
    for manifest in previous:
        if manifest.ref not in broken:
            raise ScenarioInvalid(
                str(manifest.path),
                "metadata.name",
                f"{manifest.ref} is not in the scenario's manifests; previous holds earlier revisions of them",
            )


def _refuse_shared_objects(scenarios: list[Scenario], path: Path) -> None:
    """Two scenarios of one challenge share a namespace: the same object in both would fight."""
    owner: dict[ObjectRef, str] = {}
    for scenario in scenarios:
        for manifest in scenario.manifests:
            other = owner.setdefault(manifest.ref, scenario.id)
            if other != scenario.id:
                raise ScenarioInvalid(
                    str(manifest.path),
                    "metadata.name",
                    f"{manifest.ref} is applied by scenarios {other} and {scenario.id}; names must be unique",
                )


def load_catalog(root: Path, *, solutions: bool = False) -> Catalog:
    """Every `*/challenge.yaml` below root. Duplicate challenge ids are an error. With `solutions`, every
    scenario's solution folder is loaded and checked too (the instructor's checkout has them; the bot's
    deployed catalogue does not)."""
    if not root.is_dir():
        raise ScenarioInvalid(str(root), "", "scenario folder does not exist")
    catalog = Catalog()
    folders = sorted(p.parent for p in root.glob(f"*/{CHALLENGE_FILE}"))
    if not folders:
        raise ScenarioInvalid(str(root), "", f"no */{CHALLENGE_FILE} found")
    for folder in folders:
        challenge = load_challenge(folder, solutions=solutions)
        if challenge.id in catalog.challenges:
            raise ScenarioInvalid(
                str(folder / CHALLENGE_FILE),
                "id",
                f"challenge id {challenge.id} is also used by {catalog.challenges[challenge.id].folder}",
            )
        catalog.challenges[challenge.id] = challenge
    return catalog
