"""/challenge start|verify|status|progress|hint|submit|evidence|stop — thin: parse, call ChallengeFlow, answer."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.challenges import render, render_rubric
from bot.challenges.catalog import Catalog
from bot.challenges.flow import ChallengeFlow
from bot.challenges.progress import ProgressReader
from bot.discord.permissions import is_instructor
from bot.evidence_submissions import EvidenceService
from bot.i18n import Lang, t
from bot.markup import stamp
from bot.store import Team
from bot.submissions import SubmissionService
from bot.teams import TeamService
from cogs._common import acting_team, challenge_choices, locale
from cogs.challenge._evidence import EvidenceModal
from cogs.challenge._submit import SubmitModal

TEAM_OPTION = locale("team (instructors: act for this team)", "cmd.option.team")


class ChallengeCog(
    commands.GroupCog,
    group_name="challenge",
    group_description=locale("Kubernetes break-fix challenges", "cmd.challenge.description"),
):
    def __init__(
        self,
        *,
        flow: ChallengeFlow,
        teams: TeamService,
        submissions: SubmissionService,
        evidence: EvidenceService,
        progress: ProgressReader,
        catalog: Catalog,
        lang: Lang,
        instructor_role: int,
    ) -> None:
        self.flow = flow
        self.progress_reader = progress
        self.teams = teams
        self.submissions = submissions
        self.evidence = evidence
        self.catalog = catalog
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    async def _team(self, interaction: discord.Interaction, team: str | None) -> Team:
        return await acting_team(interaction, team, teams=self.teams, instructor_role=self.instructor_role)

    @app_commands.command(
        name="start",
        description=locale("deploy the broken cluster and start the clock", "cmd.challenge.start.description"),
    )
    @app_commands.describe(challenge=locale("the challenge", "cmd.option.challenge"), team=TEAM_OPTION)
    async def start(self, interaction: discord.Interaction, challenge: int, team: str | None = None) -> None:
        acting = await self._team(interaction, team)
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.flow.start(acting.name, challenge)
        await interaction.followup.send(
            t(
                "cog.started",
                self.lang,
                challenge=report.challenge.id,
                team=markup.escape(acting.name),
                channel=f"<#{acting.discord_channel_id}>",
                deadline=stamp(report.run.deadline),
            ),
            ephemeral=True,
        )

    @start.autocomplete("challenge")
    async def _challenges(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        # A drill is an instructor's (/admin drill), unannounced: the teams are not offered one.
        choices = challenge_choices(self.catalog, current, self.lang)
        return [c for c in choices if not self.catalog.get(c.value).is_drill]

    @app_commands.command(
        name="verify",
        description=locale("check your fixes against the cluster now", "cmd.challenge.verify.description"),
    )
    @app_commands.describe(scenario=locale("the scenario (default: all)", "cmd.option.scenario_all"), team=TEAM_OPTION)
    async def verify(
        self, interaction: discord.Interaction, scenario: str | None = None, team: str | None = None
    ) -> None:
        acting = await self._team(interaction, team)
        await interaction.response.defer(ephemeral=True, thinking=True)
        instructor = is_instructor(interaction.user, self.instructor_role)
        report = await self.flow.verify(acting.name, scenario_id=scenario, cooldown=not instructor)
        challenge = self.catalog.get(report.run.challenge_id)
        await interaction.followup.send(render.verify_summary(report, challenge, self.lang), ephemeral=True)

    @app_commands.command(
        name="status",
        description=locale("elapsed, remaining and each scenario's state", "cmd.challenge.status.description"),
    )
    @app_commands.describe(team=TEAM_OPTION)
    async def status(self, interaction: discord.Interaction, team: str | None = None) -> None:
        acting = await self._team(interaction, team)
        report = await self.flow.runs.status(acting.name)
        payload = render.status(report, self.lang)
        await interaction.response.send_message(
            embeds=[discord.Embed.from_dict(e) for e in payload["embeds"]], ephemeral=True
        )

    @app_commands.command(
        name="progress",
        description=locale(
            "a build's rubric or a lab's checkpoints: each met or not, the points so far",
            "cmd.challenge.progress.description",
        ),
    )
    @app_commands.describe(
        challenge=locale("the build or lab (default: the one running, else the latest)", "cmd.option.build_progress"),
        team=TEAM_OPTION,
    )
    async def progress(
        self, interaction: discord.Interaction, challenge: int | None = None, team: str | None = None
    ) -> None:
        acting = await self._team(interaction, team)
        standing = await self.progress_reader.of_team(acting, challenge)
        payload = render_rubric.progress_embed(standing, self.lang)
        await interaction.response.send_message(embed=discord.Embed.from_dict(payload), ephemeral=True)

    @app_commands.command(
        name="hint",
        description=locale("post the next hint that is due", "cmd.challenge.hint.description"),
    )
    @app_commands.describe(scenario=locale("the scenario", "cmd.option.scenario"))
    async def hint(self, interaction: discord.Interaction, scenario: str | None = None) -> None:
        acting = await self._team(interaction, None)
        posted = await self.flow.hint(acting.name, scenario, requested_by=interaction.user.display_name)
        await interaction.response.send_message(
            t(
                "cog.hint_posted",
                self.lang,
                scenario=posted.hint.scenario_id,
                level=posted.hint.level + 1,
                thread=f"<#{posted.run.thread_id}>" if posted.run.thread_id else "-",
            ),
            ephemeral=True,
        )

    @hint.autocomplete("scenario")
    @verify.autocomplete("scenario")
    async def _scenarios(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            team = interaction.namespace.team if isinstance(interaction.namespace.team, str) else None
            acting = await self._team(interaction, team)
            run = await self.flow.runs.active_run(acting)
        except Exception:  # autocomplete must answer; the command itself reports the problem
            return []
        scenarios = self.catalog.get(run.challenge_id).checked
        return [
            app_commands.Choice(name=f"{s.id} · {s.title.get(self.lang)}"[:100], value=s.id)
            for s in scenarios
            if current.lower() in s.id
        ][:25]

    @app_commands.command(
        name="submit",
        description=locale("submit your team's work (course format)", "cmd.challenge.submit.description"),
    )
    @app_commands.describe(challenge=locale("the challenge", "cmd.option.challenge"))
    async def submit(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        acting = await self._team(interaction, None)
        form = await self.submissions.form(acting, challenge)
        await interaction.response.send_modal(
            SubmitModal(team=acting, form=form, submissions=self.submissions, lang=self.lang)
        )

    @submit.autocomplete("challenge")
    async def _submit_challenges(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return challenge_choices(self.catalog, current, self.lang)

    @app_commands.command(
        name="evidence",
        description=locale("paste a command's output that proves a rubric item", "cmd.challenge.evidence.description"),
    )
    @app_commands.describe(
        item=locale("the item proven by a command's output (e.g. swarm-scaled)", "cmd.option.evidence_item"),
        team=TEAM_OPTION,
    )
    async def paste_evidence(self, interaction: discord.Interaction, item: str, team: str | None = None) -> None:
        acting = await self._team(interaction, team)
        # An instructor naming a team may paste for a run that is over; a team, while its run is under way.
        any_run = team is not None
        found = await self.evidence.open(acting, item, any_run=any_run)
        await interaction.response.send_modal(
            EvidenceModal(team=acting, item=found, evidence=self.evidence, any_run=any_run, lang=self.lang)
        )

    @paste_evidence.autocomplete("item")
    async def _evidence_items(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        items = [
            (f"{c.id}/{r.id}", f"{c.id}/{r.id} · {r.title.get(self.lang)}")
            for c in self.catalog
            for r in c.rubric
            if r.spec.proof == "evidence"
        ]
        return [
            app_commands.Choice(name=label[:100], value=value)
            for value, label in items
            if current.lower() in label.lower()
        ][:25]

    @app_commands.command(
        name="stop",
        description=locale("give up (team) or stop and reset a run (instructor)", "cmd.challenge.stop.description"),
    )
    @app_commands.describe(team=TEAM_OPTION)
    async def stop(self, interaction: discord.Interaction, team: str | None = None) -> None:
        acting = await self._team(interaction, team)
        await interaction.response.defer(ephemeral=True, thinking=True)
        stopped = await self.flow.stop(acting.name)
        challenge = stopped.run.challenge_id
        if stopped.namespace_gone:
            said = t(
                "cog.stopped_namespace_gone",
                self.lang,
                team=markup.escape(acting.name),
                challenge=challenge,
                namespace=stopped.namespace,
            )
        else:
            by = "instructor" if is_instructor(interaction.user, self.instructor_role) else "team"
            said = t(f"cog.stopped_by_{by}", self.lang, team=markup.escape(acting.name), challenge=challenge)
        await interaction.followup.send(said, ephemeral=True)
