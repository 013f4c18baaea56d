"""Two processes writing to one database at once (two `Store`s, two engines: a bot and a CLI, or a warm standby
beside its leader): their read-then-write transactions are serialised by the database itself, not only by one
process's write lock. On SQLite by ``BEGIN IMMEDIATE`` (the incident path's synchronous twin included), on
PostgreSQL by the advisory write lock (bot.store.db.WRITE_LOCK_KEY)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.store import Store, current_revision, head_revision, upgrade
from bot.store.models import AlertStatus
from bot.store.notifications import AlertRecord, NotificationRecord

from .conftest import T0

pytestmark = pytest.mark.every_database

#: Rounds of each race: one round can happen to run one writer after the other.
ROUNDS = 12


@pytest.fixture
async def other(store: Store, db_url: str) -> AsyncIterator[Store]:
    """A second process's store on the same database."""
    async with await Store.open(db_url) as opened:
        yield opened


def _notification(group: int) -> NotificationRecord:
    alert = AlertRecord(
        fingerprint=f"f{group}",
        status=AlertStatus.firing,
        starts_at=T0,
        ends_at=None,
        labels={"alertname": "KubePodCrashLooping", "pod": f"web-{group}"},
        annotations={"summary": "crash looping"},
    )
    return NotificationRecord(
        group_key=f'{{}}:{{alertname="KubePodCrashLooping", group="{group}"}}',
        status=AlertStatus.firing,
        receiver="kubecamp-bot",
        alerts=[alert],
    )


async def test_two_processes_recording_a_new_group_open_one_incident(store: Store, other: Store) -> None:
    """Each reads "no open incident of the group" and would open one: the second must wait for the first and find
    its incident, not fail on the unique index (a 503 to Alertmanager) or open a second one."""
    for group in range(ROUNDS):
        first, second = await asyncio.gather(
            store.incidents.record(_notification(group), at=T0),
            other.incidents.record(_notification(group), at=T0),
        )
        assert first.incident is not None and second.incident is not None
        assert first.incident.id == second.incident.id
        assert sorted([first.created, second.created]) == [False, True]
        assert sorted([first.changed, second.changed]) == [False, True]
    assert len(await store.incidents.recent(limit=100)) == ROUNDS


async def test_two_processes_acknowledge_an_incident_once(store: Store, other: Store) -> None:
    """Each reads "not acknowledged yet", then writes its acknowledgement: without a lock across processes both
    would be told they acknowledged it, and the later one would overwrite the earlier."""
    for group in range(ROUNDS):
        recorded = await store.incidents.record(_notification(group), at=T0)
        assert recorded.incident is not None
        incident_id = recorded.incident.id
        (alice, alice_first), (bob, bob_first) = await asyncio.gather(
            store.incidents.acknowledge(incident_id, by="alice", at=T0),
            other.incidents.acknowledge(incident_id, by="bob", at=T0),
        )
        assert sorted([alice_first, bob_first]) == [False, True]
        kept = await store.incidents.get(incident_id)
        assert kept is not None
        assert kept.acknowledged_by == ("alice" if alice_first else "bob")
        assert kept.version == 2  # opened, then acknowledged once
        assert alice.acknowledged_by == bob.acknowledged_by == kept.acknowledged_by


async def test_two_processes_migrating_at_once_both_find_the_schema_at_head(db_url: str) -> None:
    """Two bot pods starting together both migrate: the second waits for the first's transaction and then finds
    nothing left to do, instead of creating the tables a second time and failing."""
    async with asyncio.timeout(60):  # a bound on waiting for the other's DDL
        await asyncio.gather(upgrade(db_url), upgrade(db_url))
    assert await current_revision(db_url) == head_revision()
    async with await Store.open(db_url) as store:
        assert await store.teams.all() == []
