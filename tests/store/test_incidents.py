"""The incident state machine on a real, migrated SQLite file (`IncidentStore`).

Proved here: a firing notification opens an incident routed to the team whose namespace its alerts share (else to the
alerts channel, else nowhere) and linked to the team's active run; applying a notification is idempotent and only a real
change bumps the version, in three statements for a pod replaced; alerts resolve one by one, or all at once when the
group's resolved notification no longer lists them; a group firing again opens a new incident linked to the last; racing
deliveries open one incident; acknowledgements and silences are guarded; publishing bookkeeping (`to_publish`,
`mark_published`) follows the versions and the edit interval; naive datetimes are refused before anything is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.incidents.payload import parse
from bot.store import InvalidValue, NotFound, Store, StoreConflict, Team
from bot.store.incidents import IncidentStore
from bot.store.models import OPEN_INCIDENT_INDEX, AlertStatus, Incident, IncidentAlert, IncidentStatus
from bot.store.notifications import AlertRecord, NotificationRecord, Recorded
from tests.databases import UNIQUE_VIOLATION

from .conftest import HOUR, T0

pytestmark = pytest.mark.every_database

MINUTE = timedelta(minutes=1)
NAMESPACE = "kc-blue-whales"  # the `team` fixture's namespace
GROUP = '{}:{alertname="KubePodCrashLooping", namespace="kc-blue-whales"}'
ALERTS_CHANNEL = 3001
#: Bodies captured from a real Alertmanager (tests/incidents/payloads/README.md).
PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"
FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved


def alert(
    fingerprint: str,
    status: AlertStatus = FIRING,
    *,
    starts_at: datetime = T0,
    ends_at: datetime | None = None,
    namespace: str | None = NAMESPACE,
    summary: str | None = None,
) -> AlertRecord:
    """An alert of the crash-looping group; a resolved one ends a minute after it started unless told."""
    labels = {"alertname": "KubePodCrashLooping", "pod": f"web-{fingerprint}", "severity": "critical"}
    if namespace is not None:
        labels["namespace"] = namespace
    if status == RESOLVED and ends_at is None:
        ends_at = starts_at + MINUTE
    return AlertRecord(
        fingerprint=fingerprint,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        labels=labels,
        annotations={"summary": summary or f"Pod web-{fingerprint} is crash looping."},
        generator_url="http://prometheus.monitoring.svc:9090/graph",
    )


def notification(
    *alerts: AlertRecord,
    status: AlertStatus | None = None,
    group_key: str = GROUP,
    truncated: int = 0,
    common_annotations: Mapping[str, str] | None = None,
) -> NotificationRecord:
    """A notification of the group; its status is Alertmanager's: firing while any alert of it fires."""
    if status is None:
        status = FIRING if any(a.status == FIRING for a in alerts) else RESOLVED
    namespaces = {a.labels.get("namespace") for a in alerts}
    common = {"alertname": "KubePodCrashLooping", "severity": "critical"}
    if len(namespaces) == 1 and None not in namespaces:
        common["namespace"] = str(namespaces.pop())
    return NotificationRecord(
        group_key=group_key,
        status=status,
        receiver="kubecamp-bot",
        alerts=alerts,
        group_labels={k: v for k, v in common.items() if k != "severity"},
        common_labels=common,
        common_annotations=dict(common_annotations or {}),
        external_url="http://alertmanager.monitoring.svc:9093",
        truncated_alerts=truncated,
    )


@pytest.fixture
def incidents(store: Store) -> IncidentStore:
    return store.incidents


async def opened(incidents: IncidentStore, *alerts: AlertRecord, at: datetime = T0) -> Incident:
    recorded = await incidents.record(notification(*alerts), at=at, alerts_channel=ALERTS_CHANNEL)
    assert recorded.created and recorded.changed and recorded.incident is not None
    return recorded.incident


async def reloaded(incidents: IncidentStore, incident: Incident) -> Incident:
    fresh = await incidents.get(incident.id)
    assert fresh is not None
    return fresh


def statuses(alerts: list[IncidentAlert]) -> dict[str, AlertStatus]:
    return {a.fingerprint: a.status for a in alerts}


async def count_incidents(store: Store) -> int:
    async with store.db.reading() as session:
        return int((await session.exec(sa.select(sa.func.count()).select_from(Incident))).scalar_one())


# -- opening an incident ---------------------------------------------------------------------------------------------


