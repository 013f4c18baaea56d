"""The submission modal: one text input per field the challenge's form has the team type in.

Discord modals hold five inputs; the team (and any `auto` field, such as the completion time) is
filled in by the bot and shown in the echo, in the form's order, as the course's Discord format reads.
"""

from __future__ import annotations

import discord

from bot import markup
from bot.i18n import Lang, t
from bot.store import Team
from bot.submissions import SubmissionForm, SubmissionService, shown
from cogs.challenge._modal import ReportingModal

_STYLES = {"short": discord.TextStyle.short, "paragraph": discord.TextStyle.paragraph}


class SubmitModal(ReportingModal):
    def __init__(self, *, team: Team, form: SubmissionForm, submissions: SubmissionService, lang: Lang) -> None:
        super().__init__(title=t("cog.submit_title", lang, challenge=form.challenge.id)[:45], lang=lang)
        self._team = team
        self._form = form
        self._submissions = submissions
        self._inputs: dict[str, discord.ui.TextInput[SubmitModal]] = {}
        for field in form.spec.inputs:
            text_input: discord.ui.TextInput[SubmitModal] = discord.ui.TextInput(
                custom_id=field.id,
                label=field.label.get(lang),
                placeholder=field.placeholder.get(lang) if field.placeholder else None,
                style=_STYLES[field.style],
                required=field.required,
                max_length=field.max_length,
            )
            self._inputs[field.id] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        challenge_id = self._form.challenge.id
        submission, replaced = await self._submissions.submit(
            self._team,
            challenge_id,
            {field_id: text_input.value for field_id, text_input in self._inputs.items()},
            by=str(interaction.user),
        )
        lines = [
            t("cog.submit_echo_title", self._lang, challenge=challenge_id),
            t("cog.submit_echo_team", self._lang, team=markup.escape(self._team.name)),
        ]
        for field in self._form.spec.fields:
            answer = submission.answers.get(field.id)
            text = shown(answer, field) if answer else "-"
            lines.append(t("cog.submit_echo_field", self._lang, label=field.label.get(self._lang), text=text))
        if replaced:
            lines.append(t("cog.submit_replaced", self._lang, count=replaced))
        answering = await self._submissions.review_channel(self._team, submission)
        if answering is not None:
            lines.append(t("cog.submit_repository_checking", self._lang, channel=f"<#{answering}>"))
        await interaction.response.send_message(
            "\n".join(lines)[:2000], allowed_mentions=discord.AllowedMentions.none()
        )
        # After the answer: the fetch may take up to its time limit, and the submission is kept whatever it finds.
        await self._submissions.review(self._team, submission)
