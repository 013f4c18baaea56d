from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.incidents._buttons import incident_buttons
from cogs.incidents._cog import IncidentsCog

if TYPE_CHECKING:
    from bot.discord.client import KubecampBot


async def setup(bot: KubecampBot) -> None:
    s = bot.services
    bot.add_dynamic_items(incident_buttons(incidents=s.incidents, lang=s.lang, instructor_role=s.instructor_role))
    await bot.add_cog(IncidentsCog(incidents=s.incidents, lang=s.lang, instructor_role=s.instructor_role))
