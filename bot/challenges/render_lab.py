"""A lab as Discord shows it: its phases with their time boxes and checkpoints in the briefing, and the buttons
that tick the checkpoints the team ticks itself.

The buttons are plain component JSON, posted by the outbox in the run's thread. Their custom id carries the run
and the checkpoint (`kubecamp:tick:7:swarm-built`), so a press is understood whenever it comes, after any number
of restarts (`cogs.challenge._ticks`).
"""

from __future__ import annotations

import re
from typing import Any

from bot.challenges.catalog import Challenge
from bot.challenges.render_rubric import criterion_lines, length, namespace_fields
from bot.challenges.rubric import ITEM_ID, ROW_BUTTONS
from bot.i18n import Lang, t
from bot.limits import ELLIPSIS
from bot.store import Run

Payload = dict[str, Any]

CUSTOM_ID = re.compile(r"^kubecamp:tick:(?P<run>[0-9]{1,18}):(?P<item>" + ITEM_ID.strip("^$") + r")$")
#: Discord's limit on a button's label.
LABEL_MAX = 80


def custom_id(run_id: int, item: str) -> str:
    value = f"kubecamp:tick:{run_id}:{item}"
    if not CUSTOM_ID.match(value):
        raise ValueError(f"not a checkpoint id: {item!r}")
    return value


def lab_fields(challenge: Challenge, team_namespace: str, lang: Lang) -> list[Payload]:
    """A lab's part of the briefing: where its checks look, then each phase with its time box, when it begins,
    and its checkpoints with their points and how each is proven."""
    fields = namespace_fields(challenge, team_namespace, lang)
    for number, (phase, group) in enumerate(zip(challenge.phases, challenge.groups, strict=True), start=1):
        name = t(
            "render.lab_phase_heading" if phase.starts else "render.lab_phase_heading_first",
            lang,
            number=number,
            title=phase.title.get(lang),
            length=length(phase.duration, lang),
            starts=length(phase.starts, lang),
        )
        fields.append({"name": name, "value": criterion_lines(challenge, group.id, lang)})
    return fields


def tick_messages(challenge: Challenge, run: Run, lang: Lang) -> list[tuple[str, Payload]]:
    """Per phase with checkpoints the team ticks itself, its key and the message with a button for each."""
    messages = []
    for number, group in enumerate(challenge.groups, start=1):
        ticked = [c for c in challenge.rubric if c.group.id == group.id and c.spec.proof == "self"]
        if not ticked:
            continue
        buttons = [
            {
                "type": 2,
                "style": 2,
                "label": _label(f"☑️ {c.title.get(lang)}"),
                "custom_id": custom_id(run.id, c.id),
            }
            for c in ticked
        ]
        rows = [{"type": 1, "components": buttons[i : i + ROW_BUTTONS]} for i in range(0, len(buttons), ROW_BUTTONS)]
        content = t("render.lab_ticks", lang, number=number, title=group.title.get(lang))
        messages.append((group.id, {"content": content, "components": rows, "allowed_mentions": {"parse": []}}))
    return messages


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + ELLIPSIS
