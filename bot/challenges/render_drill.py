"""What the bot posts about an incident drill: the call to the team on its alert's incident thread, and the
drill's results, as Discord message JSON in one language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import markup
from bot.challenges import scoring
from bot.challenges.catalog import Challenge
from bot.i18n import Lang, t
from bot.markup import clock, stamp
from bot.store import Run

Payload = dict[str, Any]

GREEN, AMBER, RED = 0x2ECC71, 0xF1C40F, 0xE74C3C


def alert_call(run: Run, role_id: int | None, lang: Lang) -> Payload:
    """What the starter of the drill's incident thread says besides its embed: the team's role (mentioned, the
    one mention allowed), that this is a drill, what to do and until when. It names nothing that broke."""
    content = t("drill.alert_call", lang, deadline=stamp(run.deadline), relative=stamp(run.deadline, "R"))
    if role_id is None:
        return {"content": content, "allowed_mentions": {"parse": []}}
    return {"content": f"<@&{role_id}> {content}", "allowed_mentions": {"parse": [], "roles": [role_id]}}


def results(run: Run, challenge: Challenge, lang: Lang) -> Payload:
    """The drill's end: what broke, the time to acknowledge and to fix, and the points of each, once."""
    spec = challenge.spec.drill
    answer: dict[str, Any] = (run.notes or {}).get("drill") or {}
    broke = "\n".join(f"• {s.spec.title.get(lang)}" for s in challenge.scenarios)
    if answer.get("acknowledge_seconds") is not None:
        acknowledged = t(
            "drill.acknowledged_in",
            lang,
            elapsed=clock(timedelta(seconds=answer["acknowledge_seconds"])),
            by=markup.escape(answer.get("acknowledged_by") or "?"),
        )
    elif answer.get("incident") is not None:
        acknowledged = t("drill.not_acknowledged", lang)
    else:
        acknowledged = t("drill.no_alert", lang)
    if run.status == "finished":
        fixed = t("drill.fixed_in", lang, elapsed=clock(timedelta(seconds=run.elapsed_seconds or 0)))
    else:
        fixed = t("drill.not_fixed", lang)
    fields = [{"name": t("drill.field_broke", lang), "value": broke}]
    if run.status != "stopped":  # a stopped drill is not scored: nothing of its incident was kept
        fields.append({"name": t("drill.field_acknowledge", lang), "value": acknowledged})
        fields.append({"name": t("drill.field_fix", lang), "value": fixed})
        ack_points = int(answer.get("acknowledge_points") or 0)
        fields.append(
            {
                "name": t("drill.field_points", lang),
                "value": t(
                    "drill.points",
                    lang,
                    fix=(run.points or 0) - ack_points,
                    tier=run.tier_percent or 0,
                    acknowledge=ack_points,
                    points=run.points or 0,
                    total=scoring.plan_of(challenge, run).total_points + (spec.acknowledge_max if spec else 0),
                ),
            }
        )
    key = {"finished": "drill.ended_finished", "expired": "drill.ended_expired"}.get(run.status, "drill.ended_stopped")
    embed = {
        "title": t(key, lang, challenge=challenge.id, title=challenge.spec.title.get(lang)),
        "fields": fields,
        "color": GREEN if run.status == "finished" else (AMBER if run.status == "expired" else RED),
    }
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}
