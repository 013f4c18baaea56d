"""What the bot posts about a run, as Discord message JSON (`content`, `embeds`), in one language.

Plain dictionaries, no discord.py: the outbox stores them as they are and the Discord transport
sends them; `bot.limits.fit_message` keeps them inside Discord's limits on the way out.
Times are Discord timestamps (`<t:…:t>`), which every reader sees in their own time zone. What a
member or the cluster wrote (a name, what a check or the preflight found) is made inert (`bot.markup`);
the catalogue's own texts are the instructors' Markdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot import markup
from bot.challenges import render_lab, render_rubric, scoring
from bot.challenges.catalog import Challenge
from bot.challenges.checks import Status
from bot.challenges.reports import CheckResult, StartReport, StatusReport, Trigger, VerifyReport
from bot.challenges.timeline import HintDue
from bot.i18n import Lang, Message, t
from bot.limits import EMBED_FIELD_VALUE_MAX, fit_lines
from bot.markup import clock, stamp
from bot.store import HintSource, Run, Team

Payload = dict[str, Any]

GREEN, RED, AMBER, BLUE = 0x2ECC71, 0xE74C3C, 0xF1C40F, 0x3498DB
MARK = {Status.PASS: "✅", Status.FAIL: "❌", Status.UNKNOWN: "⚠️"}
GUARD = "🛡️"
DIAGNOSIS = "🔎"
#: Check parameters that carry what the pods report (a scheduler's or kubelet's message): several checks
#: of one scenario see the same pods, and a post names what they report once.
POD_PARAMS = ("problems", "waiting")
#: How `bot.challenges.checks.pods` joins the reasons of a pod report, and the count it puts after one.
REASON_SEPARATOR = "; "
COUNT_SUFFIX = re.compile(r" ×\d+$")


def thread_name(report: StartReport, lang: Lang) -> str:
    return t(
        "render.thread_name",
        lang,
        challenge=report.challenge.id,
        team=markup.plain(report.team.name),
        title=report.challenge.spec.title.get(lang),
    )


def briefing(report: StartReport, lang: Lang) -> Payload:
    """The run's opening post: the story, then per scenario its situation and symptoms, and the
    seed's diagnosis steps in a field of their own (a field holds 1024 characters; the outbox cuts
    a longer one with "…" rather than fail); a build's namespaces, rubric and phases instead, or a lab's
    phases with their checkpoints."""
    challenge = report.challenge
    fields = []
    for index, scenario in enumerate(challenge.scenarios, start=1):
        spec = scenario.spec
        skipped = scenario.id in report.skipped
        if skipped:
            value = markup.message(report.skipped[scenario.id], lang)
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
    if challenge.is_build:
        fields += render_rubric.build_fields(challenge, report.team.namespace, lang)
    elif challenge.is_lab:
        fields += render_lab.lab_fields(challenge, report.team.namespace, lang)
    else:  # a break-fix challenge's graded bonus items, if it has any
        fields += render_rubric.rubric_fields(challenge, lang)
    embed = {
        "title": t("render.briefing_title", lang, challenge=challenge.id, title=challenge.spec.title.get(lang)),
        "description": challenge.spec.story.get(lang),
        "color": BLUE,
        "fields": fields,
        "footer": {"text": _footer(challenge, report.team.namespace, lang)},
    }
    content = briefing_content(report.run, report.team, challenge, lang)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


def briefing_content(run: Run, team: Team, challenge: Challenge, lang: Lang) -> str:
    """The briefing's first line, with the run's deadline: what an extension edits."""
    return t(
        f"render.briefing_content{_kind_suffix(challenge)}",
        lang,
        team=markup.escape(team.name),
        deadline=stamp(run.deadline),
        deadline_relative=stamp(run.deadline, "R"),
        hints=stamp(run.started_at + challenge.spec.hints_after),
    )


def extended(run: Run, minutes: int, lang: Lang) -> Payload:
    """The notice in the run's thread that an instructor moved its deadline."""
    text = t("render.extended", lang, minutes=minutes, deadline=stamp(run.deadline), relative=stamp(run.deadline, "R"))
    return {"content": text, "allowed_mentions": {"parse": []}}


def _kind_suffix(challenge: Challenge) -> str:
    """The message keys' suffix of what a run of the challenge is: a build is built, not fixed, and ends on its
    rubric; a lab's checkpoints are reached phase by phase."""
    return "_build" if challenge.is_build else "_lab" if challenge.is_lab else ""


