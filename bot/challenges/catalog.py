"""The scenario catalogue: loads and validates `scenarios/<challenge>/challenge.yaml` and its manifests.

Every problem found is a `ScenarioInvalid` that names the file and the field, so an instructor who
writes a scenario sees exactly what to fix (`kubecamp scenarios validate`).

Solutions are read only on request (`solutions=True`): by the instructor's tooling, from a checkout
(`kubecamp scenarios validate`, `kubecamp preflight`). The bot loads its catalogue without them, and the
catalogue it is deployed with carries none (docs/deploy.md, "The scenario catalogue").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from bot.challenges.checks import CheckSpec, parse_check
from bot.challenges.spec import Hint as Hint
from bot.challenges.spec import Strict as _Strict
from bot.challenges.spec import Text as Text
from bot.errors import ScenarioInvalid, UnknownChallenge, UnknownScenario
from bot.kinds import KINDS, ObjectRef
from bot.values import Duration

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
    manifests: str
    solution: str
    checks: list[Any] = Field(min_length=1)
    hints: list[Hint] = Field(default_factory=list)

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


#: What Discord accepts in a modal: at most 5 text inputs, a label of 45 characters, a placeholder
#: of 100 and an answer of 4000.
MODAL_INPUTS_MAX = 5
MODAL_LABEL_MAX = 45
MODAL_PLACEHOLDER_MAX = 100
MODAL_ANSWER_MAX = 4000
#: Columns every submission export has; a field may not take one of these ids.
SUBMISSION_COMMON_COLUMNS = ("submission", "challenge", "team", "submitted_at", "submitted_by", "run", "current")


class SubmissionFieldSpec(_Strict):
    """One item of the hand-in: a text input of the modal, or (`auto`) a value the bot fills in."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: Text
    placeholder: Text | None = None
    required: bool = True
    max_length: int = Field(default=1000, ge=1, le=MODAL_ANSWER_MAX)
    style: Literal["short", "paragraph"] = "short"
    #: How the answer is checked: a GitHub repository URL (normalised), or a time of day HH:MM.
    format: Literal["github_url", "hhmm"] | None = None
    #: Filled in by the bot, not typed: `completion_time` is when the run finished (else the moment
    #: of submitting), HH:MM in the class's time zone.
    auto: Literal["completion_time"] | None = None

    @model_validator(mode="after")
    def _fits_discord(self) -> SubmissionFieldSpec:
        for name, text, limit in (
            ("label", self.label, MODAL_LABEL_MAX),
            ("placeholder", self.placeholder, MODAL_PLACEHOLDER_MAX),
        ):
            for lang in ("ko", "en"):
                value = getattr(text, lang) if text is not None else ""
                if len(value) > limit:
                    raise ValueError(
                        f"{name}.{lang} is {len(value)} characters; Discord shows at most {limit} in a modal"
                    )
        if self.id in SUBMISSION_COMMON_COLUMNS:
            raise ValueError(f"id {self.id!r} is one of the export's common columns; choose another")
        if self.auto is not None and (self.placeholder is not None or self.format is not None):
            raise ValueError("an `auto` field is filled in by the bot: it takes no placeholder or format")
        return self


