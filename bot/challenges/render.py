"""What the bot posts about a run, as Discord message JSON (`content`, `embeds`), in one language.

Plain dictionaries, no discord.py: the outbox stores them as they are and the Discord transport
sends them; `bot.limits.fit_message` keeps them inside Discord's limits on the way out.
Times are Discord timestamps (`<t:…:t>`), which every reader sees in their own time zone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.challenges import scoring
from bot.challenges.catalog import Challenge
from bot.challenges.checks import Status
from bot.challenges.runs import HintDue, ScenarioResult, StartReport, StatusReport, Trigger, VerifyReport
from bot.i18n import Lang, render, t
from bot.markup import clock, stamp
from bot.store import Run

Payload = dict[str, Any]

GREEN, RED, AMBER, BLUE = 0x2ECC71, 0xE74C3C, 0xF1C40F, 0x3498DB
MARK = {Status.PASS: "✅", Status.FAIL: "❌", Status.UNKNOWN: "⚠️"}


def thread_name(report: StartReport, lang: Lang) -> str:
    return t(
        "render.thread_name",
        lang,
        challenge=report.challenge.id,
        team=report.team.name,
        title=report.challenge.spec.title.get(lang),
    )


def briefing(report: StartReport, lang: Lang) -> Payload:
    """The run's opening post: the story, then per scenario its situation and symptoms, and the
    seed's diagnosis steps in a field of their own (a field holds 1024 characters; the outbox cuts
    a longer one with "…" rather than fail)."""
    challenge = report.challenge
    fields = []
    for index, scenario in enumerate(challenge.scenarios, start=1):
        spec = scenario.spec
        skipped = scenario.id in report.skipped
        if skipped:
            value = render(report.skipped[scenario.id], lang)
        else:
            value = f"{spec.situation.get(lang)}\n```\n{spec.symptoms.get(lang).strip()}\n```"
        fields.append(
            {
                "name": t(
                    "render.scenario_heading",
                    lang,
                    index=index,
                    title=spec.title.get(lang),
                    minutes=int(spec.time_box.total_seconds() // 60),
                    points=spec.points,
                ),
                "value": value,
            }
        )
        if spec.diagnosis is not None and not skipped:
            fields.append({"name": t("render.diagnosis_heading", lang), "value": spec.diagnosis.get(lang)})
    embed = {
        "title": t("render.briefing_title", lang, challenge=challenge.id, title=challenge.spec.title.get(lang)),
        "description": challenge.spec.story.get(lang),
        "color": BLUE,
        "fields": fields,
        "footer": {"text": t("render.briefing_footer", lang, namespace=report.team.namespace)},
    }
    content = t(
        "render.briefing_content",
        lang,
        team=report.team.name,
        deadline=stamp(report.run.deadline),
        deadline_relative=stamp(report.run.deadline, "R"),
        hints=stamp(report.run.started_at + challenge.spec.hints_after),
    )
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


def results(
    results_: tuple[ScenarioResult, ...], challenge: Challenge, trigger: Trigger, elapsed: timedelta, lang: Lang
) -> Payload:
    fields = []
    for result in results_:
        title = challenge.scenario(result.scenario_id).spec.title.get(lang)
        lines = [f"{MARK[c.status]} {render(c.message, lang)}" for c in result.checks]
        fields.append({"name": f"{MARK[result.status]} {title}", "value": "\n".join(lines)})
    statuses = {r.status for r in results_}
    color = GREEN if statuses <= {Status.PASS} else (AMBER if Status.FAIL not in statuses else RED)
    solved = sum(1 for r in results_ if r.status is Status.PASS)
    embed = {
        "title": t(f"render.results_title.{trigger.value}", lang, elapsed=clock(elapsed)),
        "description": t("render.results_summary", lang, solved=solved, total=len(results_)),
        "color": color,
        "fields": fields,
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def hint(due: HintDue, challenge: Challenge, lang: Lang, *, revealed_by: str | None = None) -> Payload:
    scenario = challenge.scenario(due.scenario_id)
    embed = {
        "title": t(
            "render.hint_title",
            lang,
            title=scenario.spec.title.get(lang),
            level=due.level + 1,
            total=len(scenario.spec.hints),
        ),
        "description": due.hint.text(lang),
        "color": AMBER,
    }
    if revealed_by:
        embed["footer"] = {"text": t("render.hint_revealed", lang, who=revealed_by)}
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def _ended_detail(run: Run, challenge: Challenge, lang: Lang) -> str:
    return t(
        "render.ended_detail",
        lang,
        elapsed=clock(timedelta(seconds=run.elapsed_seconds or 0)),
        tier=run.tier_percent or 0,
        points=run.points or 0,
        total=scoring.plan_of(challenge, run).total_points,
    )


def run_ended(run: Run, challenge: Challenge, lang: Lang) -> Payload:
    key = {"finished": "render.ended_finished", "expired": "render.ended_expired"}.get(
        run.status, "render.ended_stopped"
    )
    embed = {
        "title": t(key, lang, challenge=challenge.id),
        "description": _ended_detail(run, challenge, lang),
        "color": GREEN if run.status == "finished" else (AMBER if run.status == "expired" else RED),
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def status(report: StatusReport, lang: Lang) -> Payload:
    lines = []
    for state in report.states:
        title = report.challenge.scenario(state.scenario_id).spec.title.get(lang)
        mark = {"solved": "✅", "skipped": "⏭️"}.get(state.status, "⏳")
        solved = (
            t("render.status_solved_at", lang, elapsed=clock(state.first_solved_at - report.run.started_at))
            if state.first_solved_at
            else ""
        )
        lines.append(
            t(
                "render.status_line",
                lang,
                mark=mark,
                title=title,
                solved=solved,
                attempts=state.attempts,
                hints=report.hints_posted.get(state.scenario_id, 0),
            )
        )
    embed = {
        "title": t(
            "render.status_title", lang, challenge=report.challenge.id, title=report.challenge.spec.title.get(lang)
        ),
        "description": "\n".join(lines),
        "color": BLUE,
        "fields": [
            {"name": t("render.elapsed", lang), "value": clock(report.elapsed), "inline": True},
            {"name": t("render.remaining", lang), "value": clock(report.remaining), "inline": True},
        ],
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def verify_summary(report: VerifyReport, challenge: Challenge, lang: Lang) -> str:
    """The short answer to /challenge verify; the full results go to the run's thread."""
    lines = [
        t(
            "render.verify_summary",
            lang,
            solved=sum(r.status is Status.PASS for r in report.results),
            total=len(report.results),
        )
    ]
    lines += [f"{MARK[r.status]} {challenge.scenario(r.scenario_id).spec.title.get(lang)}" for r in report.results]
    unchecked = [r for r in report.results if r.status is Status.UNKNOWN]
    if unchecked:
        # ⚠️ alone reads like a failure: say that the cluster could not be read, and why.
        gap = next(c.message for c in unchecked[0].checks if c.status is Status.UNKNOWN)
        lines.append(t("render.verify_unknown", lang, count=len(unchecked), reason=gap.params["reason"]))
    if report.ended is not None:
        lines.append(_ended_detail(report.ended, challenge, lang))
    return "\n".join(lines)