async def test_a_firing_notification_opens_an_incident_in_the_team_channel(
    incidents: IncidentStore, team: Team
) -> None:
    ends_in_four_minutes = T0 + 4 * MINUTE  # what Prometheus sends; a firing alert's endsAt means nothing yet
    first = alert("aa01", starts_at=T0 - MINUTE, ends_at=ends_in_four_minutes)
    recorded = await incidents.record(
        notification(first, alert("aa02"), common_annotations={"runbook_url": "https://runbooks/crashloop"}),
        at=T0,
        alerts_channel=ALERTS_CHANNEL,
    )

    assert isinstance(recorded, Recorded)
    assert (recorded.created, recorded.changed) == (True, True)
    incident = recorded.incident
    assert incident is not None
    assert (incident.status, incident.version, incident.published_version) == (IncidentStatus.firing, 1, 0)
    assert (incident.group_key, incident.receiver, incident.namespace) == (GROUP, "kubecamp-bot", NAMESPACE)
    assert (incident.team_id, incident.channel_id, incident.run_id, incident.previous_id) == (team.id, 2001, None, None)
    assert (incident.opened_at, incident.last_notified_at, incident.resolved_at) == (T0, T0, None)
    assert incident.common_annotations == {"runbook_url": "https://runbooks/crashloop"}
    assert incident.group_labels == {"alertname": "KubePodCrashLooping", "namespace": NAMESPACE}
    assert incident.external_url == "http://alertmanager.monitoring.svc:9093"
    assert await reloaded(incidents, incident) == incident

    stored = await incidents.alerts(incident.id)
    assert [(a.fingerprint, a.status, a.starts_at, a.ends_at, a.announced) for a in stored] == [
        ("aa01", FIRING, T0 - MINUTE, None, None),
        ("aa02", FIRING, T0, None, None),
    ]
    assert stored[0].labels == {
        "alertname": "KubePodCrashLooping",
        "pod": "web-aa01",
        "severity": "critical",
        "namespace": NAMESPACE,
    }
    assert stored[0].annotations == {"summary": "Pod web-aa01 is crash looping."}
    assert stored[0].generator_url == "http://prometheus.monitoring.svc:9090/graph"
    assert stored[0].starts_at.tzinfo is UTC


async def test_an_incident_without_a_team_goes_to_the_alerts_channel(incidents: IncidentStore, team: Team) -> None:
    other_namespace = await opened(incidents, alert("bb01", namespace="kc-nobody"))
    assert (other_namespace.namespace, other_namespace.team_id, other_namespace.channel_id) == (
        "kc-nobody",
        None,
        ALERTS_CHANNEL,
    )

    record = notification(alert("bb02", namespace=None), group_key='{}:{alertname="KubeNodeNotReady"}')
    no_namespace = (await incidents.record(record, at=T0, alerts_channel=ALERTS_CHANNEL)).incident
    assert no_namespace is not None
    assert (no_namespace.namespace, no_namespace.team_id, no_namespace.channel_id) == (None, None, ALERTS_CHANNEL)


async def test_alerts_of_several_namespaces_belong_to_no_team(incidents: IncidentStore, team: Team) -> None:
    mixed = notification(alert("cc01"), alert("cc02", namespace="kc-other"), group_key='{}:{alertname="X"}')
    assert mixed.namespace is None
    incident = (await incidents.record(mixed, at=T0, alerts_channel=ALERTS_CHANNEL)).incident
    assert incident is not None
    assert (incident.namespace, incident.team_id, incident.channel_id) == (None, None, ALERTS_CHANNEL)


async def test_an_incident_with_neither_a_team_nor_an_alerts_channel_has_no_channel(incidents: IncidentStore) -> None:
    recorded = await incidents.record(notification(alert("dd01")), at=T0)
    assert recorded.incident is not None
    assert (recorded.incident.team_id, recorded.incident.channel_id) == (None, None)


async def test_a_team_without_a_channel_leaves_the_incident_to_the_alerts_channel(
    incidents: IncidentStore, store: Store
) -> None:
    quiet = await store.teams.create("Quiet", "kc-quiet", role_id=1002)
    incident = await opened(incidents, alert("ee01", namespace="kc-quiet"))
    assert (incident.team_id, incident.channel_id) == (quiet.id, ALERTS_CHANNEL)


async def test_an_incident_during_a_run_is_linked_to_the_active_run(
    incidents: IncidentStore, store: Store, team: Team
) -> None:
    finished = await store.runs.create(team.id, 1, T0 - 2 * HOUR, T0 - HOUR, ["a"], {})
    await store.runs.finish(finished.id, "stopped", T0 - HOUR, 3600, 0, 0)
    run = await store.runs.create(team.id, 2, T0 - MINUTE, T0 + HOUR, ["a"], {})

    incident = await opened(incidents, alert("ff01"))
    assert incident.run_id == run.id
    assert not incident.run_notified
    assert [i.id for i in await incidents.runs_to_notify()] == [incident.id]
    await incidents.mark_run_notified(incident.id)
    assert (await reloaded(incidents, incident)).run_notified
    assert await incidents.runs_to_notify() == []


async def test_an_incident_outside_a_run_has_no_run(incidents: IncidentStore, store: Store, team: Team) -> None:
    finished = await store.runs.create(team.id, 1, T0 - 2 * HOUR, T0 - HOUR, ["a"], {})
    await store.runs.finish(finished.id, "expired", T0 - HOUR, 3600, 0, 0)
    incident = await opened(incidents, alert("ff02"))
    assert incident.run_id is None
    assert await incidents.runs_to_notify() == []


# -- applying notifications ------------------------------------------------------------------------------------------


