"""What every cog needs: who is acting for which team, and the choices for autocomplete."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.challenges.catalog import Catalog
from bot.discord.errors import NotInstructor, NotInTeam
from bot.discord.permissions import is_instructor
from bot.i18n import Lang
from bot.store import Team
from bot.teams import TeamService


def locale(text: str, key: str) -> app_commands.locale_str:
    """An English default with the catalogue key the translator looks up for Korean."""
    return app_commands.locale_str(text, key=key)


async def acting_team(
    interaction: discord.Interaction, team_name: str | None, *, teams: TeamService, instructor_role: int
) -> Team:
    """The team a command acts for: a named team (instructors only), else the member's own team."""
    if team_name is not None:
        if not is_instructor(interaction.user, instructor_role):
            raise NotInstructor()
        return await teams.get(team_name)
    roles = [role.id for role in getattr(interaction.user, "roles", [])]
    own = await teams.of_member(roles)
    if own is None:
        raise NotInTeam()
    return own


def require_instructor(interaction: discord.Interaction, instructor_role: int) -> None:
    if not is_instructor(interaction.user, instructor_role):
        raise NotInstructor()


def challenge_choices(catalog: Catalog, current: str, lang: Lang) -> list[app_commands.Choice[int]]:
    choices = []
    for challenge in catalog:
        label = f"{challenge.id} · {challenge.spec.title.get(lang)}"
        if current.strip().lower() in label.lower():
            choices.append(app_commands.Choice(name=label[:100], value=challenge.id))
    return choices[:25]


async def team_choices(teams: TeamService, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=t.name, value=t.name) for t in await teams.all() if current.lower() in t.name][:25]


class InstructorsOnly:
    """For a command group only instructors may use: Discord hides it from others through
    `default_permissions`, and this check refuses anyone who reaches it anyway."""

    instructor_role: int

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        require_instructor(interaction, self.instructor_role)
        return True
