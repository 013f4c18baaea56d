"""The buttons on an incident's starter message, as persistent dynamic items.

The outbox posts the buttons as plain component JSON (`bot.incidents.render.buttons`); their custom
ids carry the incident id and the action, so a click is understood whenever it comes, after any
number of restarts, without a view being kept in memory. The client sends the custom id, so it counts
only on the message that starts that incident's thread.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.discord.errors import report
from bot.discord.permissions import is_instructor
from bot.i18n import Lang, t
from bot.incidents.render import CUSTOM_ID
from bot.incidents.service import IncidentService, Member
from cogs._common import require_instructor

_HOURS = {"silence1h": 1, "silence4h": 4}


def incident_buttons(
    *, incidents: IncidentService, lang: Lang, instructor_role: int
) -> type[discord.ui.DynamicItem[Any]]:
    """The dynamic item class for the incident buttons, bound to the service it calls."""

    class IncidentButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID):
        def __init__(self, custom_id: str, incident_id: int, action: str) -> None:
            super().__init__(discord.ui.Button(custom_id=custom_id))
            self.incident_id = incident_id
            self.action = action

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
        ) -> IncidentButton:
            return cls(match.string, int(match["id"]), match["action"])

        async def callback(self, interaction: discord.Interaction) -> None:
            try:
                text = await self._act(interaction)
            except Exception as error:  # every failure gets the same answer as a command's
                await report(interaction, error, lang)
                return
            await interaction.response.send_message(text, ephemeral=True)

        async def _act(self, interaction: discord.Interaction) -> str:
            message = interaction.message  # always there for a button
            await incidents.check_message(self.incident_id, message.id if message is not None else None)
            who = interaction.user.display_name
            if self.action == "ack":
                member = Member(
                    name=who,
                    role_ids=frozenset(role.id for role in getattr(interaction.user, "roles", [])),
                    instructor=is_instructor(interaction.user, instructor_role),
                )
                await incidents.acknowledge(self.incident_id, by=member)
                return t("cog.incident_acknowledged", lang, id=self.incident_id)
            require_instructor(interaction, instructor_role)
            if self.action == "unsilence":
                await incidents.unsilence(self.incident_id, by=who)
                return t("cog.incident_unsilenced", lang, id=self.incident_id)
            hours = _HOURS[self.action]
            incident = await incidents.silence(self.incident_id, hours=hours, by=who)
            return t("cog.incident_silenced", lang, id=self.incident_id, hours=hours, silence=incident.silence_id)

    return IncidentButton