async def test_the_same_notification_twice_changes_nothing_the_second_time(
    incidents: IncidentStore, team: Team
) -> None:
    record = notification(alert("a1"), alert("a2"), alert("a3"))
    first = await incidents.record(record, at=T0, alerts_channel=ALERTS_CHANNEL)
    again = await incidents.record(record, at=T0 + MINUTE, alerts_channel=ALERTS_CHANNEL)

    assert first.incident is not None and again.incident is not None
    assert (again.created, again.changed, again.incident.id) == (False, False, first.incident.id)
    stored = await reloaded(incidents, first.incident)
    assert (stored.version, stored.last_notified_at) == (1, T0)
    assert len(await incidents.alerts(stored.id)) == 3


async def test_one_alert_of_three_resolving_keeps_the_incident_firing(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"), alert("a3"))

    partial = notification(alert("a1"), alert("a2"), alert("a3", RESOLVED, ends_at=T0 + 5 * MINUTE))
    recorded = await incidents.record(partial, at=T0 + 5 * MINUTE)
    assert (recorded.created, recorded.changed) == (False, True)
    stored = await reloaded(incidents, incident)
    assert (stored.status, stored.version, stored.resolved_at) == (IncidentStatus.firing, 2, None)
    assert stored.last_notified_at == T0 + 5 * MINUTE
    alerts = await incidents.alerts(incident.id)
    assert [(a.fingerprint, a.status, a.ends_at) for a in alerts] == [
        ("a1", FIRING, None),
        ("a2", FIRING, None),
        ("a3", RESOLVED, T0 + 5 * MINUTE),
    ]
    # Delivered again: nothing moves.
    assert not (await incidents.record(partial, at=T0 + 6 * MINUTE)).changed
    assert (await reloaded(incidents, incident)).version == 2


async def test_a_pod_replaced_is_applied_in_three_statements(
    incidents: IncidentStore, store: Store, team: Team
) -> None:
    # Every statement of the webhook's write is a round trip on PostgreSQL, made under the lock all writers wait
    # on: one read of the group's state, one upsert of the alerts it updates and adds, one update of the incident
    # (beside starting the transaction and taking the lock, and its commit).
    incident = await opened(incidents, alert("a1"), alert("a2"))
    engine = store.db.sync_twin or store.db.engine.sync_engine
    statements: list[str] = []

    def count(conn: sa.Connection, cursor: object, statement: str, *args: object) -> None:
        if not statement.startswith(("BEGIN", "SELECT pg_advisory_xact_lock")):
            statements.append(statement.split()[0])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        replaced = notification(alert("a1", RESOLVED, ends_at=T0 + MINUTE), alert("a2"), alert("a3"))
        recorded = await incidents.record(replaced, at=T0 + MINUTE)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert (recorded.created, recorded.changed) == (False, True)
    assert statements == ["SELECT", "INSERT", "UPDATE"]
    assert statuses(await incidents.alerts(incident.id)) == {"a1": RESOLVED, "a2": FIRING, "a3": FIRING}
    assert (await reloaded(incidents, incident)).version == 2


async def test_every_alert_resolving_resolves_the_incident_at_the_latest_end(
    incidents: IncidentStore, team: Team
) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"), alert("a3"))
    await incidents.record(
        notification(alert("a1"), alert("a2"), alert("a3", RESOLVED, ends_at=T0 + 6 * MINUTE)), at=T0 + 6 * MINUTE
    )

    resolved = notification(
        alert("a1", RESOLVED, ends_at=T0 + 7 * MINUTE),
        alert("a2", RESOLVED, ends_at=T0 + 9 * MINUTE),
        alert("a3", RESOLVED, ends_at=T0 + 12 * MINUTE),  # resent with another end: it already resolved
    )
    assert resolved.status == RESOLVED
    recorded = await incidents.record(resolved, at=T0 + 10 * MINUTE)
    assert (recorded.created, recorded.changed) == (False, True)
    stored = await reloaded(incidents, incident)
    assert (stored.status, stored.version, stored.resolved_at) == (IncidentStatus.resolved, 3, T0 + 9 * MINUTE)
    ends = {a.fingerprint: (a.status, a.ends_at) for a in await incidents.alerts(incident.id)}
    assert ends == {
        "a1": (RESOLVED, T0 + 7 * MINUTE),
        "a2": (RESOLVED, T0 + 9 * MINUTE),
        "a3": (RESOLVED, T0 + 6 * MINUTE),
    }
    assert not (await incidents.record(resolved, at=T0 + 11 * MINUTE)).changed
    assert (await reloaded(incidents, incident)).version == 3


async def test_a_resolved_notification_resolves_the_alerts_it_no_longer_lists(
    incidents: IncidentStore, team: Team
) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"), alert("a3"))
    await incidents.record(notification(alert("a1", RESOLVED), alert("a2"), alert("a3")), at=T0 + MINUTE)

    # a1 resolved and was notified, so Alertmanager dropped it; the group's last body names only a2,
    # though a3 resolved too.
    last = notification(alert("a2", RESOLVED, ends_at=T0 + 3 * MINUTE))
    assert (last.status, last.truncated_alerts) == (RESOLVED, 0)
    recorded = await incidents.record(last, at=T0 + 4 * MINUTE)
    assert recorded.changed
    stored = await reloaded(incidents, incident)
    assert stored.status == IncidentStatus.resolved
    alerts = {a.fingerprint: a for a in await incidents.alerts(incident.id)}
    assert {f: a.status for f, a in alerts.items()} == {"a1": RESOLVED, "a2": RESOLVED, "a3": RESOLVED}
    assert alerts["a3"].ends_at == T0 + 4 * MINUTE  # when the bot learnt it: the body does not say
    assert stored.resolved_at == T0 + 4 * MINUTE


async def test_a_truncated_resolved_notification_leaves_unlisted_alerts_firing(
    incidents: IncidentStore, team: Team
) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    cut = notification(alert("a1", RESOLVED), truncated=1)
    assert cut.status == RESOLVED
    await incidents.record(cut, at=T0 + MINUTE)
    stored = await reloaded(incidents, incident)
    assert (stored.status, stored.truncated_alerts) == (IncidentStatus.firing, 1)
    assert statuses(await incidents.alerts(incident.id)) == {"a1": RESOLVED, "a2": FIRING}


async def test_an_alert_that_fires_again_while_the_group_fires_is_a_new_row(
    incidents: IncidentStore, team: Team
) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    await incidents.record(notification(alert("a1", RESOLVED), alert("a2")), at=T0 + MINUTE)
    again = await incidents.record(
        notification(alert("a1", starts_at=T0 + 2 * MINUTE), alert("a2")), at=T0 + 2 * MINUTE
    )

    assert again.incident is not None
    assert (again.created, again.changed, again.incident.id) == (False, True, incident.id)
    alerts = await incidents.alerts(incident.id)
    assert [(a.fingerprint, a.starts_at, a.status) for a in alerts] == [
        ("a2", T0, FIRING),
        ("a1", T0 + 2 * MINUTE, FIRING),
        ("a1", T0, RESOLVED),
    ]


async def test_a_group_firing_again_opens_a_new_incident_linked_to_the_last(
    incidents: IncidentStore, store: Store, team: Team
) -> None:
    first_firing = notification(alert("a1"), alert("a2"))
    first = await opened(incidents, alert("a1"), alert("a2"))
    await incidents.record(notification(alert("a1", RESOLVED), alert("a2", RESOLVED)), at=T0 + 5 * MINUTE)
    assert (await reloaded(incidents, first)).status == IncidentStatus.resolved

    later = T0 + HOUR
    recorded = await incidents.record(notification(alert("a1", starts_at=later)), at=later)
    assert recorded.created and recorded.changed
    second = recorded.incident
    assert second is not None
    assert second.id != first.id
    assert (second.previous_id, second.status, second.version, second.opened_at) == (
        first.id,
        IncidentStatus.firing,
        1,
        later,
    )
    assert [(a.fingerprint, a.starts_at) for a in await incidents.alerts(second.id)] == [("a1", later)]
    old = await reloaded(incidents, first)
    assert (old.status, old.version) == (IncidentStatus.resolved, 2)

    # The first episode's firing notification, delivered late: it is known and resolved, nothing changes.
    late = await incidents.record(first_firing, at=later + MINUTE)
    assert (late.changed, late.created) == (False, False)
    assert (await reloaded(incidents, first)).status == IncidentStatus.resolved
    assert statuses(await incidents.alerts(first.id)) == {"a1": RESOLVED, "a2": RESOLVED}
    assert (await reloaded(incidents, second)).version == 1
    assert await count_incidents(store) == 2


async def test_an_annotation_change_of_a_firing_alert_is_a_change(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"))
    recorded = await incidents.record(notification(alert("a1", summary="Now restarting every 10 s.")), at=T0 + MINUTE)
    assert recorded.changed and not recorded.created
    assert (await reloaded(incidents, incident)).version == 2
    (stored,) = await incidents.alerts(incident.id)
    assert stored.annotations == {"summary": "Now restarting every 10 s."}


async def test_a_common_annotation_change_is_a_change(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"))
    record = notification(alert("a1"), common_annotations={"runbook_url": "https://runbooks/new"})
    assert (await incidents.record(record, at=T0 + MINUTE)).changed
    stored = await reloaded(incidents, incident)
    assert (stored.version, stored.common_annotations) == (2, {"runbook_url": "https://runbooks/new"})


async def test_a_change_of_truncated_alerts_is_a_change(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    assert (await incidents.record(notification(alert("a1"), alert("a2"), truncated=3), at=T0 + MINUTE)).changed
    stored = await reloaded(incidents, incident)
    assert (stored.truncated_alerts, stored.version, stored.last_notified_at) == (3, 2, T0 + MINUTE)
    assert not (await incidents.record(notification(alert("a1"), alert("a2"), truncated=3), at=T0 + HOUR)).changed
    assert (await incidents.record(notification(alert("a1"), alert("a2")), at=T0 + HOUR)).changed
    assert (await reloaded(incidents, incident)).truncated_alerts == 0


async def test_a_resolved_notification_of_an_unknown_group_is_kept_as_a_resolved_incident(
    incidents: IncidentStore, team: Team
) -> None:
    recorded = await incidents.record(notification(alert("a1", RESOLVED, ends_at=T0 + MINUTE)), at=T0 + HOUR)
    assert recorded.created and recorded.incident is not None
    assert (recorded.incident.status, recorded.incident.resolved_at) == (IncidentStatus.resolved, T0 + MINUTE)


async def test_the_captured_alertmanager_bodies_tell_one_incident(incidents: IncidentStore, store: Store) -> None:
    """firing_three → resolved_partial → resolved_all, as Alertmanager 0.25 sent them (if captured)."""
    names = ("firing_three", "resolved_partial", "resolved_all")
    if any(not (PAYLOADS / f"{name}.json").is_file() for name in names):
        pytest.skip("the captured bodies are not there")
    blue = await store.teams.create("Blue", "kubecamp-blue", role_id=1003, channel_id=2003)
    outcomes = []
    for n, name in enumerate(names):
        record = parse((PAYLOADS / f"{name}.json").read_bytes()).record()
        outcomes.append(await incidents.record(record, at=T0 + n * MINUTE))
    assert [(o.created, o.changed) for o in outcomes] == [(True, True), (False, True), (False, True)]
    incident = outcomes[0].incident
    assert incident is not None and all(o.incident is not None and o.incident.id == incident.id for o in outcomes)
    stored = await reloaded(incidents, incident)
    assert (stored.team_id, stored.channel_id, stored.status, stored.version) == (
        blue.id,
        2003,
        IncidentStatus.resolved,
        3,
    )
    alerts = await incidents.alerts(incident.id)
    assert len(alerts) == 3
    assert stored.resolved_at == max(a.ends_at for a in alerts if a.ends_at is not None)


# -- races -----------------------------------------------------------------------------------------------------------


async def test_racing_deliveries_of_a_new_group_open_one_incident(store: Store, db_url: str, team: Team) -> None:
    """Alertmanager's retry and a second replica race: coroutines on two engines (two processes)."""
    other = await Store.open(db_url)
    try:
        stores = [IncidentStore(s.db) for s in (store, other, store, other)]
        record = notification(alert("a1"), alert("a2"))
        outcomes = await asyncio.gather(*(s.record(record, at=T0) for s in stores))
    finally:
        await other.close()
    assert sorted((o.created, o.changed) for o in outcomes) == [(False, False)] * 3 + [(True, True)]
    assert len({o.incident.id for o in outcomes if o.incident is not None}) == 1
    assert await count_incidents(store) == 1
    incident = outcomes[0].incident
    assert incident is not None
    assert len(await store.incidents.alerts(incident.id)) == 2


def other_group(number: int, *alerts: AlertRecord, truncated: int = 0) -> NotificationRecord:
    group_key = f'{{}}:{{alertname="KubePodCrashLooping", group="{number}"}}'
    return notification(*alerts, group_key=group_key, truncated=truncated)


async def queued_behind_the_write_lock(store: Store, records: list[NotificationRecord]) -> list[asyncio.Task[Recorded]]:
    """`records` each recorded by a task of its own, all of them waiting for the write lock while another writer
    holds it; the tasks, once the lock is released. Counts the write transactions committed meanwhile."""
    async with store.db.write_lock:
        tasks = [asyncio.create_task(store.incidents.record(r, at=T0, alerts_channel=ALERTS_CHANNEL)) for r in records]
        await asyncio.sleep(0)  # each task runs to the lock, and waits there
        assert len(store.db.write_lock._waiters or ()) == len(records)
    return tasks


def counting_commits(store: Store) -> list[object]:
    engine = store.db.sync_twin or store.db.engine.sync_engine
    commits: list[object] = []
    sa.event.listen(engine, "commit", commits.append)
    return commits


async def test_notifications_waiting_for_the_write_lock_are_written_in_one_transaction(store: Store) -> None:
    # Under load every webhook waits for the writer before it: one transaction for all who waited (one BEGIN, one
    # write lock, one commit) rather than one each; each is answered with its own outcome, once committed.
    commits = counting_commits(store)
    records = [other_group(n, alert(f"a{n}")) for n in range(3)] + [other_group(0, alert("a0"), alert("b0"))]
    tasks = await queued_behind_the_write_lock(store, records)
    outcomes = await asyncio.gather(*tasks)
    assert len(commits) == 1
    assert [(o.created, o.changed) for o in outcomes] == [(True, True)] * 3 + [(False, True)]
    first, last = outcomes[0].incident, outcomes[3].incident
    assert first is not None and last is not None
    assert last.id == first.id and last.version == 2  # the later notification of group 0 saw the earlier one
    assert statuses(await store.incidents.alerts(first.id)) == {"a0": FIRING, "b0": FIRING}
    assert await count_incidents(store) == 3


async def test_notifications_of_distinct_groups_written_together_share_their_statements(store: Store) -> None:
    # A wave of groups is three statements, however many: their state, their alerts, their incidents. A second
    # notification of a group waits for the next wave, which reads what the first wrote.
    for number in range(3):
        await store.incidents.record(other_group(number, alert(f"a{number}")), at=T0)
    engine = store.db.sync_twin or store.db.engine.sync_engine
    statements: list[str] = []

    def count(conn: sa.Connection, cursor: object, statement: str, *args: object) -> None:
        if not statement.startswith(("BEGIN", "SELECT pg_advisory_xact_lock")):
            statements.append(statement.split()[0])

    replaced = [other_group(n, alert(f"a{n}", RESOLVED), alert(f"b{n}")) for n in range(3)]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        tasks = await queued_behind_the_write_lock(store, [*replaced, other_group(0, alert("b0"), alert("c0"))])
        outcomes = await asyncio.gather(*tasks)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == ["SELECT", "INSERT", "UPDATE"] * 2
    assert all(o.changed and not o.created for o in outcomes)
    incidents = [o.incident for o in outcomes if o.incident is not None]
    assert [i.version for i in incidents] == [2, 2, 2, 3]
    assert len({i.id for i in incidents}) == 3 and incidents[3].id == incidents[0].id
    for number, incident in enumerate(incidents[:3]):
        expected = {f"a{number}": RESOLVED, f"b{number}": FIRING} | ({"c0": FIRING} if number == 0 else {})
        assert statuses(await store.incidents.alerts(incident.id)) == expected


async def test_a_notification_the_database_refuses_fails_alone_among_those_written_together(store: Store) -> None:
    # A negative count of alerts left out breaks the incidents' CHECK constraint (the webhook's validation never
    # lets one through): the transaction of the three fails, and each is written again on its own.
    commits = counting_commits(store)
    refused = other_group(1, alert("a1"), truncated=-1)
    records = [other_group(0, alert("a0")), refused, other_group(2, alert("a2"))]
    tasks = await queued_behind_the_write_lock(store, records)
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[1], StoreConflict)
    kept = [o for o in outcomes if isinstance(o, Recorded)]
    assert [(o.created, o.changed) for o in kept] == [(True, True)] * 2
    assert len(commits) == 2
    assert await count_incidents(store) == 2


async def test_a_notification_cancelled_while_waiting_for_the_write_lock_is_not_written(store: Store) -> None:
    tasks = await queued_behind_the_write_lock(store, [other_group(0, alert("a0")), other_group(1, alert("a1"))])
    tasks[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    recorded = await tasks[1]
    assert recorded.created
    assert await count_incidents(store) == 1


async def test_the_database_refuses_a_second_firing_incident_of_a_group(incidents: IncidentStore, store: Store) -> None:
    first = await opened(incidents, alert("a1"))
    duplicate = {
        "group_key": GROUP,
        "status": "firing",
        "receiver": "x",
        "group_labels": "{}",
        "common_labels": "{}",
        "common_annotations": "{}",
        "external_url": "",
        "truncated_alerts": 0,
        "opened_at": T0.replace(tzinfo=None),
        "last_notified_at": T0.replace(tzinfo=None),
        "version": 1,
        "published_version": 0,
        "run_notified": False,
    }
    # The column names are the test's own; the values are bound.
    columns = ", ".join(duplicate)
    values = ", ".join(f":{c}" for c in duplicate)
    insert = sa.text(f"INSERT INTO incidents ({columns}) VALUES ({values})")  # noqa: S608
    with pytest.raises(StoreConflict, match=UNIQUE_VIOLATION):
        async with store.db.writing() as session:
            await session.exec(insert, params=duplicate)
    async with store.db.engine.connect() as connection:
        indexes = await connection.run_sync(lambda sync: sa.inspect(sync).get_indexes("incidents"))
    [index] = [index for index in indexes if index["name"] == OPEN_INCIDENT_INDEX]
    # Partial on either database: unique among the firing incidents only.
    assert index["unique"]
    assert "firing" in str(index["dialect_options"][f"{store.db.engine.dialect.name}_where"])
    # A resolved incident of the same group is allowed next to the firing one.
    async with store.db.writing() as session:
        await session.exec(insert, params={**duplicate, "status": "resolved"})
    assert await count_incidents(store) == 2
    assert (await reloaded(incidents, first)).status == IncidentStatus.firing


# -- acknowledgements and silences -----------------------------------------------------------------------------------


async def test_acknowledging_twice_keeps_the_first_acknowledgement(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"))
    acked, first = await incidents.acknowledge(incident.id, by="alice", at=T0 + MINUTE)
    assert first
    assert (acked.acknowledged_by, acked.acknowledged_at, acked.version) == ("alice", T0 + MINUTE, 2)

    again, second = await incidents.acknowledge(incident.id, by="bob", at=T0 + 2 * MINUTE)
    assert not second
    assert (again.acknowledged_by, again.acknowledged_at, again.version) == ("alice", T0 + MINUTE, 2)
    assert await reloaded(incidents, incident) == again


async def test_a_silence_is_set_and_cleared_by_its_id(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"))
    silenced = await incidents.set_silence(incident.id, silence_id="s-1", by="alice", until=T0 + HOUR)
    assert (silenced.silence_id, silenced.silenced_by, silenced.silenced_until, silenced.version) == (
        "s-1",
        "alice",
        T0 + HOUR,
        2,
    )
    assert await reloaded(incidents, incident) == silenced

    with pytest.raises(StoreConflict, match="no longer silenced by s-0"):
        await incidents.clear_silence(incident.id, silence_id="s-0")
    assert (await reloaded(incidents, incident)).silence_id == "s-1"

    cleared = await incidents.clear_silence(incident.id, silence_id="s-1")
    assert (cleared.silence_id, cleared.silenced_by, cleared.silenced_until, cleared.version) == (None, None, None, 3)
    with pytest.raises(StoreConflict):
        await incidents.clear_silence(incident.id, silence_id="s-1")  # already cleared: stale


async def test_a_second_silence_does_not_overwrite_the_first(incidents: IncidentStore, team: Team) -> None:
    """Two people press Silence at once: the second silence id must not hide the first (it could never be lifted)."""
    incident = await opened(incidents, alert("a1"))
    await incidents.set_silence(incident.id, silence_id="s-1", by="alice", until=T0 + HOUR)
    with pytest.raises(StoreConflict, match="s-1"):
        await incidents.set_silence(incident.id, silence_id="s-2", by="bob", until=T0 + 4 * HOUR)
    stored = await reloaded(incidents, incident)
    assert (stored.silence_id, stored.silenced_by, stored.version) == ("s-1", "alice", 2)


async def test_an_unknown_incident_is_not_found(incidents: IncidentStore) -> None:
    assert await incidents.get(404) is None
    assert await incidents.alerts(404) == []
    with pytest.raises(NotFound, match="no incident #404"):
        await incidents.acknowledge(404, by="alice", at=T0)
    with pytest.raises(NotFound):
        await incidents.set_silence(404, silence_id="s-1", by="alice", until=T0 + HOUR)
    with pytest.raises(NotFound):
        await incidents.clear_silence(404, silence_id="s-1")
    with pytest.raises(NotFound):
        await incidents.mark_published(404, version=1, announced={}, at=T0)
    with pytest.raises(NotFound):
        await incidents.mark_run_notified(404)


# -- publishing ------------------------------------------------------------------------------------------------------


async def test_an_incident_is_due_until_published_at_its_version(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    assert [i.id for i in await incidents.to_publish(not_before=T0)] == [incident.id]
    assert await incidents.next_publish_due() is None  # never published: no edit interval to wait out

    await incidents.mark_published(incident.id, version=1, announced={}, at=T0 + MINUTE)
    assert await incidents.to_publish(not_before=T0 + HOUR) == []
    stored = await reloaded(incidents, incident)
    assert (stored.published_version, stored.published_at) == (1, T0 + MINUTE)


async def test_a_change_after_publishing_waits_for_the_edit_interval(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    await incidents.mark_published(incident.id, version=1, announced={}, at=T0 + MINUTE)
    await incidents.record(notification(alert("a1", RESOLVED), alert("a2")), at=T0 + 2 * MINUTE)

    # Published at T0+1min with a 5-minute edit interval: held back until T0+6min.
    assert await incidents.to_publish(not_before=T0 + 2 * MINUTE - 5 * MINUTE) == []
    assert await incidents.next_publish_due() == T0 + MINUTE
    due = await incidents.to_publish(not_before=T0 + 6 * MINUTE - 5 * MINUTE)
    assert [(i.id, i.version, i.published_version) for i in due] == [(incident.id, 2, 1)]


async def test_published_at_an_old_version_with_a_newer_change_is_still_due(
    incidents: IncidentStore, team: Team
) -> None:
    incident = await opened(incidents, alert("a1"))
    rendered = await reloaded(incidents, incident)  # the publisher renders version 1 ...
    await incidents.acknowledge(incident.id, by="alice", at=T0 + MINUTE)  # ... while version 2 comes in
    await incidents.mark_published(incident.id, version=rendered.version, announced={}, at=T0 + MINUTE)

    due = await incidents.to_publish(not_before=T0 + MINUTE)
    assert [(i.id, i.version, i.published_version) for i in due] == [(incident.id, 2, 1)]
    # An older version marked late does not move the published version back.
    await incidents.mark_published(incident.id, version=2, announced={}, at=T0 + 2 * MINUTE)
    await incidents.mark_published(incident.id, version=1, announced={}, at=T0 + 2 * MINUTE)
    assert (await reloaded(incidents, incident)).published_version == 2
    assert await incidents.to_publish(not_before=T0 + HOUR) == []


async def test_incidents_are_due_oldest_first(incidents: IncidentStore, team: Team) -> None:
    first = await opened(incidents, alert("a1"))
    second = (
        await incidents.record(notification(alert("b1"), group_key='{}:{alertname="Other"}'), at=T0 + MINUTE)
    ).incident
    assert second is not None
    assert [i.id for i in await incidents.to_publish(not_before=T0)] == [first.id, second.id]


async def test_mark_published_records_the_announced_status_of_each_alert(incidents: IncidentStore, team: Team) -> None:
    incident = await opened(incidents, alert("a1"), alert("a2"))
    first, second = await incidents.alerts(incident.id)
    await incidents.mark_published(incident.id, version=1, announced={first.id: FIRING, second.id: FIRING}, at=T0)
    assert {a.fingerprint: a.announced for a in await incidents.alerts(incident.id)} == {"a1": FIRING, "a2": FIRING}

    await incidents.record(notification(alert("a1", RESOLVED), alert("a2")), at=T0 + MINUTE)
    after = {a.fingerprint: (a.status, a.announced) for a in await incidents.alerts(incident.id)}
    assert after == {"a1": (RESOLVED, FIRING), "a2": (FIRING, FIRING)}
    await incidents.mark_published(incident.id, version=2, announced={first.id: RESOLVED}, at=T0 + 2 * MINUTE)
    assert {a.fingerprint: a.announced for a in await incidents.alerts(incident.id)} == {
        "a1": RESOLVED,
        "a2": FIRING,
    }


async def test_mark_published_leaves_alerts_of_other_incidents_alone(incidents: IncidentStore, team: Team) -> None:
    mine = await opened(incidents, alert("a1"))
    other = (await incidents.record(notification(alert("b1"), group_key="other"), at=T0)).incident
    assert other is not None
    (theirs,) = await incidents.alerts(other.id)
    await incidents.mark_published(mine.id, version=1, announced={theirs.id: FIRING}, at=T0)
    assert [a.announced for a in await incidents.alerts(other.id)] == [None]


async def test_recent_lists_firing_incidents_first_then_the_newest(incidents: IncidentStore, team: Team) -> None:
    old = await opened(incidents, alert("a1"))
    resolved = (await incidents.record(notification(alert("b1", RESOLVED), group_key="b"), at=T0)).incident
    newer = (await incidents.record(notification(alert("c1"), group_key="c"), at=T0)).incident
    assert resolved is not None and newer is not None
    assert [i.id for i in await incidents.recent()] == [newer.id, old.id, resolved.id]
    assert [i.id for i in await incidents.recent(status=IncidentStatus.resolved)] == [resolved.id]
    assert [i.id for i in await incidents.recent(limit=1)] == [newer.id]


# -- refused values --------------------------------------------------------------------------------------------------


async def test_naive_datetimes_are_refused_before_anything_is_written(
    incidents: IncidentStore, store: Store, team: Team
) -> None:
    naive = datetime(2025, 3, 1, 9, 0)  # noqa: DTZ001 - the value refused
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.record(notification(alert("a1")), at=naive)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.record(notification(alert("a1"), alert("a2", starts_at=naive)), at=T0)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.record(notification(alert("a1"), alert("a2", RESOLVED, ends_at=naive)), at=T0)
    assert await count_incidents(store) == 0

    incident = await opened(incidents, alert("a1"))
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.record(notification(alert("a1", RESOLVED, ends_at=naive)), at=T0)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.acknowledge(incident.id, by="alice", at=naive)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.set_silence(incident.id, silence_id="s-1", by="alice", until=naive)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.mark_published(incident.id, version=1, announced={}, at=naive)
    with pytest.raises(InvalidValue, match="naive"):
        await incidents.to_publish(not_before=naive)
    stored = await reloaded(incidents, incident)
    assert (stored.version, stored.acknowledged_at, stored.silence_id, stored.published_version) == (1, None, None, 0)
    assert statuses(await incidents.alerts(incident.id)) == {"a1": FIRING}


async def test_times_in_another_zone_are_kept_in_utc(incidents: IncidentStore, team: Team) -> None:
    seoul = T0.astimezone(timezone(timedelta(hours=9)))
    incident = await opened(incidents, alert("a1", starts_at=seoul), at=seoul)
    assert incident.opened_at == T0
    (stored,) = await incidents.alerts(incident.id)
    assert (stored.starts_at, stored.starts_at.utcoffset()) == (T0, timedelta(0))
    # The same alert named with its UTC time is the same alert.
    assert not (await incidents.record(notification(alert("a1", starts_at=T0)), at=T0)).changed


async def test_a_notification_built_from_json_round_trips_through_the_store(
    incidents: IncidentStore, team: Team
) -> None:
    body = {
        "version": "4",
        "groupKey": GROUP,
        "status": "firing",
        "receiver": "kubecamp-bot",
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": NAMESPACE},
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "KubePodCrashLooping", "namespace": NAMESPACE, "pod": "web-1"},
                "annotations": {"summary": "web-1 restarts"},
                "startsAt": "2025-03-01T18:00:00+09:00",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }
    recorded = await incidents.record(parse(json.dumps(body).encode()).record(), at=T0)
    assert recorded.incident is not None
    assert (recorded.incident.team_id, recorded.incident.channel_id) == (team.id, 2001)
    (stored,) = await incidents.alerts(recorded.incident.id)
    assert (stored.fingerprint, stored.starts_at, stored.ends_at) == ("0123456789abcdef", T0, None)
