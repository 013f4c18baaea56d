"""A build's rubric and phases as Discord embed fields: in the briefing, in `/challenge progress` and in the
instructor's detail of the scoreboard. One line per criterion, grouped as the catalogue groups them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.challenges.catalog import Challenge
from bot.challenges.progress import ItemProgress, RubricProgress, Standing, TeamProgress
from bot.challenges.rubric import Criterion, team_namespaces
from bot.i18n import Lang, t
from bot.limits import EMBED_FIELD_VALUE_MAX, fit_lines
from bot.markup import clock, stamp
from bot.store import Run

MARK = {Standing.MET: "✅", Standing.UNMET: "❌", Standing.OPEN: "⏳"}


def _suffix(criterion: Criterion, lang: Lang) -> str:
    return t("render.rubric_bonus", lang) if criterion.spec.bonus else ""


def criterion_lines(challenge: Challenge, group_id: str, lang: Lang) -> str:
    """The items of one group (a rubric group, a lab's phase), each with its points and how it is proven."""
    lines = [
        t(
            "render.rubric_criterion",
            lang,
            title=criterion.title.get(lang),
            points=criterion.points,
            proof=t(f"render.rubric_proof.{criterion.spec.proof}", lang),
            bonus=_suffix(criterion, lang),
        )
        for criterion in challenge.rubric
        if criterion.group.id == group_id
    ]
    return fit_lines(lines, EMBED_FIELD_VALUE_MAX)


def rubric_fields(challenge: Challenge, lang: Lang) -> list[dict[str, Any]]:
    """The briefing's rubric: per group, each criterion with its points and how it is proven."""
    return [
        {"name": group.title.get(lang), "value": criterion_lines(challenge, group.id, lang)}
        for group in challenge.groups
    ]


def namespace_fields(challenge: Challenge, team_namespace: str, lang: Lang) -> list[dict[str, Any]]:
    """Where a build (a lab) is checked: the team's namespace for each of the challenge's own, if it has any."""
    if not challenge.namespaces:
        return []
    names = team_namespaces(team_namespace, challenge.namespaces)
    lines = [t("render.build_namespace", lang, name=name, namespace=names[name]) for name in challenge.namespaces]
    return [{"name": t("render.build_namespaces", lang), "value": "\n".join(lines)}]


def build_fields(challenge: Challenge, team_namespace: str, lang: Lang) -> list[dict[str, Any]]:
    """A build's part of the briefing: where to build (the team's namespaces), the rubric, the schedule."""
    fields = namespace_fields(challenge, team_namespace, lang)
    fields += rubric_fields(challenge, lang)
    schedule = phase_field(challenge, lang)
    if schedule is not None:
        fields.append(schedule)
    return fields


def phase_field(challenge: Challenge, lang: Lang) -> dict[str, Any] | None:
    """The schedule: each phase with its time box and when it begins."""
    if not challenge.phases:
        return None
    lines = [
        t(
            "render.phase_line",
            lang,
            number=index,
            title=phase.title.get(lang),
            minutes=int(phase.duration.total_seconds() // 60),
            starts=int(phase.starts.total_seconds() // 60),
        )
        for index, phase in enumerate(challenge.phases, start=1)
    ]
    return {"name": t("render.phases_title", lang), "value": fit_lines(lines, EMBED_FIELD_VALUE_MAX)}


def item_line(item: ItemProgress, lang: Lang) -> str:
    return t(
        "render.rubric_progress_item",
        lang,
        mark=MARK[item.standing],
        title=item.criterion.title.get(lang),
        points=item.points,
        maximum=item.criterion.points,
        bonus=_suffix(item.criterion, lang),
    )


def progress_fields(challenge: Challenge, progress: RubricProgress, lang: Lang) -> list[dict[str, Any]]:
    """Per group, each criterion as it stands: ✅ met, ❌ not met at the latest verification, ⏳ open."""
    fields = []
    for group in challenge.groups:
        lines = [item_line(i, lang) for i in progress.items if i.criterion.group.id == group.id]
        fields.append({"name": group.title.get(lang), "value": fit_lines(lines, EMBED_FIELD_VALUE_MAX)})
    return fields


def progress_summary(challenge: Challenge, progress: RubricProgress, lang: Lang) -> str:
    """The points so far, required and bonus apart; a lab's checkpoints reached too."""
    bonus_max = sum(c.points for c in challenge.rubric if c.spec.bonus)
    reached = ""
    if challenge.is_lab:
        reached = "\n" + t("render.lab_reached", lang, met=progress.met, total=len(progress.items))
    points = t(
        "render.rubric_summary",
        lang,
        required=progress.required_points,
        required_max=challenge.total_points,
        bonus=progress.bonus_points,
        bonus_max=bonus_max,
    )
    return points + reached


def phase_reminder(challenge: Challenge, run: Run, index: int, lang: Lang) -> dict[str, Any]:
    """The post in the run's thread as phase `index` begins: what it is, how long, and what follows."""
    phases = challenge.phases
    phase = phases[index]
    if index + 1 < len(phases):
        following = phases[index + 1]
        after = t(
            "render.phase_next",
            lang,
            title=following.title.get(lang),
            at=stamp(run.started_at + following.starts),
        )
    else:
        after = t("render.phase_last", lang, deadline=stamp(run.deadline))
    embed: dict[str, Any] = {
        "title": t("render.phase_title", lang, number=index + 1, total=len(phases), title=phase.title.get(lang)),
        "description": t("render.phase_body", lang, length=length(phase.duration, lang), after=after),
        "color": 0x3498DB,
    }
    if challenge.is_lab:  # what the team reaches in this phase
        group = challenge.groups[index]
        embed["fields"] = [
            {"name": t("render.lab_checkpoints", lang), "value": criterion_lines(challenge, group.id, lang)}
        ]
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def length(span: timedelta, lang: Lang) -> str:
    """A time box as a class reads it: minutes up to two hours, then hours (and minutes)."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return t("render.length_minutes", lang, minutes=minutes)
    if minutes % 60 == 0:
        return t("render.length_hours", lang, hours=minutes // 60)
    return t("render.length_hours_minutes", lang, hours=minutes // 60, minutes=minutes % 60)


def progress_embed(standing: TeamProgress, lang: Lang) -> dict[str, Any]:
    """`/challenge progress`: the rubric item by item, the points so far, and as of which verification."""
    challenge, verification = standing.challenge, standing.verification
    if verification is None:
        footer = t("render.progress_unverified", lang)
    else:
        footer = t("render.progress_verified", lang, elapsed=clock(verification.at - standing.run.started_at))
    return {
        "title": t("render.progress_title", lang, challenge=challenge.id, title=challenge.spec.title.get(lang)),
        "description": progress_summary(challenge, standing.progress, lang),
        "color": 0x3498DB,
        "fields": progress_fields(challenge, standing.progress, lang),
        "footer": {"text": footer},
    }
