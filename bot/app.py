"""The composition root: builds every part from the settings and runs them on one asyncio loop.

Nothing else constructs services. `build()` wires them (each dependency passed by keyword), `App`
starts them in order — store, cluster, outbox, incident publisher, pruner, scheduler, readiness checks, the
probe and webhook listeners, Discord — and stops them in reverse, and `run()` does both around SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.awards import AwardService
from bot.challenges.announcements import Announcements
from bot.challenges.board import WATCH_SECONDS as BOARD_WATCH_SECONDS
from bot.challenges.board import BoardService
from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.drill_watch import DrillWatch
from bot.challenges.flow import ChallengeFlow
from bot.challenges.progress import ProgressReader
from bot.challenges.runs import RunService, utcnow
from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.config import Settings
from bot.discord import endpoints
from bot.discord.client import KubecampBot, Services
from bot.discord.transport import DiscordTransport
from bot.errors import ConfigInvalid
from bot.evidence_submissions import EvidenceService
from bot.incidents import enrich
from bot.incidents.publisher import IncidentPublisher
from bot.incidents.service import IncidentService
from bot.incidents.silences import Alertmanager
from bot.leader import LeaderElector, LeaseSettings
from bot.live import ChangeFeed
from bot.metrics import Metrics
from bot.outbox import Outbox, OutboxStore
from bot.readiness import INTERVAL, Check, DataVolume, Readiness
from bot.repository_review import Fetching, RepositoryReview
from bot.retention import Pruner
from bot.scheduler import Scheduler
from bot.scoreboard import Scoreboard
from bot.store import Store, sqlite_file, upgrade
from bot.store.incidents import IncidentStore
from bot.submissions import SubmissionService
from bot.team_access import AccessSetup, TeamAccess
from bot.teams import TeamService
from bot.ticks import TickService
from bot.web import (
    IDLE_TIMEOUT,
    PROBE_MAX_CONNECTIONS,
    WEBHOOK_MAX_CONNECTIONS,
    Webhook,
    WebhookAuth,
    WebServer,
    make_probe_app,
    make_webhook_app,
)
from bot.web.scoreboard import SCOREBOARD_MAX_CONNECTIONS, PageAccess, ScoreboardStream, make_scoreboard_app

log = logging.getLogger(__name__)

#: Seconds between two looks of the leader's incident publisher at the store, under leader election: the
#: follower's webhook writes incidents the leader must publish, and no wake-up crosses between the pods.
FOLLOWED_POLL_SECONDS = 2.0


@dataclass(repr=False)  # it would spell the whole catalogue out (400 kB); asyncio's task reprs ask for it
class App:
    settings: Settings
    catalog: Catalog
    store: Store
    cluster: Cluster
    #: Which cluster each team works on: the shared `cluster`, or its own.
    clusters: ClusterRegistry
    outbox: Outbox
    scheduler: Scheduler
    flow: ChallengeFlow
    publisher: IncidentPublisher
    alertmanager: Alertmanager | None
    bot: KubecampBot
    #: The webhook's listener.
    web: WebServer
    #: The listener of /healthz, /readyz and /metrics.
    probes: WebServer
    #: The projector page's listener, and the one reader of the store behind its live pages.
    scoreboard_web: WebServer
    scoreboard_stream: ScoreboardStream
    readiness: Readiness
    metrics: Metrics
    pruner: Pruner
    #: The instructors' boards, kept current.
    boards: BoardService
    #: With leader election (KUBECAMP_LEADER_ELECTION), who leads; None: this replica alone, always leading.
    elector: LeaderElector | None = None
    _gateway: asyncio.Task[None] | None = field(default=None, init=False)
    _taking_over: asyncio.Task[None] | None = field(default=None, init=False)

    async def start(self) -> None:
        token = self.settings.discord.token
        if token is None:
            raise ConfigInvalid(
                "KUBECAMP_DISCORD_TOKEN is not set (expected the bot token from the Discord developer portal)"
            )
        secret = token.get_secret_value()
        if self.elector is None:
            await self._lead()
            await self._serve()
            await self._connect(secret)
            return
        # A follower serves the webhook, the probes and the page; what only one replica may do waits for the Lease.
        await self._serve()
        self.elector.start()
        self._taking_over = asyncio.create_task(self._take_over(self.elector, secret), name="taking over")

    async def _take_over(self, elector: LeaderElector, token: str) -> None:
        await elector.leading.wait()
        log.info("leading: resuming the jobs and the unsent messages from the store")
        await self._lead()
        await self._connect(token)

    async def _lead(self) -> None:
        """What one replica alone does: send, publish, prune, keep the boards, run the jobs (resumed from the store)."""
        self.outbox.start()
        self.publisher.start()
        self.pruner.start()
        self.boards.start()
        planned = await self.scheduler.start(on_due=self.flow.on_due)
        log.info("scheduler: %d jobs for the active runs", planned)

    async def _serve(self) -> None:
        await self.readiness.start()
        await self.probes.start()
        await self.web.start()
        await self.scoreboard_stream.start()
        await self.scoreboard_web.start()

    async def _connect(self, token: str) -> None:
        await self.bot.login(token)
        self._gateway = asyncio.create_task(self.bot.connect(reconnect=True), name="discord gateway")

    async def wait_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def stop(self) -> None:
        """Stop in reverse order; each part is stopped even if an earlier one fails to."""
        if self._taking_over is not None:
            self._taking_over.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._taking_over
        with contextlib.suppress(Exception):
            await self.bot.close()
        if self._gateway is not None:
            self._gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._gateway
        self.scheduler.shutdown()  # no new jobs; the running ones finish before the store closes
        await self.flow.wait_idle(timeout=10)
        await self.scoreboard_stream.aclose()  # ends the open pages' streams, so the listener stops at once
        await self.scoreboard_web.stop()
        await self.web.stop()
        await self.probes.stop()
        await self.readiness.aclose()
        await self.pruner.aclose()
        await self.boards.aclose()
        await self.publisher.aclose()
        if self.alertmanager is not None:
            await self.alertmanager.close()
        await self.outbox.aclose()
        if self.elector is not None:  # given up once nothing here sends any more: the follower may start at once
            await self.elector.aclose()
        await self.clusters.close()
        await self.cluster.close()
        await self.store.close()


async def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    readiness_interval: float = INTERVAL,
    board_watch_interval: float = BOARD_WATCH_SECONDS,
    catalog: Catalog | None = None,
) -> App:
    """Every part, wired. `readiness_interval`: seconds between two rounds of the readiness checks;
    `board_watch_interval`: between two looks of the instructors' boards at the class. `catalog`: the scenarios of
    `settings.catalog.scenarios_dir` already loaded (the App only reads them), else loaded here."""
    instructor_role = settings.discord.check_complete()
    endpoints.point_at(api_base=settings.discord.api_base, gateway_url=settings.discord.gateway_url)
    if catalog is None:
        catalog = load_catalog(settings.catalog.scenarios_dir)
    metrics = Metrics()
    metrics.know_challenges(challenge.id for challenge in catalog)
    await upgrade(settings.store.url)
    store = await Store.open(settings.store.url)
    cluster = await Cluster.connect(
        kubeconfig=settings.kube.config,
        context=settings.kube.context,
        request_timeout=settings.kube.timeout_seconds,
        setup=settings.kube.namespace_setup,
        metrics=metrics,
    )
    clusters = ClusterRegistry(
        shared=cluster,
        namespace=settings.kube.bot_namespace,
        request_timeout=settings.kube.timeout_seconds,
        metrics=metrics,
        setup=settings.kube.namespace_setup,
    )
    lang = settings.catalog.language
    changes = ChangeFeed()  # what the live scoreboard listens to
    transport = DiscordTransport()
    outbox_store = OutboxStore(store.db)
    outbox = Outbox(store=outbox_store, transport=transport, clock=clock)
    runs = RunService(
        catalog=catalog,
        store=store,
        cluster=cluster,
        clusters=clusters,
        clock=clock,
        metrics=metrics,
        announcements=Announcements(
            outbox=outbox, catalog=catalog, lang=lang, channel_id=settings.discord.announcements_channel
        ),
        changes=changes,
    )
    scheduler = Scheduler(catalog=catalog, store=store, clock=clock)
    flow = ChallengeFlow(
        runs=runs,
        store=store,
        catalog=catalog,
        outbox=outbox,
        scheduler=scheduler,
        lang=lang,
        clock=clock,
        cooldown_seconds=settings.catalog.verify_cooldown_seconds,
    )
    access = TeamAccess(cluster=cluster, setup=AccessSetup.of(settings.kube), namespaces=settings.kube.namespace_setup)
    teams = TeamService(store=store, namespace_prefix=settings.kube.namespace_prefix, access=access, clusters=clusters)
    lease = settings.lease()
    elector = None
    if lease is not None:
        namespace, name, identity = lease
        elector = LeaderElector(
            cluster=cluster,
            lease=LeaseSettings(
                namespace=namespace, name=name, identity=identity, duration_seconds=settings.leader.lease_seconds
            ),
        )
    incidents, publisher, alertmanager, incident_store = _incidents(
        settings,
        store=store,
        clusters=clusters,
        outbox=outbox,
        clock=clock,
        metrics=metrics,
        drills=DrillWatch(catalog=catalog, store=store, lang=lang),
        # The follower's webhook writes what the leader publishes: the leader looks at the store often.
        poll_interval=FOLLOWED_POLL_SECONDS if elector is not None else None,
    )
    boards = BoardService(
        store=store,
        catalog=catalog,
        outbox=outbox,
        lang=lang,
        channel_id=settings.discord.instructors_channel,
        stuck_after=timedelta(minutes=settings.discord.board_stuck_minutes),
        clock=clock,
        watch_interval=board_watch_interval,
    )
    scoreboard = Scoreboard(
        store=store, catalog=catalog, clock=clock, changes=changes, timezone=settings.catalog.timezone
    )
    metrics.refresh_with(_store_gauges(store=store, incidents=incident_store, outbox=outbox, catalog=catalog))
    services = Services(
        flow=flow,
        teams=teams,
        awards=AwardService(store=store, catalog=catalog, clock=clock, changes=changes),
        evidence=EvidenceService(store=store, catalog=catalog, clock=clock, changes=changes),
        ticks=TickService(store=store, catalog=catalog, clock=clock, changes=changes),
        progress=ProgressReader(store=store, catalog=catalog),
        scoreboard=scoreboard,
        submissions=SubmissionService(
            store=store,
            catalog=catalog,
            clock=clock,
            timezone=settings.catalog.timezone,
            metrics=metrics,
            review=RepositoryReview(
                store=store, catalog=catalog, outbox=outbox, fetching=Fetching.of(settings.repository), lang=lang
            ),
        ),
        catalog=catalog,
        outbox=outbox,
        incidents=incidents,
        lang=lang,
        instructor_role=instructor_role,
        boards=boards,
    )
    bot = KubecampBot(
        services=services,
        guild_ids=settings.discord.guild_ids,
        global_sync=settings.discord.global_sync,
        metrics=metrics,
    )
    transport.bind(bot)

    def discord_ready() -> None:
        if elector is not None and not elector.leading.is_set():
            return  # a follower stays off the gateway
        if not bot.is_ready() or bot.is_closed():
            raise ConnectionError("Discord gateway not connected")

    hook = settings.webhook
    auth = WebhookAuth(
        token=hook.token.get_secret_value() if hook.token else None,
        username=hook.username,
        password=hook.password.get_secret_value() if hook.password else None,
    )
    if not auth.configured:
        log.warning(
            "the Alertmanager webhook is off: set KUBECAMP_WEBHOOK_TOKEN (or _USERNAME and _PASSWORD) to turn it on"
        )
    readiness = Readiness(
        checks=_readiness_checks(settings, store=store, cluster=cluster),
        instant={"discord": discord_ready, **({"lease": elector.check_read} if elector is not None else {})},
        interval=readiness_interval,
    )
    idle_timeout = settings.web.idle_timeout_seconds or IDLE_TIMEOUT
    web = WebServer(
        make_webhook_app(
            webhook=Webhook(auth=auth, receive=incidents.receive, max_body_bytes=hook.max_body_bytes), metrics=metrics
        ),
        host=settings.web.host,
        port=settings.web.port,
        max_connections=WEBHOOK_MAX_CONNECTIONS,
        name="webhook",
        idle_timeout=idle_timeout,
    )
    probes = WebServer(
        make_probe_app(readiness=readiness, metrics=metrics, leadership=_leadership(elector)),
        host=settings.web.host,
        port=settings.web.probe_port,
        max_connections=PROBE_MAX_CONNECTIONS,
        name="probes",
        idle_timeout=idle_timeout,
    )
    page = settings.scoreboard
    stream = ScoreboardStream(scoreboard=scoreboard, catalog=catalog, changes=changes)
    return App(
        settings=settings,
        catalog=catalog,
        store=store,
        cluster=cluster,
        clusters=clusters,
        outbox=outbox,
        scheduler=scheduler,
        flow=flow,
        publisher=publisher,
        alertmanager=alertmanager,
        bot=bot,
        web=web,
        probes=probes,
        scoreboard_web=WebServer(
            make_scoreboard_app(
                stream=stream,
                catalog=catalog,
                lang=lang,
                access=PageAccess(
                    token=page.token.get_secret_value() if page.token else None,
                    instructor_token=page.instructor_token.get_secret_value() if page.instructor_token else None,
                ),
            ),
            host=settings.web.host,
            port=settings.web.scoreboard_port,
            max_connections=SCOREBOARD_MAX_CONNECTIONS,
            name="scoreboard",
        ),
        scoreboard_stream=stream,
        readiness=readiness,
        metrics=metrics,
        pruner=Pruner(
            store=store, outbox=outbox_store, days=settings.store.retention_days, clock=clock, metrics=metrics
        ),
        boards=boards,
        elector=elector,
    )


def _leadership(elector: LeaderElector | None) -> Callable[[], dict[str, object]] | None:
    """What /readyz says of the election: this replica, whether it leads, who does."""
    if elector is None:
        return None
    return lambda: {"identity": elector.identity, "leading": elector.leading.is_set(), "holder": elector.holder}


def _readiness_checks(settings: Settings, *, store: Store, cluster: Cluster) -> dict[str, Check]:
    """The background checks: the store answers a read, its volume (a SQLite file's) has room and takes a write,
    the Kubernetes API answers."""
    checks: dict[str, Check] = {"store": store.reachable}
    database = sqlite_file(settings.store.url)
    if database is not None:
        volume = DataVolume(database.parent, min_free_bytes=settings.store.data_min_free_mib * 1024**2)
        checks["data volume"] = volume.check
    checks["kubernetes"] = cluster.ping
    return checks


def _incidents(
    settings: Settings,
    *,
    store: Store,
    clusters: ClusterRegistry,
    outbox: Outbox,
    clock: Callable[[], datetime],
    metrics: Metrics,
    drills: DrillWatch,
    poll_interval: float | None,
) -> tuple[IncidentService, IncidentPublisher, Alertmanager | None, IncidentStore]:
    am = settings.alertmanager
    alertmanager = Alertmanager(base_url=am.url, timeout=am.timeout_seconds) if am.url else None
    incident_store = store.incidents

    async def read_cluster(labels: Mapping[str, str]) -> str | None:
        # A team's namespace is read on the team's cluster; any other on the shared one.
        team = next((t for t in await store.teams.all() if t.namespace == labels.get("namespace")), None)
        cluster = await clusters.for_team(team.name) if team is not None else clusters.shared
        context = await enrich.cluster_context(cluster, labels, now=clock())
        return context.text if context is not None else None

    publisher = IncidentPublisher(
        incidents=incident_store,
        outbox=outbox,
        lang=settings.catalog.language,
        clock=clock,
        silences=alertmanager is not None,
        cluster_context=read_cluster,
        drills=drills,
        edit_interval=am.edit_interval,
        **({"poll_interval": poll_interval} if poll_interval is not None else {}),
    )
    service = IncidentService(
        incidents=incident_store,
        teams=store.teams,
        publisher=publisher,
        silencer=alertmanager,
        lang=settings.catalog.language,
        clock=clock,
        alerts_channel=settings.discord.alerts_channel,
        metrics=metrics,
        team_only=drills,
    )
    return service, publisher, alertmanager, incident_store


def _store_gauges(
    *, store: Store, incidents: IncidentStore, outbox: Outbox, catalog: Catalog
) -> Callable[[Metrics], Awaitable[None]]:
    """Reads what the gauges of the store show: active runs, open incidents, the outbox."""

    async def refresh(metrics: Metrics) -> None:
        active = collections.Counter(run.challenge_id for run in await store.runs.all_active())
        for challenge in {*active, *(c.id for c in catalog)}:
            metrics.runs_active.labels(str(challenge)).set(active.get(challenge, 0))
        metrics.incidents_open.set(await incidents.count_open())
        pending, oldest = await outbox.backlog()
        metrics.outbox_pending.set(pending)
        metrics.outbox_oldest_age.set(oldest.total_seconds() if oldest is not None else 0)

    return refresh


async def run(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly."""
    app = await build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        waits = [asyncio.create_task(stop.wait())]
        if app.elector is not None:  # a leader that lost the Lease stops: it comes back as a follower
            waits.append(asyncio.create_task(app.elector.lost.wait()))
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()
        log.info("stopping")
    finally:
        await app.stop()
