from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.teams._cog import TeamsCog

if TYPE_CHECKING:
    from bot.discord.client import KubecampBot


async def setup(bot: KubecampBot) -> None:
    s = bot.services
    await bot.add_cog(TeamsCog(teams=s.teams, lang=s.lang, instructor_role=s.instructor_role))
