"""`kubecamp scenarios show <challenge>`: what a team sees of a challenge, from the catalogue alone, so that its
author checks it before class: the thread and its briefing, then every post of the schedule at its time.

    kubecamp scenarios show 2 --lang both
    kubecamp scenarios show 21 --own-cluster --team red

The posts are the flow's own (`bot.challenges.render`, `render_rubric`), built for a run started now and cut
to Discord's limits as the outbox cuts them (`bot.limits`); their Discord data goes out with `--json`, and as
text otherwise, a Discord timestamp written as the time after the start. What the cluster decides is left out
and said so: a verification's results, and whether a scenario is fixed before its hints (the preview's team
fixes nothing, so every hint is posted).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.challenges import render, render_drill, render_lab, render_rubric, scoring
from bot.challenges.catalog import Challenge
from bot.challenges.cluster_fit import ChallengeUnavailable, runnable
from bot.challenges.reports import StartReport
from bot.challenges.spec import CheckedItem
from bot.challenges.timeline import Due, HintDue
from bot.i18n import Lang, Message, t
from bot.limits import fit_message, fit_thread_name
from bot.markup import clock
from bot.scheduler import planned
from bot.store import HintSource, Run, Team
from bot.values import team_name

Payload = dict[str, Any]
LANGUAGES: tuple[Lang, ...] = ("ko", "en")
#: A Discord timestamp as `bot.markup.stamp` writes it.
_STAMP = re.compile(r"<t:(-?[0-9]+)(?::[tTdDfFR])?>")


def add_command(scenarios: Any, add: Any) -> None:
    """`show` among the `scenarios` subcommands (`add` gives it the common flags)."""
    show = add(scenarios, "show", help="what a team sees of a challenge: briefing, hints and posts, with their times")
    show.add_argument("challenge", type=int)
    show.add_argument("dir", nargs="?", type=Path, help="catalogue folder (default KUBECAMP_SCENARIOS_DIR)")
    show.add_argument(
        "--lang", choices=[*LANGUAGES, "both"], help="the language of the posts (default: the configured one)"
    )
    show.add_argument("--team", type=_team, default="blue", help="the team's name in the posts (default blue)")
    show.add_argument(
        "--own-cluster",
        action="store_true",
        help="as on a team's own cluster, where cluster-scope scenarios run (default: the shared cluster)",
    )


def _team(text: str) -> str:
    try:
        return team_name(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}") from None


@dataclass(frozen=True)
class Post:
    """What the bot posts at one moment of a run: the Discord messages, as the outbox sends them, and what the
    preview says of them (`note`). `items`: the scenarios or criteria a verification checks."""

    after: timedelta
    event: str
    note: str
    messages: list[Payload]
    thread_name: str | None = None
    items: list[str] = field(default_factory=list)


def start_report(challenge: Challenge, team: Team, started_at: datetime, *, own_cluster: bool) -> StartReport:
    """A start of `challenge` by `team` at `started_at` as `RunService.start` reports it, with nothing applied."""
    scenarios, skipped = runnable(challenge, own_cluster=own_cluster)
    if not scenarios and not challenge.scored_by_items:
        raise ChallengeUnavailable(Message("run.only_cluster_scope", {"challenge": challenge.id}))
    deadline = started_at + scoring.plan(challenge, skipped).time_limit
    run = Run(id=0, team_id=team.id, challenge_id=challenge.id, started_at=started_at, deadline=deadline)
    return StartReport(run=run, team=team, challenge=challenge, applied=(), skipped=skipped)


def briefing(report: StartReport, lang: Lang) -> Post:
    """The thread the run opens and its briefing, as the flow enqueues them and the outbox sends them."""
    return Post(
        after=timedelta(0),
        event="thread",
        note=t("preview.thread", lang),
        thread_name=fit_thread_name(render.thread_name(report, lang)),
        messages=[
            *fit_message(render.briefing(report, lang)),
            *(m for _, tick in render_lab.tick_messages(report.challenge, report.run, lang) for m in fit_message(tick)),
        ],
    )


def alert_call(report: StartReport, lang: Lang) -> Post:
    """A drill's start posts nothing: the team learns of it from the alert, whose incident thread starts with the
    call to the team. When the alert comes is Prometheus's and Alertmanager's to say, so it is shown at +0:00."""
    challenge = report.challenge
    alerts = ", ".join(challenge.spec.drill.alerts) if challenge.spec.drill is not None else ""
    return Post(
        after=timedelta(0),
        event="alert",
        note=t("preview.drill", lang, alerts=alerts),
        messages=fit_message(render_drill.alert_call(report.run, None, lang)),
    )


def posts(report: StartReport, lang: Lang) -> list[Post]:
    """Every post of the run in order: the briefing, then the scheduler's timeline (`bot.scheduler.planned`)
    with what the flow posts at each entry, for a team that fixes nothing."""
    challenge, run = report.challenge, report.run
    checked = [item for item in challenge.checked if item.id not in report.skipped]
    names = [item.title.get(lang) for item in checked]
    ids = {item.id for item in checked}
    timeline: list[Post] = [alert_call(report, lang) if challenge.is_drill else briefing(report, lang)]
    for entry in planned(challenge, run):
        after = entry.at - run.started_at
        if entry.due is Due.AUTO_VERIFY:
            hints = _hints_due(checked, challenge.spec.hints_after)
            embeds = [render.hint_embed(h, challenge, lang) for h in hints]
            timeline.append(
                Post(
                    after,
                    "automatic",
                    t("preview.automatic", lang, hints=len(hints)),
                    fit_message({"embeds": embeds, "allowed_mentions": {"parse": []}}) if embeds else [],
                    items=names,
                )
            )
        elif entry.due is Due.HINT and entry.scenario_id in ids:
            item = challenge.checked_item(entry.scenario_id)
            due = HintDue(item.id, entry.level, item.hints[entry.level])
            payload = render.hint(due, challenge, lang, source=HintSource.auto)
            timeline.append(Post(after, "hint", t("preview.hint", lang), fit_message(payload)))
        elif entry.due is Due.PHASE:
            payload = render_rubric.phase_reminder(challenge, run, entry.level, lang)
            timeline.append(Post(after, "phase", t("preview.phase", lang), fit_message(payload)))
        elif entry.due is Due.FINAL:
            final = "preview.final_build" if challenge.is_build else "preview.final" if names else "preview.final_lab"
            timeline.append(Post(after, "final", t(final, lang), [], items=names))
    return timeline


def _hints_due(checked: list[CheckedItem], elapsed: timedelta) -> list[HintDue]:
    """The hints the automatic verification posts for items none of which is fixed: `RunService.hints_due`."""
    return [HintDue(item.id, level, item.hints[level]) for item in checked for level in item.hints_due(elapsed)]


def show(
    challenge: Challenge,
    languages: tuple[Lang, ...],
    *,
    team: Team,
    started_at: datetime,
    own_cluster: bool,
    json_mode: bool,
    stream: TextIO,
) -> None:
    """Write the preview of `challenge` in each of `languages`: JSON, or text."""
    started_at = started_at.replace(microsecond=0)  # a Discord timestamp counts whole seconds
    report = start_report(challenge, team, started_at, own_cluster=own_cluster)
    previews = {lang: posts(report, lang) for lang in languages}
    if json_mode:
        data = {
            "challenge": challenge.id,
            "kind": challenge.spec.kind,
            "team": team.name,
            "namespace": team.namespace,
            "own_cluster": own_cluster,
            "started_at": started_at.isoformat(),
            "skipped": sorted(report.skipped),
            "languages": {lang: [_post_json(p) for p in timeline] for lang, timeline in previews.items()},
        }
        stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    blocks = [_text(report, timeline, lang) for lang, timeline in previews.items()]
    stream.write("\n\n".join(blocks) + "\n")


def _post_json(post: Post) -> Payload:
    data: Payload = {"after_seconds": int(post.after.total_seconds()), "event": post.event, "note": post.note}
    if post.thread_name is not None:
        data["thread_name"] = post.thread_name
    if post.items:
        data["items"] = post.items
    data["messages"] = post.messages
    return data


def _text(report: StartReport, timeline: list[Post], lang: Lang) -> str:
    challenge, team = report.challenge, report.team
    lines = [
        t(
            "preview.heading",
            lang,
            challenge=challenge.id,
            title=challenge.spec.title.get(lang),
            team=team.name,
            namespace=team.namespace,
        ),
        t("preview.times", lang),
    ]
    base = int(report.run.started_at.timestamp())
    for post in timeline:
        lines += ["", f"━━ +{clock(post.after)} · {post.note}"]
        if post.thread_name is not None:
            lines.append(f"🧵 {post.thread_name}")
        lines += [f"  • {name}" for name in post.items]
        for message in post.messages:
            lines += [_at_offsets(line, base) for line in _message_lines(message)]
    return "\n".join(lines)


def _message_lines(message: Payload) -> list[str]:
    """One Discord message as the reader sees its parts: the content, then each embed's title, description,
    fields and footer, then its buttons, a row to a line."""
    lines = [""]
    if message.get("content"):
        lines += str(message["content"]).splitlines()
    for embed in message.get("embeds") or []:
        box = []
        if embed.get("title"):
            box.append(f"**{embed['title']}**")
        if embed.get("description"):
            box += str(embed["description"]).splitlines()
        for item in embed.get("fields") or []:
            box += ["", f"▸ {item['name']}", *(f"  {line}" for line in str(item["value"]).splitlines())]
        if embed.get("footer"):
            box += ["", f"— {embed['footer']['text']}"]
        lines += ["┌", *(f"│ {line}".rstrip() for line in box), "└"]
    for row in message.get("components") or []:
        lines.append("  ".join(f"[{button.get('label', '')}]" for button in row.get("components") or []))
    return lines


def _at_offsets(text: str, base: int) -> str:
    """`text` with each Discord timestamp as the time after the start (`base`, in seconds since the epoch)."""
    return _STAMP.sub(lambda match: f"[+{clock(timedelta(seconds=int(match.group(1)) - base))}]", text)
