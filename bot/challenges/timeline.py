"""When the scheduler acts on a run (the automatic verification, each hint, a build's phases, the final
verification), and which scenarios' failing checks show their diagnosis by then."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.challenges.catalog import Challenge, Hint
from bot.store import Run


@dataclass(frozen=True)
class HintDue:
    scenario_id: str
    level: int
    hint: Hint


class Due(StrEnum):
    AUTO_VERIFY = "auto_verify"
    HINT = "hint"
    PHASE = "phase"  # a build's phase begins (level: its index)
    FINAL = "final"
    #: The final verification again, while a run outlives its deadline because its API server did not answer
    #: (`RunService._unanswered`): not on the timeline, the scheduler repeats it until the run ends.
    FINAL_RETRY = "final_retry"


@dataclass(frozen=True, order=True)
class TimelineEntry:
    at: datetime
    due: Due
    scenario_id: str = ""
    level: int = -1


def diagnosed(challenge: Challenge, run: Run, posted: Iterable[tuple[str, int]]) -> frozenset[str]:
    """The scenarios whose failing checks show their diagnosis, not only the symptom: every scenario when
    the catalogue says `feedback: diagnosis` or an instructor revealed them to this run; otherwise those
    whose hints have all been posted (`posted`: scenario and level), however they came. A scenario's last
    hint is its most specific one: a team that got that far without a fix is stuck, and the diagnosis
    names the field to change. A scenario without hints has nothing to wait for."""
    every = frozenset(s.id for s in challenge.checked)
    if challenge.spec.feedback == "diagnosis" or run.diagnosis_revealed_by is not None:
        return every
    levels: dict[str, set[int]] = {}
    for scenario_id, level in posted:
        levels.setdefault(scenario_id, set()).add(level)
    return frozenset(s.id for s in challenge.checked if levels.get(s.id, set()) >= set(range(len(s.hints))))


def timeline(challenge: Challenge, run: Run) -> list[TimelineEntry]:
    """When the scheduler must act on a run: the automatic verification at `hints_after` (when anything is
    checked on the cluster), each hint at its own offset, each of a build's or a lab's phases after the first
    as it begins, and the final
    verification at the deadline (which may be extended)."""
    entries = [TimelineEntry(run.deadline, Due.FINAL)]
    if challenge.checked:  # a lab with nothing on the cluster has no automatic verification
        entries.append(TimelineEntry(run.started_at + challenge.spec.hints_after, Due.AUTO_VERIFY))
    entries += [
        TimelineEntry(run.started_at + hint.after, Due.HINT, scenario.id, level)
        for scenario in challenge.checked
        for level, hint in enumerate(scenario.hints)
        if run.started_at + hint.after < run.deadline
    ]
    entries += [
        TimelineEntry(run.started_at + phase.starts, Due.PHASE, "", index)
        for index, phase in enumerate(challenge.phases)
        if index > 0 and run.started_at + phase.starts < run.deadline
    ]
    return sorted(entries)
