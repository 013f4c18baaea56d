"""/admin extend|reveal-hint|reveal-diagnosis|announce|drill|board|freeze|unfreeze — instructors only."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.challenges.board import BoardService
from bot.challenges.flow import ChallengeFlow, FlowOutbox
from bot.i18n import Lang, t
from bot.markup import stamp
from bot.scoreboard import Scoreboard
from bot.teams import TeamService
from cogs._common import InstructorsOnly, acting_team, challenge_choices, locale, team_choices


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminCog(
    InstructorsOnly,
    commands.GroupCog,
    group_name="admin",
    group_description=locale("run the class (instructors)", "cmd.admin.description"),
):
    def __init__(
        self,
        *,
        flow: ChallengeFlow,
        teams: TeamService,
        outbox: FlowOutbox,
        boards: BoardService,
        scoreboard: Scoreboard,
        lang: Lang,
        instructor_role: int,
    ) -> None:
        self.flow = flow
        self.boards = boards
        self.scoreboard = scoreboard
        self.teams = teams
        self.outbox = outbox
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    @app_commands.command(
        name="extend",
        description=locale("give a team more time", "cmd.admin.extend.description"),
    )
    async def extend(
        self, interaction: discord.Interaction, team: str, minutes: app_commands.Range[int, 1, 180]
    ) -> None:
        acting = await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)
        run = await self.flow.extend(acting.name, minutes)
        await interaction.response.send_message(
            t(
                "cog.extended",
                self.lang,
                team=markup.escape(acting.name),
                minutes=minutes,
                deadline=stamp(run.deadline),
            ),
            ephemeral=True,
        )

    @app_commands.command(
        name="reveal-hint",
        description=locale("post a team's next hint now", "cmd.admin.reveal_hint.description"),
    )
    async def reveal_hint(self, interaction: discord.Interaction, team: str, scenario: str | None = None) -> None:
        acting = await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)
        posted = await self.flow.hint(acting.name, scenario, revealed_by=interaction.user.display_name)
        await interaction.response.send_message(
            t(
                "cog.hint_revealed",
                self.lang,
                team=markup.escape(acting.name),
                scenario=posted.hint.scenario_id,
                level=posted.hint.level + 1,
            ),
            ephemeral=True,
        )

    @app_commands.command(
        name="reveal-diagnosis",
        description=locale(
            "show a challenge's diagnoses now (to one team, or to every team running it)",
            "cmd.admin.reveal_diagnosis.description",
        ),
    )
    async def reveal_diagnosis(self, interaction: discord.Interaction, challenge: int, team: str | None = None) -> None:
        if team is not None:
            team = (await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)).name
        # Every team of a class at once is two writes per team: more than Discord waits for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        revealed = await self.flow.reveal_diagnosis(challenge, team, by=interaction.user.display_name)
        if revealed:
            answer = t(
                "cog.diagnosis_revealed",
                self.lang,
                challenge=challenge,
                count=len(revealed),
                teams=", ".join(markup.escape(r.name) for r in revealed),
            )
        else:
            answer = t("cog.diagnosis_unchanged", self.lang, challenge=challenge)
        await interaction.followup.send(answer, ephemeral=True)

    @app_commands.command(
        name="board",
        description=locale(
            "post a challenge's board in the instructors' channel, kept current", "cmd.admin.board.description"
        ),
    )
    async def board(self, interaction: discord.Interaction, challenge: int) -> None:
        board = await self.boards.post(challenge, by=interaction.user.display_name)
        await interaction.response.send_message(
            t("cog.board_posted", self.lang, challenge=board.challenge_id, channel=f"<#{board.channel_id}>"),
            ephemeral=True,
        )

    @app_commands.command(
        name="freeze",
        description=locale(
            "freeze what the public scoreboard shows at a moment (instructors still see it live)",
            "cmd.admin.freeze.description",
        ),
    )
    @app_commands.describe(
        at=locale("the moment: HH:MM (the class's time zone) or 2026-12-04T10:30; now if empty", "cmd.option.freeze_at")
    )
    async def freeze(
        self, interaction: discord.Interaction, challenge: int, at: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        frozen = await self.scoreboard.freeze(challenge, at, by=interaction.user.display_name)
        await interaction.response.send_message(
            t("cog.frozen", self.lang, challenge=challenge, at=stamp(frozen.at, "f")), ephemeral=True
        )

    @app_commands.command(
        name="unfreeze",
        description=locale("lift a scoreboard's freeze: everything up to now shows", "cmd.admin.unfreeze.description"),
    )
    @app_commands.describe(challenge=locale("the challenge (all if empty)", "cmd.option.challenge_unfreeze"))
    async def unfreeze(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        lifted = await self.scoreboard.unfreeze(challenge)
        answer = (
            t("cog.unfrozen", self.lang, challenges=", ".join(str(c) for c in lifted))
            if lifted
            else t("cog.unfrozen_none", self.lang)
        )
        await interaction.response.send_message(answer, ephemeral=True)

    @reveal_diagnosis.autocomplete("challenge")
    @board.autocomplete("challenge")
    @freeze.autocomplete("challenge")
    @unfreeze.autocomplete("challenge")
    async def _challenges(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        return challenge_choices(self.flow.catalog, current, self.lang)

    @app_commands.command(
        name="announce",
        description=locale("post a message to every team's channel", "cmd.admin.announce.description"),
    )
    async def announce(
        self, interaction: discord.Interaction, message: app_commands.Range[str, 1, 1800], team: str | None = None
    ) -> None:
        targets = (
            [await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)]
            if team
            else await self.teams.all()
        )
        sent = 0
        for target in targets:
            if target.discord_channel_id is None:
                continue
            await self.outbox.enqueue(
                dedupe_key=f"announce:{interaction.id}:{target.name}",
                channel_id=target.discord_channel_id,
                payload={"content": f"📢 {message}", "allowed_mentions": {"parse": []}},
            )
            sent += 1
        await interaction.response.send_message(t("cog.announced", self.lang, count=sent), ephemeral=True)

    @app_commands.command(
        name="drill",
        description=locale("start an incident drill for a team, unannounced", "cmd.admin.drill.description"),
    )
    async def drill(self, interaction: discord.Interaction, team: str, challenge: int) -> None:
        acting = await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)
        # A start clears the namespace and applies the broken state: longer than Discord waits for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.flow.drill(acting.name, challenge)
        answer = t(
            "cog.drill_started",
            self.lang,
            team=markup.escape(acting.name),
            challenge=challenge,
            title=report.challenge.spec.title.get(self.lang),
            deadline=stamp(report.run.deadline),
        )
        await interaction.followup.send(answer, ephemeral=True)

    @drill.autocomplete("challenge")
    async def _drills(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        catalog = self.flow.catalog
        return [c for c in challenge_choices(catalog, current, self.lang) if catalog.get(c.value).is_drill]

    @extend.autocomplete("team")
    @drill.autocomplete("team")
    @reveal_hint.autocomplete("team")
    @reveal_diagnosis.autocomplete("team")
    @announce.autocomplete("team")
    async def _teams(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await team_choices(self.teams, current)
