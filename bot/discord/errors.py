"""One handler for every application command error: a specific ephemeral answer, never a stack trace.

The project's own errors (`bot.errors.KubecampError`) each carry their message, which says what to do
next. Anything else is logged with a short id that the user is told to quote, so an instructor can find
the trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from bot import markup
from bot.errors import KubecampError
from bot.i18n import Lang, Message

log = logging.getLogger(__name__)


class NotInstructor(KubecampError, app_commands.CheckFailure):
    """The command or option is for instructors. A CheckFailure too: raised from a cog's
    interaction_check, only AppCommandErrors reach the tree's error handler."""

    message = Message("err.not_instructor")


class NotInTeam(KubecampError):
    """The member has no team role."""

    message = Message("err.not_in_team")


def explain(error: BaseException) -> Message | None:
    """The message an error of the project's own carries; None for an unexpected one."""
    match error:
        case KubecampError(message=message):
            return message
        case _:
            return None


async def reply(interaction: discord.Interaction, text: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


ErrorHandler = Callable[[discord.Interaction, app_commands.AppCommandError], Coroutine[Any, Any, None]]


async def report(interaction: discord.Interaction, error: BaseException, lang: Lang) -> None:
    """Answer the user about `error`: what to do for a known one, an id to quote for anything else."""
    message = explain(error)
    if message is None:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else "a component"
        log.error("%s failed [%s]", command, error_id, exc_info=error)
        message = Message("err.unexpected", {"id": error_id})
    try:
        # What the user typed, or the cluster answered, comes back in the message: shown as it is.
        await reply(interaction, markup.message(message, lang))
    except discord.HTTPException:
        log.warning("could not tell the user about %s", type(error).__name__, exc_info=True)


def make_handler(lang: Lang) -> ErrorHandler:
    async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error.original if isinstance(error, app_commands.CommandInvokeError) else error, lang)

    return on_app_command_error