def _footer(challenge: Challenge, namespace: str, lang: Lang) -> str:
    """What to type next: a lab's commands, those of the ways its checkpoints are proven; a build's build and
    check; else fix and verify."""
    if not challenge.is_lab:
        return t(f"render.briefing_footer{_kind_suffix(challenge)}", lang, namespace=namespace)
    proofs = {c.spec.proof for c in challenge.rubric}
    ways = [w for w, proof in (("verify", "checks"), ("evidence", "evidence")) if proof in proofs]
    return " · ".join(t(f"render.lab_footer.{way}", lang) for way in [*ways, "progress"])


def results(report: VerifyReport, challenge: Challenge, lang: Lang, *, diagnosed: frozenset[str]) -> Payload:
    """A verification in the run's thread: per scenario, each failing check's symptom, and its diagnosis
    where the team may see it (`diagnosed`, see `bot.challenges.timeline.diagnosed`)."""
    fields = []
    withheld = guarded = False
    for result in report.results:
        title = challenge.checked_item(result.scenario_id).title.get(lang)
        lines, hidden = _check_lines(result.checks, result.scenario_id in diagnosed, lang)
        withheld |= hidden
        guarded |= any(c.guard for c in result.checks)
        fields.append({"name": f"{MARK[result.status]} {title}", "value": fit_lines(lines, EMBED_FIELD_VALUE_MAX)})
    statuses = {r.status for r in report.results}
    color = GREEN if statuses <= {Status.PASS} else (AMBER if Status.FAIL not in statuses else RED)
    elapsed = clock(report.at - report.run.started_at)
    if report.scenario_id is None:
        title = t(f"render.results_title.{report.trigger.value}", lang, elapsed=elapsed)
        solved = sum(1 for r in report.results if r.status is Status.PASS)
        summary = t("render.results_summary", lang, solved=solved, total=len(report.results))
    else:
        scenario = challenge.checked_item(report.scenario_id).title.get(lang)
        title = t("render.results_title.scenario", lang, title=scenario, elapsed=elapsed)
        live = [s for s in report.states if s.status != "skipped"]
        summary = t("render.results_progress", lang, solved=sum(s.status == "solved" for s in live), total=len(live))
    if report.trigger is Trigger.FINAL and report.ended is None:  # a final verification ends the run unless
        summary += "\n" + t("render.final_unanswered", lang)  # its API server did not answer (RunService)
    embed: Payload = {"title": title, "description": summary, "color": color, "fields": fields}
    legend = [t("render.guard_legend", lang, guard=GUARD)] if guarded else []
    if withheld:
        legend.append(t("render.diagnosis_withheld", lang))
    if legend:
        embed["footer"] = {"text": "\n".join(legend)}
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def automatic(
    report: VerifyReport, hints: Sequence[HintDue], challenge: Challenge, lang: Lang, *, diagnosed: frozenset[str]
) -> Payload:
    """The 20-minute mark in one post: the automatic verification, then the hints due with it."""
    payload = results(report, challenge, lang, diagnosed=diagnosed)
    payload["embeds"] += [hint_embed(h, challenge, lang) for h in hints]
    return payload


def _check_lines(checks: Sequence[CheckResult], diagnosis_shown: bool, lang: Lang) -> tuple[list[str], bool]:
    """One line per check, naming each reason once: what the pods report is written out by the first check
    that sees it and referred to by the others, and a line (or diagnosis) the same as one before is left
    out. Also whether a diagnosis was held back."""
    lines: list[str] = []
    named: set[str] = set()
    withheld = False
    for check in checks:
        mark = f"{MARK[check.status]} {GUARD} " if check.guard else f"{MARK[check.status]} "
        line = mark + markup.message(_named_once(check.message, named), lang)
        if line not in lines:
            lines.append(line)
        if check.diagnosis is None or check.status is not Status.FAIL:
            continue
        if not diagnosis_shown:
            withheld = True
            continue
        cause = f"↳ {DIAGNOSIS} {markup.message(check.diagnosis, lang)}"
        if cause not in lines:
            lines.append(cause)
    return lines, withheld


def _named_once(message: Message, named: set[str]) -> Message:
    """`message` with each pod report already `named` in this scenario replaced by "as above". A report
    lists several reasons ("…; …", each perhaps "×N"): each reason counts on its own, so a check that sees
    fewer of the Pods (or fewer of their reasons) than the one before still refers back to it."""
    params = dict(message.params)
    for name in POD_PARAMS:
        value = params.get(name)
        if value in (None, "", "-"):
            continue
        if not isinstance(value, str):
            seen = json.dumps(value, sort_keys=True, ensure_ascii=False)
            if seen in named:
                params[name] = Message("render.as_above").to_json()
            named.add(seen)
            continue
        reasons = value.split(REASON_SEPARATOR)
        fresh = [r for r in reasons if _reason(r) not in named]
        named.update(_reason(r) for r in reasons)
        if not fresh:
            params[name] = Message("render.as_above").to_json()
        elif len(fresh) < len(reasons):
            params[name] = Message("render.as_above_and", {"rest": REASON_SEPARATOR.join(fresh)}).to_json()
    return Message(message.key, params)


