"""Fixtures of the incident tests: the outbox on FakeDiscord (the outbox tests' own), team blue, whose
namespace the captured Alertmanager bodies are in, `make_bench`: the publisher and the service on them, and a real
Alertmanager (`alertmanager`) with the bot's client on it (`client`) for silences. For the cluster context:
challenge scenarios applied to the emulated cluster, and `context`, what `cluster_context` makes of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.challenges.catalog import Catalog, load_catalog
from bot.cluster import Cluster
from bot.incidents.enrich import cluster_context
from bot.incidents.fit import ClusterContext
from bot.incidents.publisher import IncidentPublisher
from bot.incidents.service import IncidentService, Silencer
from bot.incidents.silences import Alertmanager
from bot.limits import text_size
from bot.outbox import Outbox
from bot.store import Store, Team
from bot.store.incidents import IncidentStore
from bot.store.models import Incident
from tests.emulators.kube import KubeCluster
from tests.outbox.conftest import FakeDiscord, Posted, discord, make_outbox, outbox  # noqa: F401  (fixtures, registered by import)
from tests.peers.fixtures import StartAlertmanager
from tests.peers.processes import AlertmanagerProcess, WebhookReceiver

#: The channel of team blue.
TEAM_CHANNEL = 2001
#: The channel of the incidents of no team.
ALERTS_CHANNEL = 3001
#: Seconds a test waits for the outbox to deliver everything.
DRAIN = 10.0


@pytest.fixture
async def blue(store: Store) -> Team:
    return await store.teams.create("Blue Whales", "kubecamp-blue", role_id=1001, channel_id=TEAM_CHANNEL)


@pytest.fixture
async def alertmanager(start_alertmanager: StartAlertmanager, webhook_receiver: WebhookReceiver) -> AlertmanagerProcess:
    """A real Alertmanager 0.25 on loopback (tests/peers), notifying a webhook receiver."""
    return await start_alertmanager(webhook_receiver)


@pytest.fixture
async def client(alertmanager: AlertmanagerProcess) -> AsyncIterator[Alertmanager]:
    """The bot's Alertmanager client on `alertmanager`."""
    am = Alertmanager(base_url=alertmanager.url)
    try:
        yield am
    finally:
        await am.close()


def real_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Bench:
    incidents: IncidentStore
    outbox: Outbox
    discord: FakeDiscord
    publisher: IncidentPublisher
    service: IncidentService

    async def drain(self) -> None:
        assert await self.outbox.drain(DRAIN), "the outbox did not drain"

    async def publish(self) -> None:
        """Publish what is due and deliver it."""
        await self.publisher.publish_due()
        await self.drain()

    async def incident(self, incident_id: int = 1) -> Incident:
        incident = await self.incidents.get(incident_id)
        assert incident is not None
        return incident

    async def thread(self, incident_id: int = 1) -> int:
        thread = await self.publisher.thread_id(incident_id)
        assert thread is not None, f"incident #{incident_id} has no thread"
        return thread

    async def said(self, incident_id: int = 1) -> list[str]:
        """What was said in the incident's thread (after the outbox delivered it)."""
        await self.drain()
        return self.discord.contents(await self.thread(incident_id))

    def starter(self, thread: int) -> Posted:
        [posted] = [m for m in self.discord.messages if m.thread_id == thread]
        return posted

    def edits(self, posted: Posted) -> list[dict[str, Any]]:
        return [p for c, m, p in self.discord.edits if (c, m) == (posted.channel_id, posted.message_id)]

    def shown(self, posted: Posted) -> dict[str, Any]:
        """The starter message as Discord shows it now: the original with its edits applied."""
        current = dict(posted.payload)
        for edit in self.edits(posted):
            current.update(edit)
        return current


MakeBench = Callable[..., Bench]


@pytest.fixture
async def make_bench(store: Store, outbox: Outbox, discord: FakeDiscord) -> AsyncIterator[MakeBench]:  # noqa: F811
    """Benches on the test's store and outbox; every publisher is closed after the test. The publisher offers
    the silence buttons when the service has a `silencer` (or as `silences` says)."""
    publishers: list[IncidentPublisher] = []

    def build(
        silencer: Silencer | None = None,
        *,
        clock: Callable[[], datetime] = real_clock,
        alerts_channel: int | None = ALERTS_CHANNEL,
        incidents: IncidentStore | None = None,
        **options: Any,
    ) -> Bench:
        incidents = incidents or store.incidents
        options.setdefault("edit_interval", 0.0)
        options.setdefault("silences", silencer is not None)
        publisher = IncidentPublisher(incidents=incidents, outbox=outbox, lang="en", clock=clock, **options)
        publishers.append(publisher)
        service = IncidentService(
            incidents=incidents,
            teams=store.teams,
            publisher=publisher,
            silencer=silencer,
            lang="en",
            clock=clock,
            alerts_channel=alerts_channel,
        )
        return Bench(incidents, outbox, discord, publisher, service)

    yield build
    for publisher in publishers:
        await publisher.aclose()


# --- the cluster context ----------------------------------------------------------------------

CATALOG: Catalog = load_catalog(Path(__file__).parents[2] / "scenarios")
#: Team blue's namespace, where the scenarios are applied.
NAMESPACE = "kubecamp-blue"


async def apply_scenario(cluster: Cluster, challenge: int, scenario: str) -> None:
    for manifest in CATALOG.get(challenge).scenario(scenario).manifests:
        await cluster.apply(NAMESPACE, manifest.body)


@pytest.fixture
async def image_pull(cluster: Cluster, kube_cluster: KubeCluster) -> list[str]:
    """Challenge 2's frontend with a misspelt image, three minutes on; the names of its Pods."""
    kube_cluster.freeze_time()  # three minutes to the second, however slow the machine: AGE reads "3m"
    await apply_scenario(cluster, 2, "image-pull")
    kube_cluster.advance(180)
    pods = [p["metadata"]["name"] for p in kube_cluster.pods_of(NAMESPACE, "frontend")]
    assert len(pods) == 3
    return pods


def now(kube_cluster: KubeCluster) -> datetime:
    return kube_cluster.emulator.clock.now()


async def context(cluster: Cluster, kube_cluster: KubeCluster, **labels: str) -> ClusterContext:
    """The context of an alert with these labels in team blue's namespace, within the default size, fence-free."""
    found = await cluster_context(cluster, {"namespace": NAMESPACE, **labels}, now=now(kube_cluster))
    assert found is not None
    assert text_size(found.text) <= 1500
    assert "```" not in found.text
    return found
