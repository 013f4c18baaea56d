"""What the `kubecamp` command prints: human lines in the configured language, or one JSON document per command."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, TextIO

from bot.challenges import scoring
from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.checks import Status
from bot.challenges.preflight import PreflightReport
from bot.challenges.preflight_table import preflight_json, preflight_table
from bot.challenges.render import GUARD, MARK
from bot.challenges.reports import StartReport, StatusReport, VerifyReport
from bot.i18n import Lang, render
from bot.markup import clock


class Output:
    """Human lines in the configured language, or one JSON document per command."""

    def __init__(self, *, json_mode: bool, lang: Lang, stream: TextIO) -> None:
        self.json_mode = json_mode
        self.lang = lang
        self.stream = stream

    def _emit(self, human: str, data: Any) -> None:
        if self.json_mode:
            self.stream.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        else:
            self.stream.write(human + "\n")

    def line(self, human: str, data: Any) -> None:
        self._emit(human, data)

    def rows(self, lines: list[str], data: Any) -> None:
        self._emit("\n".join(lines) or "-", data)

    def catalog(self, catalog: Catalog) -> None:
        lines, data = [], []
        for c in catalog:
            lines.append(f"{c.id}  {c.spec.title.get(self.lang)}  ({clock(c.spec.time_limit)}, {c.total_points} pts)")
            for s in c.scenarios:
                scope = " [cluster]" if s.spec.scope == "cluster" else ""
                lines.append(f"    {s.id:<24} {s.spec.title.get(self.lang)}  {clock(s.spec.time_box)}{scope}")
            for r in c.rubric:
                bonus = " [bonus]" if r.spec.bonus else ""
                lines.append(f"    {r.id:<24} {r.title.get(self.lang)}  {r.points} pts, {r.spec.proof}{bonus}")
            data.append(
                {
                    "id": c.id,
                    "kind": c.spec.kind,
                    "title": c.spec.title.model_dump(),
                    "time_limit_seconds": c.spec.time_limit.total_seconds(),
                    "scenarios": [{"id": s.id, "scope": s.spec.scope, "points": s.spec.points} for s in c.scenarios],
                    "rubric": [
                        {"id": r.id, "points": r.points, "bonus": r.spec.bonus, "proof": r.spec.proof} for r in c.rubric
                    ],
                }
            )
        self._emit("\n".join(lines), data)

    def start(self, report: StartReport) -> None:
        lines = [
            f"run {report.run.id}: team {report.team.name}, challenge {report.challenge.id} "
            f"({report.challenge.spec.title.get(self.lang)}), namespace {report.team.namespace}",
            f"started {report.run.started_at:%H:%M:%S} UTC, deadline {report.run.deadline:%H:%M:%S} UTC; "
            f"{len(report.applied)} objects applied",
        ]
        lines += [f"  skipped: {render(m, self.lang)}" for m in report.skipped.values()]
        self._emit(
            "\n".join(lines),
            {
                "run": report.run.id,
                "team": report.team.name,
                "challenge": report.challenge.id,
                "namespace": report.team.namespace,
                "started_at": report.run.started_at,
                "deadline": report.run.deadline,
                "applied": [str(r) for r in report.applied],
                "skipped": {k: render(m, self.lang) for k, m in report.skipped.items()},
            },
        )

    def verify(self, report: VerifyReport, challenge: Challenge) -> None:
        lines = []
        for result in report.results:
            lines.append(f"{MARK[result.status]} {result.scenario_id}")
            diagnoses: set[str] = set()
            for c in result.checks:
                mark = f"{MARK[c.status]} {GUARD}" if c.guard else MARK[c.status]
                lines.append(f"    {mark} {render(c.message, self.lang)}")
                if c.diagnosis is None or c.status is not Status.FAIL:
                    continue
                # The operator sees every diagnosis, each once: several checks of a scenario often share one.
                diagnosis = render(c.diagnosis, self.lang)
                if diagnosis not in diagnoses:
                    lines.append(f"      ↳ {diagnosis}")
                    diagnoses.add(diagnosis)
        if report.ended is not None:
            run = report.ended
            lines.append(
                f"run {run.status}: {clock(timedelta(seconds=run.elapsed_seconds or 0))}, "
                f"tier {run.tier_percent}%, {run.points}/{scoring.plan_of(challenge, run).total_points} points"
            )
        self._emit(
            "\n".join(lines),
            {
                "run": report.run.id,
                "trigger": report.trigger.value,
                "at": report.at,
                "all_passed": report.all_passed,
                "results": [
                    {
                        "scenario": r.scenario_id,
                        "status": r.status.value,
                        "checks": [
                            {
                                "check": c.check,
                                "status": c.status.value,
                                "message": render(c.message, self.lang),
                                "diagnosis": None if c.diagnosis is None else render(c.diagnosis, self.lang),
                                "guard": c.guard,
                            }
                            for c in r.checks
                        ],
                    }
                    for r in report.results
                ],
                "ended": None
                if report.ended is None
                else {
                    "status": report.ended.status,
                    "elapsed_seconds": report.ended.elapsed_seconds,
                    "tier_percent": report.ended.tier_percent,
                    "points": report.ended.points,
                },
            },
        )

    def preflight(self, report: PreflightReport) -> None:
        self._emit(preflight_table(report, self.lang), preflight_json(report, self.lang))

    def status(self, report: StatusReport) -> None:
        lines = [
            f"run {report.run.id}: challenge {report.challenge.id}, {report.run.status}, "
            f"elapsed {clock(report.elapsed)}, remaining {clock(report.remaining)}"
        ]
        for state in report.states:
            solved = f" at {state.first_solved_at:%H:%M:%S}" if state.first_solved_at else ""
            lines.append(
                f"    {state.scenario_id:<24} {state.status}{solved}, verified {state.attempts}×, "
                f"hints used: {report.hints_used.get(state.scenario_id, 0)}, "
                f"automatic hints: {report.hints_automatic.get(state.scenario_id, 0)}"
            )
        self._emit(
            "\n".join(lines),
            {
                "run": report.run.id,
                "challenge": report.challenge.id,
                "status": report.run.status,
                "elapsed_seconds": int(report.elapsed.total_seconds()),
                "remaining_seconds": int(report.remaining.total_seconds()),
                "scenarios": [
                    {
                        "id": s.scenario_id,
                        "status": s.status,
                        "attempts": s.attempts,
                        "first_solved_at": s.first_solved_at,
                        "hints_used": report.hints_used.get(s.scenario_id, 0),
                        "automatic_hints": report.hints_automatic.get(s.scenario_id, 0),
                    }
                    for s in report.states
                ],
            },
        )