def _reason(text: str) -> str:
    """A reason without its "×N" count: the same scheduler message for 3 Pods or for 2 is one reason."""
    return COUNT_SUFFIX.sub("", text)


def hint(due: HintDue, challenge: Challenge, lang: Lang, *, source: HintSource, by: str | None = None) -> Payload:
    """A hint on its own: a later one of the schedule, or one a team asked for or an instructor revealed."""
    embed = hint_embed(due, challenge, lang)
    notes = [embed["footer"]["text"]] if "footer" in embed else []
    if by is not None and source is HintSource.revealed:
        notes.insert(0, t("render.hint_revealed", lang, who=markup.plain(by)))  # a footer shows no Markdown
    elif by is not None and source is HintSource.requested:
        notes.insert(0, t("render.hint_requested", lang, who=markup.plain(by)))
    if notes:
        embed["footer"] = {"text": " · ".join(notes)}
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def hint_embed(due: HintDue, challenge: Challenge, lang: Lang) -> Payload:
    scenario = challenge.checked_item(due.scenario_id)
    embed: Payload = {
        "title": t(
            "render.hint_title",
            lang,
            title=scenario.title.get(lang),
            level=due.level + 1,
            total=len(scenario.hints),
        ),
        "description": due.hint.text(lang),
        "color": AMBER,
    }
    if due.level == len(scenario.hints) - 1 and challenge.spec.feedback == "symptom":
        embed["footer"] = {"text": t("render.hint_last", lang)}
    return embed


def diagnosis_revealed(who: str, lang: Lang) -> Payload:
    embed = {
        "title": t("render.diagnosis_revealed_title", lang, mark=DIAGNOSIS),
        "description": t("render.diagnosis_revealed", lang, who=markup.escape(who)),
        "color": BLUE,
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def _ended_detail(run: Run, challenge: Challenge, lang: Lang) -> str:
    return t(
        {"build": "render.ended_detail_build", "lab": "render.ended_detail_lab"}.get(
            challenge.spec.kind, "render.ended_detail"
        ),
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
        title = report.challenge.checked_item(state.scenario_id).title.get(lang)
        if state.status == "skipped":  # never deployed: no verification, hint or diagnosis to count
            lines.append(f"⏭️ {title}{t('render.status_skipped', lang)}")
            continue
        mark = "✅" if state.status == "solved" else "⏳"
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
                used=report.hints_used.get(state.scenario_id, 0),
                automatic=report.hints_automatic.get(state.scenario_id, 0),
            )
            + (t("render.status_diagnosed", lang, mark=DIAGNOSIS) if state.scenario_id in report.diagnosed else "")
        )
    embed = {
        "title": t(
            "render.status_title", lang, challenge=report.challenge.id, title=report.challenge.spec.title.get(lang)
        ),
        # A lab with nothing on the cluster has no item a verification follows: its checkpoints are in progress.
        "description": "\n".join(lines) or t("render.status_lab", lang),
        "color": BLUE,
        "fields": [
            {"name": t("render.elapsed", lang), "value": clock(report.elapsed), "inline": True},
            {"name": t("render.remaining", lang), "value": clock(report.remaining), "inline": True},
        ],
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def verify_summary(report: VerifyReport, challenge: Challenge, lang: Lang) -> str:
    """The short answer to /challenge verify; the full results go to the run's thread."""
    if report.scenario_id is None:
        passed = sum(r.status is Status.PASS for r in report.results)
        lines = [t("render.verify_summary", lang, solved=passed, total=len(report.results))]
    else:
        live = [s for s in report.states if s.status != "skipped"]
        solved = sum(s.status == "solved" for s in live)
        lines = [t("render.verify_summary_scenario", lang, solved=solved, total=len(live))]
    lines += [f"{MARK[r.status]} {challenge.checked_item(r.scenario_id).title.get(lang)}" for r in report.results]
    unchecked = [r for r in report.results if r.status is Status.UNKNOWN]
    if unchecked:
        # ⚠️ alone reads like a failure: say that the cluster could not be read, and why.
        gap = next(c.message for c in unchecked[0].checks if c.status is Status.UNKNOWN)
        unknown = Message("render.verify_unknown", {"count": len(unchecked), "reason": gap.params["reason"]})
        lines.append(markup.message(unknown, lang))
    if report.ended is not None:
        lines.append(_ended_detail(report.ended, challenge, lang))
    return "\n".join(lines)