class SubmissionSpec(_Strict):
    """The challenge's hand-in form (`/challenge submit`): the team is added by the bot."""

    fields: list[SubmissionFieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_modal(self) -> SubmissionSpec:
        ids = [f.id for f in self.fields]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate field ids: {', '.join(duplicates)}")
        typed = len(self.inputs)
        if typed == 0:
            raise ValueError("the form has no field the team types in (every field is `auto`)")
        if typed > MODAL_INPUTS_MAX:
            raise ValueError(f"{typed} fields to type in; a Discord modal holds at most {MODAL_INPUTS_MAX}")
        return self

    @property
    def inputs(self) -> list[SubmissionFieldSpec]:
        """The fields the team types in, in order: the modal's text inputs."""
        return [f for f in self.fields if f.auto is None]


class ChallengeSpec(_Strict):
    id: int = Field(ge=1, le=999)
    title: Text
    story: Text
    source: str | None = None
    time_limit: Duration
    hints_after: Duration = timedelta(minutes=20)
    #: What a failed check tells before the hints say more: the symptom only, or the diagnosis too.
    feedback: Literal["symptom", "diagnosis"] = "symptom"
    tiers: list[Tier] = Field(default_factory=_default_tiers, min_length=1)
    scenarios: list[ScenarioSpec] = Field(min_length=1)
    #: The hand-in form; without it the challenge takes no submissions.
    submission: SubmissionSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChallengeSpec:
        ids = [s.id for s in self.scenarios]
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
class Manifest:
    """One object of a scenario's broken or fixed state, as loaded from YAML."""

    path: Path
    body: dict[str, Any]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(
            api_version=self.body["apiVersion"], kind=self.body["kind"], name=self.body["metadata"]["name"]
        )


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    checks: tuple[CheckSpec, ...]
    manifests: tuple[Manifest, ...]
    #: The fixed state; None when the catalogue was loaded without solutions (as the bot loads it).
    solution: tuple[Manifest, ...] | None
    #: The good revision applied before `manifests` (empty: none); its objects are among `manifests`.
    previous: tuple[Manifest, ...] = ()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind the scenario's checks read."""
        return frozenset(kind for check in self.checks for kind in check.kinds)

    def hints_due(self, elapsed: timedelta) -> list[int]:
        """Levels (0-based) of the hints whose offset has passed."""
        return [level for level, hint in enumerate(self.spec.hints) if hint.after <= elapsed]


@dataclass(frozen=True)
class Challenge:
    spec: ChallengeSpec
    folder: Path
    scenarios: tuple[Scenario, ...]

    @property
    def id(self) -> int:
        return self.spec.id

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


def _raise_first(error: ValidationError, path: Path, document: Any) -> None:
    first = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (a typo? see docs/scenarios.md for the format)"
    elif first["type"] == "missing":
        message = "required key is missing"
    raise ScenarioInvalid(str(path), _field_path(loc, document), message) from error


#: libyaml's parser when PyYAML has it (the wheels do): the same safe documents, several times faster than the
#: pure-Python one, which made loading the catalogue most of the bot's start-up.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml_documents(path: Path) -> list[Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [doc for doc in yaml.load_all(handle, Loader=_SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise ScenarioInvalid(str(path), "", f"not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioInvalid(str(path), "", "not UTF-8 text") from exc


def _load_manifests(
    folder: Path, challenge_file: Path, field_name: str, scope: str, *, if_absent: str = ""
) -> tuple[Manifest, ...]:
    if not folder.is_dir():
        raise ScenarioInvalid(str(challenge_file), field_name, f"folder {folder} does not exist{if_absent}")
    files = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"})
    if not files:
        raise ScenarioInvalid(str(challenge_file), field_name, f"folder {folder} has no .yaml files")
    manifests: list[Manifest] = []
    seen: dict[ObjectRef, Path] = {}
    for file in files:
        for index, body in enumerate(_read_yaml_documents(file)):
            where = f"document {index + 1}"
            if not isinstance(body, dict):
                raise ScenarioInvalid(str(file), where, "a manifest must be a mapping")
            for key in ("apiVersion", "kind"):
                if not isinstance(body.get(key), str):
                    raise ScenarioInvalid(str(file), f"{where}.{key}", "required key is missing")
            metadata = body.get("metadata")
            if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
                raise ScenarioInvalid(str(file), f"{where}.metadata.name", "required key is missing")
            kind = KINDS.get((body["apiVersion"], body["kind"]))
            if kind is None:
                raise ScenarioInvalid(
                    str(file),
                    f"{where}.kind",
                    f"{body['kind']} ({body['apiVersion']}) is not a kind kubecamp-bot can apply",
                )
            if scope == "namespace":
                if not kind.namespaced:
                    raise ScenarioInvalid(
                        str(file),
                        f"{where}.kind",
                        f"{body['kind']} is cluster-scoped; a namespace scenario may only hold namespaced "
                        "kinds (use scope: cluster)",
                    )
                if "namespace" in metadata:
                    raise ScenarioInvalid(
                        str(file),
                        f"{where}.metadata.namespace",
                        f"names namespace {metadata['namespace']!r}; leave it out, the bot applies "
                        "into the team's namespace",
                    )
            manifest = Manifest(path=file, body=body)
            if manifest.ref in seen:
                raise ScenarioInvalid(
                    str(file),
                    f"{where}.metadata.name",
                    f"{manifest.ref} is defined twice (also in {seen[manifest.ref].name})",
                )
            seen[manifest.ref] = file
            manifests.append(manifest)
    return tuple(manifests)


_NO_SOLUTIONS = (
    " (a deployed catalogue carries no solutions: `kubecamp scenarios validate --without-solutions` checks it "
    "as the bot loads it)"
)


def load_challenge(folder: Path, *, solutions: bool = False) -> Challenge:
    """The challenge in `folder`; its scenarios' solution folders are read (and must exist) only with
    `solutions`."""
    path = folder / CHALLENGE_FILE
    if not path.is_file():
        raise ScenarioInvalid(str(path), "", "file does not exist")
    documents = _read_yaml_documents(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ScenarioInvalid(str(path), "", "must hold exactly one YAML mapping")
    document = documents[0]
    try:
        spec = ChallengeSpec.model_validate(document)
    except ValidationError as exc:
        _raise_first(exc, path, document)
        raise  # unreachable: _raise_first always raises
    scenarios: list[Scenario] = []
    for index, scenario_spec in enumerate(spec.scenarios):
        prefix = f"scenarios[{index}](id={scenario_spec.id})"
        checks: list[CheckSpec] = []
        for check_index, raw in enumerate(scenario_spec.checks):
            try:
                checks.append(parse_check(raw))
            except ValueError as exc:
                raise ScenarioInvalid(str(path), f"{prefix}.checks[{check_index}]", str(exc)) from exc
        scope = scenario_spec.scope
        manifests = _load_manifests(folder / scenario_spec.manifests, path, f"{prefix}.manifests", scope)
        solution: tuple[Manifest, ...] | None = None
        if solutions:
            solution = _load_manifests(
                folder / scenario_spec.solution, path, f"{prefix}.solution", scope, if_absent=_NO_SOLUTIONS
            )
        previous: tuple[Manifest, ...] = ()
        if scenario_spec.previous is not None:
            previous = _load_manifests(folder / scenario_spec.previous, path, f"{prefix}.previous", scenario_spec.scope)
            _refuse_unknown_revisions(previous, manifests)
        scenarios.append(
            Scenario(
                spec=scenario_spec, checks=tuple(checks), manifests=manifests, solution=solution, previous=previous
            )
        )
    _refuse_shared_objects(scenarios, path)
    return Challenge(spec=spec, folder=folder, scenarios=tuple(scenarios))


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
