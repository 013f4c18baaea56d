"""A build's rubric and phases as Discord embed fields: in the briefing, in `/challenge progress` and in the
instructor's detail of the scoreboard. One line per criterion, grouped as the catalogue groups them."""

from __future__ import annotations

from typing import Any

from bot.challenges.catalog import Challenge
from bot.challenges.progress import ItemProgress, RubricProgress, Standing
from bot.challenges.rubric import Criterion
from bot.i18n import Lang, t
from bot.limits import EMBED_FIELD_VALUE_MAX, fit_lines

MARK = {Standing.MET: "✅", Standing.UNMET: "❌", Standing.OPEN: "⏳"}


def _suffix(criterion: Criterion, lang: Lang) -> str:
    return t("render.rubric_bonus", lang) if criterion.spec.bonus else ""


def rubric_fields(challenge: Challenge, lang: Lang) -> list[dict[str, Any]]:
    """The briefing's rubric: per group, each criterion with its points and how it is proven."""
    fields = []
    for group in challenge.spec.rubric or []:
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
            if criterion.group.id == group.id
        ]
        fields.append({"name": group.title.get(lang), "value": fit_lines(lines, EMBED_FIELD_VALUE_MAX)})
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
    for group in challenge.spec.rubric or []:
        lines = [item_line(i, lang) for i in progress.items if i.criterion.group.id == group.id]
        fields.append({"name": group.title.get(lang), "value": fit_lines(lines, EMBED_FIELD_VALUE_MAX)})
    return fields


def progress_summary(challenge: Challenge, progress: RubricProgress, lang: Lang) -> str:
    bonus_max = sum(c.points for c in challenge.rubric if c.spec.bonus)
    return t(
        "render.rubric_summary",
        lang,
        required=progress.required_points,
        required_max=challenge.total_points,
        bonus=progress.bonus_points,
        bonus_max=bonus_max,
    )
