from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.grading._cog import GradingCog

if TYPE_CHECKING:
    from bot.discord.client import KubecampBot


async def setup(bot: KubecampBot) -> None:
    s = bot.services
    await bot.add_cog(
        GradingCog(awards=s.awards, teams=s.teams, catalog=s.catalog, lang=s.lang, instructor_role=s.instructor_role)
    )
