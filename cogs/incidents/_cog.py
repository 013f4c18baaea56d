"""/incidents list|show — instructors only."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import Lang, t
from bot.incidents import render
from bot.incidents.service import IncidentService
from bot.limits import CONTENT_MAX, fit_embed, truncate
from bot.store.models import IncidentStatus
from cogs._common import InstructorsOnly, locale


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class IncidentsCog(
    InstructorsOnly,
    commands.GroupCog,
    group_name="incidents",
    group_description=locale("alerts from Alertmanager (instructors)", "cmd.incidents.description"),
):
    def __init__(self, *, incidents: IncidentService, lang: Lang, instructor_role: int) -> None:
        self.incidents = incidents
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    @app_commands.command(
        name="list",
        description=locale("the newest incidents, firing ones first", "cmd.incidents.list.description"),
    )
    async def list_(
        self, interaction: discord.Interaction, status: Literal["firing", "resolved", "all"] = "all"
    ) -> None:
        wanted = None if status == "all" else IncidentStatus(status)
        recent = await self.incidents.recent(wanted)
        if not recent:
            await interaction.response.send_message(t("cog.no_incidents", self.lang), ephemeral=True)
            return
        lines = [render.listing_line(incident, thread, self.lang) for incident, thread in recent]
        await interaction.response.send_message(truncate("\n".join(lines), CONTENT_MAX), ephemeral=True)

    @app_commands.command(
        name="show",
        description=locale("one incident with all its alerts", "cmd.incidents.show.description"),
    )
    async def show(self, interaction: discord.Interaction, incident: app_commands.Range[int, 1]) -> None:
        view = await self.incidents.view(incident)
        embed = fit_embed(render.embed(view.incident, view.alerts, self.lang))
        where = f"<#{view.thread_id}>" if view.thread_id else t("cog.incident_no_thread", self.lang)
        await interaction.response.send_message(where, embed=discord.Embed.from_dict(embed), ephemeral=True)
