"""What the challenge's modals share: an error while handling a form is reported to the person who sent it."""

from __future__ import annotations

import discord

from bot.discord.errors import report
from bot.i18n import Lang


class ReportingModal(discord.ui.Modal):
    def __init__(self, *, title: str, lang: Lang) -> None:
        super().__init__(title=title, timeout=900)
        self._lang = lang

    # Modal.on_error takes no item at run time; discord.py's typing inherits BaseView's signature.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        # Discord has closed the form; the user opens a new one, so this one is finished too.
        self.stop()
        await report(interaction, error, self._lang)
