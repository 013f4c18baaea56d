"""A drill run's score: the fix's tier and the acknowledgement's, from the incidents the store recorded for the
team during the drill (Alertmanager's body as it sent it), with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.challenges.drill_watch import DrillWatch
from bot.challenges.reports import Trigger
from bot.incidents.payload import parse
from bot.store import Store
from tests.challenges.test_runs import T0, World, fix, make_world
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG

PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"
ALERT = (PAYLOADS / "firing_one.json").read_bytes()


@pytest.fixture
async def world(kube_cluster: KubeCluster, store: Store) -> AsyncIterator[World]:
    async for w in make_world(kube_cluster, store):
        yield w


async def alert(world: World, minutes: float, body: bytes = ALERT) -> int:
    """Alertmanager's notification for the team's namespace reaches the bot `minutes` after the start."""
    recorded = await world.store.incidents.record(
        parse(body).record(), at=T0 + timedelta(minutes=minutes), alerts_channel=None
    )
    assert recorded.incident is not None
    return recorded.incident.id


async def acknowledge(world: World, incident_id: int, minutes: float) -> None:
    await world.store.incidents.acknowledge(incident_id, by="Blue Student 1", at=T0 + timedelta(minutes=minutes))


async def test_a_drill_fixed_in_time_adds_its_acknowledgement(world: World) -> None:
    report = await world.service.start("blue", 91)
    assert [str(r) for r in report.applied] == ["Deployment/frontend", "Service/frontend"]
    incident = await alert(world, 2)
    await acknowledge(world, incident, 2.5)  # 30 s after the alert: the first tier
    await fix(world, CATALOG.get(91), "image-pull")
    world.clock.at(7)  # the fix's second tier (within 10 min: 80 %)
    verified = await world.service.verify("blue", trigger=Trigger.MANUAL)
    assert verified.ended is not None and verified.ended.status == "finished"
    assert (verified.ended.tier_percent, verified.ended.points) == (80, 20 + 10)
    assert verified.ended.notes is not None
    assert verified.ended.notes["drill"] == {
        "incident": incident,
        "alerted_at": (T0 + timedelta(minutes=2)).isoformat(),
        "acknowledged_at": (T0 + timedelta(minutes=2.5)).isoformat(),
        "acknowledged_by": "Blue Student 1",
        "acknowledge_seconds": 30,
        "acknowledge_points": 10,
    }


async def test_an_unfixed_drill_expires_with_its_acknowledgement(world: World) -> None:
    await world.service.start("blue", 91)
    incident = await alert(world, 1)
    await acknowledge(world, incident, 3.5)  # 2.5 min after the alert: the second tier
    world.clock.at(20)
    final = await world.service.verify("blue", trigger=Trigger.FINAL)
    assert final.ended is not None and final.ended.status == "expired"
    assert final.ended.points == 0 + 5
    assert final.ended.notes is not None and final.ended.notes["drill"]["acknowledge_points"] == 5


async def test_only_the_drills_alert_during_the_drill_counts(world: World) -> None:
    early = await alert(world, -5)  # before the drill: the team's namespace had fired already
    await acknowledge(world, early, -4)
    await world.service.start("blue", 91)
    other = ALERT.replace(b"KubecampImagePullFailing", b"KubecampPodCrashLooping")
    unrelated = await alert(world, 1, other)
    await acknowledge(world, unrelated, 1.2)
    await fix(world, CATALOG.get(91), "image-pull")
    world.clock.at(4)
    verified = await world.service.verify("blue")
    assert verified.ended is not None and verified.ended.points == 25  # the fix's 100 %, no acknowledgement
    assert verified.ended.notes is not None and verified.ended.notes["drill"]["incident"] is None


async def test_an_acknowledgement_after_the_end_is_late(world: World) -> None:
    await world.service.start("blue", 91)
    incident = await alert(world, 2)
    await fix(world, CATALOG.get(91), "image-pull")
    world.clock.at(3)
    verified = await world.service.verify("blue")
    await acknowledge(world, incident, 3.5)
    assert verified.ended is not None and verified.ended.points == 25
    assert verified.ended.notes is not None
    assert verified.ended.notes["drill"]["acknowledged_at"] is None
    assert verified.ended.notes["drill"]["incident"] == incident


async def test_the_watch_knows_the_drills_first_incident_and_whose_acknowledgement_it_is(world: World) -> None:
    watch = DrillWatch(catalog=CATALOG, store=world.store, lang="en")
    report = await world.service.start("blue", 91)
    crash = await world.store.incidents.get(
        await alert(world, 1, ALERT.replace(b"KubecampImagePullFailing", b"KubecampPodCrashLooping"))
    )
    assert crash is not None  # the team's, during the drill, but not one of its alerts
    assert await watch.hosting(crash) is None and not await watch.team_only(crash)

    first = await world.store.incidents.get(await alert(world, 2))
    assert first is not None
    hosted = await watch.hosting(first)
    assert hosted is not None and hosted[0] == report.run.id
    assert str(hosted[1]["content"]).startswith("🚨 This is an incident drill")  # the team has no role to call
    assert await watch.team_only(first)

    await world.service.stop("blue")  # once the drill is over its incident is any incident again
    await world.service.start("blue", 2)
    assert await watch.hosting(first) is None and not await watch.team_only(first)
