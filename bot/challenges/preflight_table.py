"""A preflight report as `kubecamp preflight` prints it: a table in the catalogue's language, or JSON.

One row per scenario with its verdict and how long each state took; under a scenario that did not
behave, the state that misbehaved with every check's mark and message, and what the cluster said.
"""

from __future__ import annotations

from typing import Any

from bot.challenges.preflight import PreflightReport, ScenarioPreflight, StateReport, Verdict
from bot.challenges.render import MARK
from bot.i18n import Lang, render, t

VERDICT_MARK = {
    Verdict.BEHAVED: "✅",
    Verdict.BROKE: "✅",
    Verdict.SKIPPED: "⏭️",
    Verdict.UNAVAILABLE: "⚠️",
    Verdict.CLUSTER_ERROR: "❌",
    Verdict.DID_NOT_BREAK: "❌",
    Verdict.DID_NOT_HEAL: "❌",
}
_DETAIL = " " * 8
_ITEM = " " * 10


def preflight_table(report: PreflightReport, lang: Lang) -> str:
    lines = [line for scenario in report.scenarios for line in _scenario_lines(scenario, lang)]
    verdicts = [s.verdict for s in report.scenarios]
    skipped = verdicts.count(Verdict.SKIPPED)
    behaved = verdicts.count(Verdict.BEHAVED) + verdicts.count(Verdict.BROKE)
    lines.append(
        t(
            "preflight.summary",
            lang,
            total=len(verdicts),
            behaved=behaved,
            skipped=skipped,
            failed=len(verdicts) - behaved - skipped,
            seconds=f"{report.seconds:.1f}",
        )
    )
    lines += [
        t("preflight.namespace_left", lang, namespace=namespace, detail=detail)
        for namespace, detail in report.namespaces_left.items()
    ]
    return "\n".join(lines)


def preflight_json(report: PreflightReport, lang: Lang) -> dict[str, Any]:
    return {
        "all_behaved": report.all_behaved,
        "seconds": round(report.seconds, 3),
        "namespaces_left": report.namespaces_left,
        "scenarios": [
            {
                "challenge": s.challenge_id,
                "scenario": s.scenario_id,
                "verdict": s.verdict.value,
                "namespace": s.namespace,
                "reason": None if s.reason is None else render(s.reason, lang),
                "broken": _state_json(s.broken, lang),
                "solution": _state_json(s.solution, lang),
            }
            for s in report.scenarios
        ],
    }


def _scenario_lines(scenario: ScenarioPreflight, lang: Lang) -> list[str]:
    verdict = scenario.verdict
    row = f"{VERDICT_MARK[verdict]} {scenario.challenge_id:>3}  {scenario.scenario_id:<24} "
    row += t(f"preflight.verdict.{verdict.value}", lang)
    if scenario.broken is not None and scenario.solution is not None:
        broken, solution = f"{scenario.broken.seconds:.1f}", f"{scenario.solution.seconds:.1f}"
        row += f"  ({t('preflight.timing', lang, broken=broken, solution=solution)})"
    elif scenario.broken is not None:
        row += f"  ({t('preflight.timing_broken', lang, broken=f'{scenario.broken.seconds:.1f}')})"
    lines = [row]
    if scenario.reason is not None:
        lines.append(_DETAIL + render(scenario.reason, lang))
    for key, state, misbehaved in (
        ("preflight.state.broken", scenario.broken, verdict is Verdict.DID_NOT_BREAK),
        ("preflight.state.solution", scenario.solution, verdict is Verdict.DID_NOT_HEAL),
    ):
        if state is not None and misbehaved:
            lines += _state_lines(key, state, lang)
    return lines


def _state_lines(key: str, state: StateReport, lang: Lang) -> list[str]:
    heading = t(key, lang, seconds=f"{state.seconds:.1f}")
    if not state.settled:
        heading += f", {t('preflight.not_settled', lang, seconds=f'{state.seconds:.0f}')}"
    lines = [_DETAIL + heading]
    lines += [f"{_ITEM}{MARK[c.status]} {render(c.message, lang)}" for c in state.checks]
    if state.cluster_said:
        lines.append(_DETAIL + t("preflight.cluster_said", lang))
        lines += [_ITEM + render(m, lang) for m in state.cluster_said]
    return lines


def _state_json(state: StateReport | None, lang: Lang) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "seconds": round(state.seconds, 3),
        "settled": state.settled,
        "checks": [
            {"check": c.check, "status": c.status.value, "guard": c.guard, "message": render(c.message, lang)}
            for c in state.checks
        ],
        "cluster_said": [render(m, lang) for m in state.cluster_said],
    }
