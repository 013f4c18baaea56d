"""The evidence modal: one paragraph input where the team pastes a command's output for a rubric item.

The bot judges the paste with the item's parser and answers only the person who pasted it: what the table
showed, and what is missing when it does not pass.
"""

from __future__ import annotations

import discord

from bot import markup
from bot.evidence import PARSERS
from bot.evidence_submissions import EvidenceItem, EvidenceService
from bot.i18n import Lang, Message, t
from bot.limits import TEXT_INPUT_MAX
from bot.store import Team
from cogs.challenge._modal import ReportingModal


class EvidenceModal(ReportingModal):
    def __init__(self, *, team: Team, item: EvidenceItem, evidence: EvidenceService, any_run: bool, lang: Lang) -> None:
        criterion = item.criterion
        super().__init__(title=t("cog.evidence_title", lang, item=criterion.id)[:45], lang=lang)
        self._team = team
        self._item = item
        self._evidence = evidence
        self._any_run = any_run
        command = PARSERS[item.spec.parser].command
        self._output: discord.ui.TextInput[EvidenceModal] = discord.ui.TextInput(
            custom_id="output",
            label=criterion.title.get(lang)[:45],
            placeholder=t("cog.evidence_placeholder", lang, command=command)[:100],
            style=discord.TextStyle.paragraph,
            required=True,
            max_length=TEXT_INPUT_MAX,
        )
        self.add_item(self._output)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        criterion = self._item.criterion
        pasted = await self._evidence.paste(
            self._team,
            f"{self._item.challenge.id}/{criterion.id}",
            self._output.value,
            by=str(interaction.user.id),
            any_run=self._any_run,
        )
        verdict = pasted.verdict
        found = verdict.message.to_json()
        if pasted.evidence is not None:
            params = {"title": criterion.title.model_dump(), "found": found, "points": criterion.points}
            said = Message("cog.evidence_passed", {**params, "evidence": pasted.evidence.id})
            lines = [markup.message(said, self._lang)]
        else:
            said = Message("cog.evidence_failed", {"title": criterion.title.model_dump(), "found": found})
            lines = [markup.message(said, self._lang)]
            lines += [
                markup.message(Message("cog.evidence_unmet", {"unmet": m.to_json()}), self._lang) for m in verdict.unmet
            ]
            lines.append(t("cog.evidence_not_kept", self._lang))
        await interaction.response.send_message(
            "\n".join(lines)[:2000], ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
