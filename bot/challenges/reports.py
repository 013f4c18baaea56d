"""What a run's operations answer: the results of a verification, check by check and scenario by scenario, and
the reports of a start, a verification, a status and a stop, which the CLI and Discord render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.challenges.catalog import Challenge
from bot.challenges.checks import Status
from bot.challenges.spec import CheckedItem
from bot.i18n import Message
from bot.kinds import ObjectRef
from bot.snapshot import Snapshot
from bot.store import Run, ScenarioState, Team


class Trigger(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"  # the verification once `hints_after` has passed
    FINAL = "final"  # at the deadline


@dataclass(frozen=True)
class CheckResult:
    check: str
    args: dict[str, Any]
    status: Status
    message: Message
    diagnosis: Message | None = None
    guard: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check,
            "args": self.args,
            "status": self.status.value,
            "message": self.message.to_json(),
        }
        if self.diagnosis is not None:
            data["diagnosis"] = self.diagnosis.to_json()
        if self.guard:
            data["guard"] = True
        return data


@dataclass(frozen=True)
class ScenarioResult:
    scenario_id: str
    checks: tuple[CheckResult, ...]

    @classmethod
    def of(cls, scenario: CheckedItem, snapshot: Snapshot) -> ScenarioResult:
        """Every check of the scenario (or a build's criterion), evaluated on one snapshot of its namespace."""
        return cls(
            scenario_id=scenario.id,
            checks=tuple(
                CheckResult(
                    check.check_name,
                    check.args(),
                    outcome.status,
                    # A missing object: deleted from a scenario, or not built yet for a build.
                    Message(scenario.missing_message, outcome.message.params)
                    if outcome.message.key == "check.missing"
                    else outcome.message,
                    outcome.diagnosis,
                    check.guard,
                )
                for check in scenario.checks
                for outcome in [check.evaluate(snapshot)]
            ),
        )

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks}
        if Status.FAIL in statuses:
            return Status.FAIL
        if Status.UNKNOWN in statuses:
            return Status.UNKNOWN
        return Status.PASS

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario_id, "status": self.status.value, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class VerifyReport:
    run: Run
    trigger: Trigger
    at: datetime
    results: tuple[ScenarioResult, ...]
    states: tuple[ScenarioState, ...]
    newly_solved: tuple[str, ...]
    ended: Run | None  # the run as it ended, when this verification ended it
    #: The scenarios whose diagnoses the team sees (`diagnosed`), as of this verification; all once it ended the run.
    diagnosed: frozenset[str] = frozenset()
    #: The one scenario this verification checked; None when it checked them all.
    scenario_id: str | None = None

    @property
    def all_passed(self) -> bool:
        return all(r.status is Status.PASS for r in self.results)

    @property
    def result(self) -> str:
        """pass, fail (some check failed) or unknown (none failed, some could not be checked)."""
        statuses = {check.status for r in self.results for check in r.checks}
        if Status.FAIL in statuses:
            return "fail"
        return "unknown" if Status.UNKNOWN in statuses else "pass"


@dataclass(frozen=True)
class StartReport:
    run: Run
    team: Team
    challenge: Challenge
    applied: tuple[ObjectRef, ...]
    skipped: dict[str, Message] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusReport:
    run: Run
    team: Team
    challenge: Challenge
    now: datetime
    states: tuple[ScenarioState, ...]
    #: Per scenario, the hints the team asked for or an instructor revealed: what counts as hints used.
    hints_used: dict[str, int]
    #: Per scenario, the hints the schedule posted on its own.
    hints_automatic: dict[str, int]
    #: The scenarios whose failing checks show their diagnosis now (`diagnosed`).
    diagnosed: frozenset[str] = frozenset()

    @property
    def elapsed(self) -> timedelta:
        end = self.run.finished_at or self.now
        return end - self.run.started_at

    @property
    def remaining(self) -> timedelta:
        return max(self.run.deadline - self.now, timedelta(0)) if self.run.status == "active" else timedelta(0)


@dataclass(frozen=True)
class Stopped:
    """A run ended by `stop`: how many of its objects were deleted, or that its namespace was already gone."""

    run: Run
    namespace: str
    deleted: int
    namespace_gone: bool
