"""/scoreboard show|export|chart — the ranking, a CSV for instructors, a chart of solved points."""

from __future__ import annotations

import io
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot import markup
from bot.challenges.catalog import Catalog
from bot.challenges.render_rubric import item_line, progress_summary
from bot.i18n import Lang, t
from bot.limits import EMBED_FIELD_VALUE_MAX, EMBED_FIELDS_MAX, fit_lines
from bot.markup import clock
from bot.scoreboard import Row, Scoreboard
from cogs._common import challenge_choices, locale, require_instructor

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def ranking_embed(rows: list[Row], title: str, lang: Lang) -> discord.Embed:
    lines = []
    for row in rows[:50]:
        elapsed = clock_seconds(row.elapsed_seconds)
        lines.append(
            t(
                "cog.scoreboard_row",
                lang,
                rank=MEDALS.get(row.rank, f"{row.rank}.") if row.placed else f"{row.rank}.",
                team=markup.escape(row.team),
                points=row.points,
                elapsed=elapsed,
                hints=row.hints_used,
            )
        )
    return discord.Embed(title=title, description="\n".join(lines) or t("cog.scoreboard_empty", lang), color=0xF1C40F)


def clock_seconds(seconds: int | None) -> str:
    return "-" if seconds is None else clock(timedelta(seconds=seconds))


class ScoreboardCog(
    commands.GroupCog,
    group_name="scoreboard",
    group_description=locale("the class ranking", "cmd.scoreboard.description"),
):
    def __init__(self, *, scoreboard: Scoreboard, catalog: Catalog, lang: Lang, instructor_role: int) -> None:
        self.scoreboard = scoreboard
        self.catalog = catalog
        self.lang = lang
        self.instructor_role = instructor_role
        super().__init__()

    def _title(self, challenge: int | None) -> str:
        if challenge is None:
            return t("cog.scoreboard_title_all", self.lang)
        return t(
            "cog.scoreboard_title",
            self.lang,
            challenge=challenge,
            title=self.catalog.get(challenge).spec.title.get(self.lang),
        )

    @app_commands.command(
        name="show",
        description=locale("the ranking: points, then solves, then time", "cmd.scoreboard.show.description"),
    )
    @app_commands.describe(challenge=locale("the challenge (all if empty)", "cmd.option.challenge_all"))
    async def show(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        rows, frozen = await self.scoreboard.shown(challenge)
        embed = ranking_embed(rows, self._title(challenge), self.lang)
        if frozen is not None:
            # A footer shows no Discord timestamp: the class's clock time.
            embed.set_footer(text=t("cog.scoreboard_frozen", self.lang, at=self.scoreboard.clock_time(frozen)))
        await interaction.response.send_message(embed=embed)

    @app_commands.command(
        name="export",
        description=locale("the ranking as CSV (instructors)", "cmd.scoreboard.export.description"),
    )
    @app_commands.describe(challenge=locale("the challenge (all if empty)", "cmd.option.challenge_all"))
    async def export(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        require_instructor(interaction, self.instructor_role)
        data = await self.scoreboard.csv(challenge)
        name = f"scoreboard-{challenge if challenge is not None else 'all'}.csv"
        await interaction.response.send_message(file=discord.File(io.BytesIO(data), filename=name), ephemeral=True)

    @app_commands.command(
        name="chart",
        description=locale("solved points over time, per team", "cmd.scoreboard.chart.description"),
    )
    @app_commands.describe(challenge=locale("the challenge (all if empty)", "cmd.option.challenge_all"))
    async def chart(self, interaction: discord.Interaction, challenge: int | None = None) -> None:
        await interaction.response.defer(thinking=True)
        # The title without its emoji: the chart's fonts have Hangul, not emoji.
        title = self._title(challenge).removeprefix("🏆").strip()
        png = await self.scoreboard.chart(challenge, title=title, lang=self.lang)
        await interaction.followup.send(file=discord.File(io.BytesIO(png), filename="scoreboard.png"))

    @app_commands.command(
        name="rubric",
        description=locale(
            "each team's standing on a build's rubric or a lab's checkpoints (instructors)",
            "cmd.scoreboard.rubric.description",
        ),
    )
    @app_commands.describe(challenge=locale("the build", "cmd.option.build"))
    async def rubric(self, interaction: discord.Interaction, challenge: int) -> None:
        require_instructor(interaction, self.instructor_role)
        build = self.catalog.get(challenge)
        teams = await self.scoreboard.rubric(challenge)
        embed = discord.Embed(title=self._title(challenge), color=0xF1C40F)
        if not teams:
            embed.description = t("cog.scoreboard_empty", self.lang)
        for standing in teams[:EMBED_FIELDS_MAX]:
            lines = [progress_summary(build, standing.progress, self.lang)]
            lines += [item_line(item, self.lang) for item in standing.progress.items]
            embed.add_field(
                name=markup.escape(standing.team.name), value=fit_lines(lines, EMBED_FIELD_VALUE_MAX), inline=False
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @show.autocomplete("challenge")
    @export.autocomplete("challenge")
    @chart.autocomplete("challenge")
    @rubric.autocomplete("challenge")
    async def _challenges(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        return challenge_choices(self.catalog, current, self.lang)
