"""What the bot refuses before anything looks at it: an interaction from a guild that is not the class's
(or from a direct message), and a button press naming a custom id its message does not carry.

With the commands synced globally, every server the bot is in offers them, and its owner passes
Discord's `default_permissions`. A button's custom id is sent by the client: a modified one can name any
action on any incident. discord.py routes an interaction three ways — commands and autocomplete to the
command tree, buttons and selects to the view store, modal submissions to the modal store — and the
tree's `interaction_check` sees only the first; the view store drops a custom id the message lacks
without a word. So the gate stands where all three begin, the gateway's INTERACTION_CREATE event, and
answers what it refuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterator
from typing import Any

import discord
from discord.state import ConnectionState

from bot.i18n import Lang, Message, render

log = logging.getLogger(__name__)

FOREIGN_GUILD = Message("err.foreign_guild")
NOT_ON_MESSAGE = Message("err.component_not_on_message")

_MESSAGE_COMPONENT = 3


class InteractionGate:
    """Lets through the interactions of the configured guilds whose buttons are their message's; answers
    every other one with why (autocomplete, which cannot show a message, with no choices) and drops it."""

    def __init__(self, *, guild_ids: Collection[int], lang: Lang) -> None:
        self._guild_ids = frozenset(guild_ids)
        self._lang = lang
        self._answering: set[asyncio.Task[None]] = set()

    def refusal(self, data: Any) -> Message | None:
        """Why the INTERACTION_CREATE payload `data` is refused; None to let it through."""
        guild_id = data.get("guild_id")
        if guild_id is None or int(guild_id) not in self._guild_ids:
            return FOREIGN_GUILD
        if data.get("type") == _MESSAGE_COMPONENT:
            custom_id = (data.get("data") or {}).get("custom_id")
            if custom_id not in set(_custom_ids((data.get("message") or {}).get("components") or [])):
                return NOT_ON_MESSAGE
        return None

    def guard(self, client: discord.Client) -> None:
        """Put the gate in front of the client's handling of INTERACTION_CREATE."""
        state = client._connection  # private, but the one place every kind of interaction passes
        route = state.parsers["INTERACTION_CREATE"]
        state.parsers["INTERACTION_CREATE"] = self._gated(route, state)

    def _gated(self, route: Callable[[Any], None], state: ConnectionState[Any]) -> Callable[[Any], None]:
        def parse(data: Any) -> None:
            refusal = self.refusal(data)
            if refusal is None:
                route(data)
                return
            interaction: discord.Interaction = discord.Interaction(data=data, state=state)
            log.warning(
                "refused an interaction (%s) from guild %s, user %s",
                refusal.key,
                data.get("guild_id") or "none (a direct message)",
                interaction.user.id,
            )
            task = asyncio.get_running_loop().create_task(self._refuse(interaction, refusal), name="refuse")
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

        return parse

    async def _refuse(self, interaction: discord.Interaction, refusal: Message) -> None:
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])
            else:
                await interaction.response.send_message(render(refusal, self._lang), ephemeral=True)
        except discord.HTTPException:
            log.warning("could not answer a refused interaction", exc_info=True)


def _custom_ids(component: Any) -> Iterator[str]:
    """Every custom id in a message's components, however deeply they nest (rows, sections, containers)."""
    if isinstance(component, dict):
        if isinstance(component.get("custom_id"), str):
            yield component["custom_id"]
        for value in component.values():
            if isinstance(value, list | dict):
                yield from _custom_ids(value)
    elif isinstance(component, list):
        for item in component:
            yield from _custom_ids(item)
