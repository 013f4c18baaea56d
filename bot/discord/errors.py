"""One handler for every application command error: a specific ephemeral answer, never a stack trace.

Known errors say what to do next. Anything else is logged with a short id that the user is told to
quote, so an instructor can find the trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from bot.challenges.flow import NoHintYet, TeamNotLinked
from bot.challenges.runs import ChallengeUnavailable
from bot.errors import (
    ClusterError,
    KubecampError,
    NamespaceNotManaged,
    NoActiveRun,
    RunConflict,
    StoreUnavailable,
    UnknownChallenge,
    UnknownScenario,
    UnknownTeam,
)
from bot.i18n import Lang, Message, render
from bot.incidents.service import IncidentRefused
from bot.store import StoreConflict
from bot.submissions import NoSubmissionForm, SubmissionInvalid
from bot.teams import AmbiguousTeam, TeamInvalid

log = logging.getLogger(__name__)


class NotInstructor(KubecampError, app_commands.CheckFailure):
    """The command or option is for instructors. A CheckFailure too: raised from a cog's
    interaction_check, only AppCommandErrors reach the tree's error handler."""


class NotInTeam(KubecampError):
    """The member has no team role."""


def explain(error: BaseException) -> Message | None:
    """The message for a known error; None for an unexpected one."""
    match error:
        case NotInstructor():
            return Message("err.not_instructor")
        case NotInTeam():
            return Message("err.not_in_team")
        case UnknownTeam(team=team):
            return Message("err.unknown_team", {"team": team})
        case UnknownChallenge(challenge_id=cid, known=known):
            return Message("err.unknown_challenge", {"challenge": cid, "known": ", ".join(map(str, known))})
        case UnknownScenario(scenario_id=scenario):
            return Message("err.unknown_scenario", {"scenario": scenario})
        case ChallengeUnavailable(message=message) | NoHintYet(message=message) | IncidentRefused(message=message):
            return message
        case TeamNotLinked(team=team):
            return Message("err.team_not_linked", {"team": team})
        case AmbiguousTeam(teams=teams):
            return Message("err.ambiguous_team", {"teams": ", ".join(teams)})
        case NoActiveRun(team=team):
            return Message("err.no_active_run", {"team": team})
        case RunConflict(reason=reason) | StoreConflict(reason=Message() as reason):
            return Message("err.conflict", {"detail": reason.to_json()})
        case StoreConflict():
            return Message("err.conflict", {"detail": Message("conflict.stored").to_json()})
        case SubmissionInvalid(label=label, problem=problem):
            return Message("err.submission_invalid", {"field": label.model_dump(), "problem": problem.to_json()})
        case NoSubmissionForm(challenge_id=challenge_id):
            return Message("err.no_submission_form", {"challenge": challenge_id})
        case TeamInvalid(reason=reason):
            return Message("err.invalid", {"detail": reason.to_json()})
        case NamespaceNotManaged(namespace=namespace):
            return Message("err.namespace_not_managed", {"namespace": namespace})
        case ClusterError(reason=reason):
            return Message("err.cluster", {"detail": reason.to_json()})
        case StoreUnavailable():
            return Message("err.store")
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
        await reply(interaction, render(message, lang))
    except discord.HTTPException:
        log.warning("could not tell the user about %s", type(error).__name__, exc_info=True)


def make_handler(lang: Lang) -> ErrorHandler:
    async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error.original if isinstance(error, app_commands.CommandInvokeError) else error, lang)

    return on_app_command_error
