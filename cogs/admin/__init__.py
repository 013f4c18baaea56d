from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.admin._cog import AdminCog

if TYPE_CHECKING:
    from bot.discord.client import KubecampBot


async def setup(bot: KubecampBot) -> None:
    s = bot.services
    await bot.add_cog(
        AdminCog(
            flow=s.flow,
            teams=s.teams,
            outbox=s.outbox,
            boards=s.boards,
            scoreboard=s.scoreboard,
            lang=s.lang,
            instructor_role=s.instructor_role,
        )
    )
