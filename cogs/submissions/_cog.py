"""/submissions list|export — instructors only: what the teams handed in, on each challenge's form."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.challenges.catalog import Catalog
from bot.challenges.submission_form import SubmissionFieldSpec
from bot.i18n import Lang, t
from bot.limits import EMBED_FIELD_NAME_MAX, truncate
from bot.markup import stamp
from bot.submissions import SubmissionPage, SubmissionService, shown
from cogs._common import InstructorsOnly, challenge_choices, locale

#: Discord's embed limits: a field's value holds 1024 characters; an answer is cut well before so
#: that a page of five submissions stays under the embed's 6000.
_VALUE_MAX = 900
_ANSWER_MAX = 200


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SubmissionsCog(
    InstructorsOnly,
    commands.GroupCog,
    group_name="submissions",
    group_description=locale("the teams' submissions (instructors)", "cmd.submissions.description"),
):
    def __init__(self, *, submissions: SubmissionService, catalog: Catalog, lang: Lang, instructor_role: int) -> None:
        self.submissions = submissions
        self.catalog = catalog
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    @app_commands.command(
        name="list",
        description=locale("the submissions, newest first", "cmd.submissions.list.description"),
    )
    @app_commands.describe(
        challenge=locale("the challenge (all if empty)", "cmd.option.challenge_all"),
        page=locale("the page", "cmd.option.page"),
    )
    async def list_(
        self, interaction: discord.Interaction, challenge: int | None = None, page: app_commands.Range[int, 1] = 1
    ) -> None:
        listed = await self.submissions.page(challenge, page)
        await interaction.response.send_message(embed=self._embed(listed, challenge), ephemeral=True)

    def _embed(self, listed: SubmissionPage, challenge: int | None) -> discord.Embed:
        title = (
            t("cog.submissions.title", self.lang, challenge=challenge)
            if challenge is not None
            else t("cog.submissions.title_all", self.lang)
        )
        embed = discord.Embed(title=title)
        if not listed.entries:
            embed.description = t("cog.submissions.empty", self.lang)
            return embed
        for submission, team in listed.entries:
            lines = [
                t(
                    "cog.submissions.submitted",
                    self.lang,
                    when=stamp(submission.submitted_at, "f"),
                    by=markup.escape(submission.submitted_by) if submission.submitted_by else "-",
                )
            ]
            fields = self._fields(submission.challenge_id)
            for field_id, answer in submission.answers.items():
                field = fields.get(field_id)
                text = shown(truncate(answer, _ANSWER_MAX), field) if answer else "-"
                label = field.label.get(self.lang) if field else field_id
                lines.append(t("cog.submit_echo_field", self.lang, label=label, text=text))
            entry = t(
                "cog.submissions.entry",
                self.lang,
                id=submission.id,
                challenge=submission.challenge_id,
                team=markup.escape(team.name),
            )
            embed.add_field(
                name=truncate(entry, EMBED_FIELD_NAME_MAX),
                value=truncate("\n".join(lines), _VALUE_MAX),
                inline=False,
            )
        embed.set_footer(
            text=t("cog.submissions.footer", self.lang, page=listed.page, pages=listed.pages, total=listed.total)
        )
        return embed

    def _fields(self, challenge_id: int) -> dict[str, SubmissionFieldSpec]:
        """The fields of the challenge's form by id; none for a challenge gone from the catalogue."""
        challenge = self.catalog.challenges.get(challenge_id)
        form = challenge.spec.submission if challenge else None
        return {f.id: f for f in form.fields} if form else {}

    @app_commands.command(
        name="export",
        description=locale("the submissions as CSV (a column per form field)", "cmd.submissions.export.description"),
    )
    @app_commands.describe(challenge=locale("the challenge (all if empty)", "cmd.option.challenge_all"))
    async def export(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        data = await self.submissions.csv(challenge)
        name = f"submissions-{challenge if challenge is not None else 'all'}.csv"
        await interaction.response.send_message(file=discord.File(io.BytesIO(data), filename=name), ephemeral=True)

    @list_.autocomplete("challenge")
    @export.autocomplete("challenge")
    async def _challenges(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        return challenge_choices(self.catalog, current, self.lang)
