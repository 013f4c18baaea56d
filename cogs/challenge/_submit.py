"""The submission form of the course (004): GitHub repository, monitoring, automation, advanced, insight.

Discord modals hold five inputs, so the team and the completion time are filled in by the bot and
shown in the echo instead of being typed.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from bot.discord.errors import report
from bot.i18n import Lang, t
from bot.store import Team
from bot.submissions import SubmissionForm, SubmissionService


class SubmitModal(discord.ui.Modal):
    def __init__(
        self, *, team: Team, challenge_id: int, completion_time: str, submissions: SubmissionService, lang: Lang
    ) -> None:
        super().__init__(title=t("cog.submit_title", lang, challenge=challenge_id)[:45], timeout=900)
        self._team = team
        self._challenge_id = challenge_id
        self._completion_time = completion_time
        self._submissions = submissions
        self._lang = lang
        self.github: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=t("cog.submit_github", lang),
            placeholder="https://github.com/<team>/w3d5-streaming-ops-platform",
            max_length=200,
        )
        self.monitoring: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=t("cog.submit_monitoring", lang), style=discord.TextStyle.paragraph, max_length=1000
        )
        self.automation: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=t("cog.submit_automation", lang), style=discord.TextStyle.paragraph, max_length=1000
        )
        self.advanced: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=t("cog.submit_advanced", lang), style=discord.TextStyle.paragraph, max_length=1000
        )
        self.insight: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
            label=t("cog.submit_insight", lang), style=discord.TextStyle.paragraph, max_length=1000
        )
        for item in (self.github, self.monitoring, self.automation, self.advanced, self.insight):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        form = SubmissionForm(
            github_url=self.github.value,
            completion_time=self._completion_time,
            monitoring=self.monitoring.value,
            automation=self.automation.value,
            advanced=self.advanced.value,
            insight=self.insight.value,
        )
        submission, replaced = await self._submissions.submit(
            self._team, self._challenge_id, form, by=str(interaction.user)
        )
        lines = [
            t("cog.submit_echo_title", self._lang, challenge=self._challenge_id),
            t("cog.submit_echo_team", self._lang, team=self._team.name),
            f"**GitHub**: {submission.github_url}",
            t("cog.submit_echo_time", self._lang, time=submission.completion_time),
            t("cog.submit_echo_monitoring", self._lang, text=submission.monitoring),
            t("cog.submit_echo_automation", self._lang, text=submission.automation),
            t("cog.submit_echo_advanced", self._lang, text=submission.advanced),
            t("cog.submit_echo_insight", self._lang, text=submission.insight),
        ]
        if replaced:
            lines.append(t("cog.submit_replaced", self._lang, count=replaced))
        await interaction.response.send_message(
            "\n".join(lines)[:2000], allowed_mentions=discord.AllowedMentions.none()
        )

    # Modal.on_error takes no item at run time; discord.py's typing inherits BaseView's signature.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        # Discord has closed the form; the user opens a new one, so this one is finished too.
        self.stop()
        await report(interaction, error, self._lang)


def completion_time(finished_at: datetime | None, now: datetime, timezone: str) -> str:
    """The course's 완료 시간 (HH:MM): when the run finished, else now, in the class's time zone."""
    return (finished_at or now).astimezone(ZoneInfo(timezone)).strftime("%H:%M")
