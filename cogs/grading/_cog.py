"""/grade give|undo — an instructor's points for a build's graded items (instructors only).

Discord has no command that is both a group and run on its own, so giving points is `/grade give`.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.awards import AwardService, Graded
from bot.challenges.catalog import Catalog
from bot.i18n import Lang, t
from bot.teams import TeamService
from cogs._common import InstructorsOnly, locale, team_choices


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class GradingCog(
    InstructorsOnly,
    commands.GroupCog,
    group_name="grade",
    group_description=locale("grade a build's items (instructors)", "cmd.grade.description"),
):
    def __init__(
        self, *, awards: AwardService, teams: TeamService, catalog: Catalog, lang: Lang, instructor_role: int
    ) -> None:
        self.awards = awards
        self.teams = teams
        self.catalog = catalog
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    @app_commands.command(
        name="give",
        description=locale("give a team points for an item, with the reason", "cmd.grade.give.description"),
    )
    @app_commands.describe(
        item=locale("the item (a graded criterion)", "cmd.option.grade_item"),
        reason=locale("why: kept with the points", "cmd.option.grade_reason"),
    )
    async def give(
        self,
        interaction: discord.Interaction,
        team: str,
        item: str,
        points: app_commands.Range[int, 0, 1000],
        reason: app_commands.Range[str, 1, 1000],
    ) -> None:
        graded = await self.awards.grade(team, item, points, reason, by=str(interaction.user.id))
        await interaction.response.send_message(self._said("cog.graded", graded), ephemeral=True)

    @app_commands.command(
        name="undo",
        description=locale(
            "take back a team's latest award for an item, or one by its number", "cmd.grade.undo.description"
        ),
    )
    @app_commands.describe(
        item=locale("the item (a graded criterion)", "cmd.option.grade_item"),
        award=locale("the award's number (instead of the item)", "cmd.option.grade_award"),
    )
    async def undo(
        self, interaction: discord.Interaction, team: str, item: str | None = None, award: int | None = None
    ) -> None:
        if (item is None) == (award is None):
            await interaction.response.send_message(t("cog.grade_undo_which", self.lang), ephemeral=True)
            return
        graded = await self.awards.undo(team, item=item, award_id=award, by=str(interaction.user.id))
        await interaction.response.send_message(self._said("cog.grade_undone", graded), ephemeral=True)

    def _said(self, key: str, graded: Graded) -> str:
        award = graded.award
        return t(
            key,
            self.lang,
            team=markup.escape(graded.team.name),
            item=f"{graded.challenge.id}/{award.item}",
            points=award.points,
            award=award.id,
            reason=markup.escape(award.reason),
            total=graded.total,
            maximum=graded.criterion.points if graded.criterion is not None else "-",
        )

    @give.autocomplete("team")
    @undo.autocomplete("team")
    async def _teams(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await team_choices(self.teams, current)

    @give.autocomplete("item")
    @undo.autocomplete("item")
    async def _items(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(
                name=f"{c.id}/{r.id} · {r.title.get(self.lang)} ({r.points})"[:100], value=f"{c.id}/{r.id}"
            )
            for c in self.catalog
            for r in c.rubric
            for item in [f"{c.id}/{r.id}"]
            if r.spec.graded and current.strip().lower() in item
        ][:25]
