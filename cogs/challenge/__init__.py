from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.challenge._cog import ChallengeCog
from cogs.challenge._ticks import tick_buttons

if TYPE_CHECKING:
    from bot.discord.client import KubecampBot


async def setup(bot: KubecampBot) -> None:
    s = bot.services
    bot.add_dynamic_items(tick_buttons(ticks=s.ticks, lang=s.lang))
    await bot.add_cog(
        ChallengeCog(
            flow=s.flow,
            teams=s.teams,
            submissions=s.submissions,
            evidence=s.evidence,
            progress=s.progress,
            catalog=s.catalog,
            lang=s.lang,
            instructor_role=s.instructor_role,
        )
    )
