"""The buttons that tick a lab's checkpoints, as persistent dynamic items.

The outbox posts them in the run's thread as plain component JSON (`bot.challenges.render_lab.tick_messages`);
the custom id carries the run and the checkpoint, so a press is understood whenever it comes, after any number
of restarts, without a view kept in memory. The service decides whether the member may tick; the answer goes to
the member alone.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.challenges.render_lab import CUSTOM_ID
from bot.discord.errors import report
from bot.i18n import Lang, t
from bot.markup import stamp
from bot.ticks import Ticked, TickService


def tick_buttons(*, ticks: TickService, lang: Lang) -> type[discord.ui.DynamicItem[Any]]:
    """The dynamic item class for the tick buttons, bound to the service it calls."""

    class TickButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID):
        def __init__(self, custom_id: str, run_id: int, checkpoint: str) -> None:
            super().__init__(discord.ui.Button(custom_id=custom_id))
            self.run_id = run_id
            self.checkpoint = checkpoint

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
        ) -> TickButton:
            return cls(match.string, int(match["run"]), match["item"])

        async def callback(self, interaction: discord.Interaction) -> None:
            try:
                ticked = await ticks.tick(
                    self.run_id,
                    self.checkpoint,
                    role_ids=frozenset(role.id for role in getattr(interaction.user, "roles", [])),
                    by=str(interaction.user.id),
                )
            except Exception as error:  # every failure gets the same answer as a command's
                await report(interaction, error, lang)
                return
            await interaction.response.send_message(
                answer(ticked, lang), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )

    return TickButton


def answer(ticked: Ticked, lang: Lang) -> str:
    """What the member who pressed is told: the tick made, with the team's checkpoints reached, or the one there."""
    title = ticked.checkpoint.title.get(lang)
    if not ticked.new:
        who = f"<@{ticked.tick.ticked_by}>"
        return t("cog.tick_already", lang, title=title, who=who, when=stamp(ticked.tick.ticked_at, "f"))
    progress = ticked.progress
    total = len(progress.items)
    return t("cog.tick_done", lang, title=title, points=ticked.checkpoint.points, met=progress.met, total=total)
