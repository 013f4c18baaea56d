"""/team create|link|list|remove — instructors only (a check in code); /team kubeconfig — a team's members.

The group has no default permissions: Discord applies a group's to every subcommand, and students must reach
/team kubeconfig. So they see the instructors' subcommands too, and the check in code refuses them.
"""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.clusters import Placement
from bot.i18n import Lang, render, t
from bot.team_access import kubeconfig_expiry
from bot.teams import TeamService
from cogs._common import InstructorsOnly, acting_team, locale, team_choices

#: The one /team subcommand for the teams' members as well.
FOR_MEMBERS = "kubeconfig"


@app_commands.guild_only()
class TeamsCog(
    InstructorsOnly,
    commands.GroupCog,
    group_name="team",
    group_description=locale(
        "manage the class's teams (instructors), get your team's kubeconfig", "cmd.team.description"
    ),
):
    def __init__(self, *, teams: TeamService, lang: Lang, instructor_role: int) -> None:
        self.teams = teams
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        command = interaction.command
        if command is not None and command.name == FOR_MEMBERS:
            return True  # acting_team() decides: a member for their own team, an instructor for any
        return await super().interaction_check(interaction)

    @app_commands.command(
        name="create",
        description=locale("create a team with its role and channel", "cmd.team.create.description"),
    )
    async def create(
        self, interaction: discord.Interaction, name: str, role: discord.Role, channel: discord.TextChannel
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # the namespace is made now
        team = await self.teams.create(name, role_id=role.id, channel_id=channel.id)
        await interaction.followup.send(
            t(
                "cog.team_created",
                self.lang,
                team=markup.escape(team.name),
                role=role.mention,
                channel=channel.mention,
                namespace=team.namespace,
            ),
            ephemeral=True,
        )

    @app_commands.command(
        name="link",
        description=locale("change a team's role or channel", "cmd.team.link.description"),
    )
    async def link(
        self,
        interaction: discord.Interaction,
        name: str,
        role: discord.Role | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        team = await self.teams.link(
            name, role_id=role.id if role else None, channel_id=channel.id if channel else None
        )
        await interaction.response.send_message(
            t(
                "cog.team_linked",
                self.lang,
                team=markup.escape(team.name),
                role=f"<@&{team.discord_role_id}>" if team.discord_role_id else "-",
                channel=f"<#{team.discord_channel_id}>" if team.discord_channel_id else "-",
            ),
            ephemeral=True,
        )

    @link.autocomplete("name")
    async def _link_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await team_choices(self.teams, current)

    @app_commands.command(name="list", description=locale("list the teams", "cmd.team.list.description"))
    async def list_(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # each team's cluster is asked if it answers
        lines = [
            f"**{markup.escape(team.name)}** · "
            + (f"<@&{team.discord_role_id}>" if team.discord_role_id else "-")
            + " · "
            + (f"<#{team.discord_channel_id}>" if team.discord_channel_id else "-")
            + f" · `{markup.code(team.namespace)}`"
            + (f" · {_placement(placement, self.lang)}" if placement is not None else "")
            for team, placement in await self.teams.placed()
        ]
        await interaction.followup.send(
            "\n".join(lines) or t("cog.no_teams", self.lang),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name="remove",
        description=locale("remove a team that has no runs", "cmd.team.remove.description"),
    )
    async def remove(self, interaction: discord.Interaction, name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # the team's access is revoked now
        await self.teams.remove(name)
        await interaction.followup.send(t("cog.team_removed", self.lang, team=markup.escape(name)), ephemeral=True)

    @app_commands.command(
        name=FOR_MEMBERS,
        description=locale(
            "get a kubeconfig for your team's namespace (only you see it)", "cmd.team.kubeconfig.description"
        ),
    )
    async def kubeconfig(self, interaction: discord.Interaction, team: str | None = None) -> None:
        """Ephemeral, straight in the interaction's answer: the file never goes through the outbox (the store)."""
        acting = await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)
        await interaction.response.defer(ephemeral=True, thinking=True)
        made = await self.teams.kubeconfig(acting)
        expires = kubeconfig_expiry(made)
        text = t(
            "cog.team_kubeconfig",
            self.lang,
            namespace=made.namespace,
            expires=f"<t:{int(expires.timestamp())}:f>",
            filename=made.filename,
        )
        await interaction.followup.send(
            text, file=discord.File(io.BytesIO(made.text.encode()), filename=made.filename), ephemeral=True
        )

    @kubeconfig.autocomplete("team")
    async def _kubeconfig_teams(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await team_choices(self.teams, current)

    @remove.autocomplete("name")
    async def _remove_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await team_choices(self.teams, current)


def _placement(placement: Placement, lang: Lang) -> str:
    """The team's cluster: shared or its own server URL, and whether it answered (never a credential)."""
    where = (
        t("cog.team_cluster_own", lang, server=markup.code(placement.server))
        if placement.own
        else t("cog.team_cluster_shared", lang)
    )
    if placement.reachable:
        return f"{where} ✅"
    reason = render(placement.problem, lang) if placement.problem is not None else "-"
    return f"{where} ⚠️ {t('cog.team_cluster_unreachable', lang, reason=markup.escape(reason))}"
