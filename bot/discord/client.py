"""The discord.py client: intents, cogs, the command tree, its translator and error handler, the gate
every interaction passes first.

Intents: only `guilds` (channels, threads and roles in the cache). Members come with each
interaction (with their roles), so the privileged members intent is not needed, and message content
is never read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
import discord
from discord.ext import commands

from bot.awards import AwardService
from bot.challenges.board import BoardService
from bot.challenges.catalog import Catalog
from bot.challenges.flow import ChallengeFlow, FlowOutbox
from bot.challenges.progress import ProgressReader
from bot.discord.errors import make_handler
from bot.discord.gate import InteractionGate
from bot.discord.translator import CatalogueTranslator
from bot.errors import ConfigInvalid
from bot.evidence_submissions import EvidenceService
from bot.i18n import Lang
from bot.incidents.service import IncidentService
from bot.metrics import Metrics
from bot.scoreboard import Scoreboard
from bot.submissions import SubmissionService
from bot.teams import TeamService
from bot.ticks import TickService

log = logging.getLogger(__name__)

COGS = (
    "cogs.challenge",
    "cogs.scoreboard",
    "cogs.teams",
    "cogs.admin",
    "cogs.incidents",
    "cogs.submissions",
    "cogs.grading",
)


@dataclass(frozen=True)
class Services:
    """What the cogs may call: each cog takes the few it needs, by keyword, in its setup()."""

    flow: ChallengeFlow
    teams: TeamService
    awards: AwardService
    evidence: EvidenceService
    ticks: TickService
    progress: ProgressReader
    scoreboard: Scoreboard
    submissions: SubmissionService
    catalog: Catalog
    outbox: FlowOutbox  # the durable outbox: announcements go through it
    incidents: IncidentService
    lang: Lang
    instructor_role: int
    boards: BoardService  # the instructors' boards (/admin board)


#: Seconds discord.py waits after the last GUILD_CREATE before it is ready (2 by default, most of the bot's
#: start-up). A class's bot is in one or a few guilds, sent right after READY; one later than this is still
#: taken in when it arrives, it is only not waited for.
GUILD_READY_TIMEOUT = 0.5


class KubecampBot(commands.Bot):
    def __init__(
        self, *, services: Services, guild_ids: list[int], global_sync: bool = False, metrics: Metrics | None = None
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=_counting_requests(metrics or Metrics()),
            guild_ready_timeout=GUILD_READY_TIMEOUT,
        )
        self.services = services
        self._guild_ids = guild_ids
        self._global_sync = global_sync
        InteractionGate(guild_ids=guild_ids, lang=services.lang).guard(self)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CatalogueTranslator())
        self.tree.on_error = make_handler(self.services.lang)  # type: ignore[method-assign]
        for extension in COGS:
            await self.load_extension(extension)
        for guild_id in self._guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except (discord.Forbidden, discord.NotFound) as exc:
                # A bot not invited there, or invited without the applications.commands scope, or a wrong
                # id: its commands would be registered nowhere, and the class would see a bot that is silent.
                raise ConfigInvalid(
                    f"KUBECAMP_DISCORD_GUILD_IDS: the slash commands cannot be registered in guild {guild_id}"
                    f" (Discord answered {exc.status} {exc.text}): invite the bot to that server with the scopes"
                    " bot and applications.commands (helm's install notes print the URL), or correct the id"
                ) from None
            log.info("synced %d commands to guild %s", len(synced), guild_id)
        if self._global_sync:
            await self.tree.sync()

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d guilds", self.user, len(self.guilds))


_REST_SCHEMES = frozenset({"http", "https"})


def _counting_requests(metrics: Metrics) -> aiohttp.TraceConfig:
    """Count every REST request discord.py makes by outcome, each retry after a 429 included (its
    HTTP client retries on its own, so its session is the one place that sees them all)."""

    async def ended(_session: object, _context: object, params: aiohttp.TraceRequestEndParams) -> None:
        if params.url.scheme not in _REST_SCHEMES:  # the gateway's websocket
            return
        status = params.response.status
        if status == 429:
            outcome = "429"
        elif status >= 500:
            outcome = "5xx"
        elif status >= 400:
            outcome = "4xx"
        else:
            outcome = "ok"
        metrics.discord_requests.labels(outcome).inc()

    async def failed(_session: object, _context: object, params: aiohttp.TraceRequestExceptionParams) -> None:
        if params.url.scheme in _REST_SCHEMES:
            metrics.discord_requests.labels("error").inc()

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace
