"""IncidentService against a real migrated SQLite store, the real `Outbox` with `FakeDiscord`, and for silences a
real Alertmanager 0.25 on loopback (tests/peers) through `bot.incidents.silences.Alertmanager`.

Proved here: the first acknowledgement is said in the thread and a second one is refused; only the team whose
namespace the incident is in and instructors acknowledge it (only instructors when it is no team's); a button counts
only on its incident's starter message; an unknown incident is refused; a silence is created in Alertmanager on the
incident's common labels (else its group labels) as equality matchers until now + hours, and unsilencing expires it;
silencing twice, a resolved incident, an incident whose alerts share no label, a duration other than 1 or 4 hours, a
bot without Alertmanager and an Alertmanager that is down are all refused with the right message and leave nothing
behind (nor does a silence the store cannot record: it is expired again); unsilencing clears the incident even when
Alertmanager no longer has the silence; two concurrent silences leave exactly one active, the loser's duplicate
expired; `view` and `recent` show incidents with their threads.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreUnavailable
from bot.i18n import Message
from bot.incidents.service import IncidentRefused, Member
from bot.incidents.silences import Alertmanager
from bot.markup import stamp
from bot.store import Store, Team
from bot.store.incidents import IncidentStore
from bot.store.models import Incident, IncidentStatus
from tests.incidents.conftest import Bench, MakeBench
from tests.peers.processes import AlertmanagerProcess

PAYLOADS = Path(__file__).parent / "payloads"
ALERT = "KubecampImagePullFailing"
#: firing_three.json's commonLabels: what its silence matches.
COMMON = {"alertname": ALERT, "container": "frontend", "namespace": "kubecamp-blue", "severity": "warning"}
COMMENT = f"kubecamp-bot: incident #1 ({ALERT} · kubecamp-blue)"


def captured(name: str, **replace: Any) -> bytes:
    """A captured Alertmanager body, with top-level fields replaced."""
    data = json.loads((PAYLOADS / f"{name}.json").read_bytes())
    data.update(replace)
    return json.dumps(data).encode()


#: Members of team blue (role 1001, the `blue` fixture's), of another team, and an instructor.
LEE = Member("Lee", frozenset({1001}), instructor=False)
KIM = Member("Kim", frozenset({1001}), instructor=False)
RED = Member("Red Student", frozenset({1002}), instructor=False)
INSTRUCTOR = Member("Instructor Kim", frozenset({4001}), instructor=True)


def now() -> datetime:
    return datetime.now(UTC)


def refused(error: pytest.ExceptionInfo[IncidentRefused]) -> Message:
    return error.value.message


Make = Callable[..., Bench]


@pytest.fixture
def make(make_bench: MakeBench, blue: Team) -> Make:
    """Benches whose service silences through the given Alertmanager (or none), team blue enrolled."""
    return functools.partial(make_bench, clock=now)


@pytest.fixture
async def firing(make: Make, client: Alertmanager) -> Bench:
    """Incident #1 (firing_three.json) with its thread, and a service silencing through the real Alertmanager."""
    bench = make(client)
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    return bench


def by_name(matchers: list[Mapping[str, Any]]) -> dict[str, str]:
    assert all(m["isEqual"] is True and m["isRegex"] is False for m in matchers), matchers
    return {m["name"]: m["value"] for m in matchers}


def close_to(when: str | datetime, expected: datetime) -> bool:
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return abs(moment - expected) < timedelta(seconds=5)


# -- acknowledging -------------------------------------------------------------------------------------------------


async def test_the_first_acknowledgement_is_said_in_the_thread_and_a_second_is_refused(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    version = (await bench.incident()).version

    incident = await bench.service.acknowledge(1, by=LEE)
    assert (incident.acknowledged_by, incident.version) == ("Lee", version + 1)
    assert await bench.said() == ["👀 Lee acknowledged this incident."]
    await bench.publish()
    starter = bench.shown(bench.starter(await bench.thread()))
    assert "👀 Acknowledged by Lee" in starter["embeds"][0]["description"]
    [[ack]] = [row["components"] for row in starter["components"]]
    assert ack["custom_id"] == "kubecamp:incident:1:ack" and ack["disabled"] is True

    with pytest.raises(IncidentRefused) as error:
        await bench.service.acknowledge(1, by=KIM)
    assert refused(error) == Message("incident.err.already_acknowledged", {"id": 1, "by": "Lee"})
    incident = await bench.incident()
    assert (incident.acknowledged_by, incident.version) == ("Lee", version + 1)
    assert await bench.said() == ["👀 Lee acknowledged this incident."]


async def test_only_the_incidents_team_and_instructors_acknowledge(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("firing_three"))  # in kubecamp-blue, team blue's namespace
    await bench.publish()
    version = (await bench.incident()).version

    with pytest.raises(IncidentRefused) as error:
        await bench.service.acknowledge(1, by=RED)
    assert refused(error) == Message("incident.err.ack_not_your_team", {"id": 1, "team": "Blue Whales"})
    incident = await bench.incident()
    assert (incident.acknowledged_by, incident.version) == (None, version)
    assert await bench.said() == []

    incident = await bench.service.acknowledge(1, by=INSTRUCTOR)
    assert incident.acknowledged_by == "Instructor Kim"


async def test_an_incident_of_no_team_is_acknowledged_by_instructors_only(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("no_namespace"))  # a node: the cluster's, no team's
    await bench.publish()

    with pytest.raises(IncidentRefused) as error:
        await bench.service.acknowledge(1, by=LEE)
    assert refused(error) == Message("incident.err.ack_instructors_only", {"id": 1})
    assert (await bench.incident()).acknowledged_by is None
    assert await bench.said() == []

    incident = await bench.service.acknowledge(1, by=INSTRUCTOR)
    assert incident.acknowledged_by == "Instructor Kim"
    assert await bench.said() == ["👀 Instructor Kim acknowledged this incident."]


async def test_a_button_counts_only_on_its_incidents_starter(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("firing_three"))
    await bench.service.receive(captured("no_namespace"))
    await bench.publish()
    first, second = bench.starter(await bench.thread(1)), bench.starter(await bench.thread(2))

    await bench.service.check_message(1, first.message_id)
    await bench.service.check_message(2, second.message_id)
    with pytest.raises(IncidentRefused) as error:
        await bench.service.check_message(2, first.message_id)
    assert refused(error) == Message("incident.err.not_this_message", {"id": 2})
    with pytest.raises(IncidentRefused):  # an incident that has no thread (or does not exist) has no buttons
        await bench.service.check_message(42, first.message_id)


async def test_an_unknown_incident_is_refused(firing: Bench) -> None:
    service = firing.service
    for action in (
        lambda: service.acknowledge(42, by=LEE),
        lambda: service.silence(42, hours=1, by="Lee"),
        lambda: service.unsilence(42, by="Lee"),
        lambda: service.view(42),
    ):
        with pytest.raises(IncidentRefused) as error:
            await action()
        assert refused(error) == Message("incident.err.unknown", {"id": 42})


# -- silencing through a real Alertmanager -------------------------------------------------------------------------


async def test_a_silence_matches_the_common_labels_for_the_hours_asked_and_unsilencing_expires_it(
    firing: Bench, alertmanager: AlertmanagerProcess
) -> None:
    assert firing.service.silences_enabled
    asked = now()
    incident = await firing.service.silence(1, hours=4, by="Instructor Kim")

    [silence] = await alertmanager.silences()
    assert silence["id"] == incident.silence_id
    assert silence["status"]["state"] == "active"
    assert by_name(silence["matchers"]) == COMMON
    assert (silence["createdBy"], silence["comment"]) == ("Instructor Kim", COMMENT)
    assert close_to(silence["endsAt"], asked + timedelta(hours=4))
    assert incident.silenced_by == "Instructor Kim"
    assert incident.silenced_until is not None and close_to(silence["endsAt"], incident.silenced_until)
    until = stamp(incident.silenced_until, "t")
    assert await firing.said() == [
        f"🔕 Instructor Kim silenced this for 4 h (until {until}). Alertmanager silence `{silence['id']}`"
    ]
    await firing.publish()
    starter = firing.shown(firing.starter(await firing.thread()))
    assert [c["custom_id"] for c in starter["components"][0]["components"]] == [
        "kubecamp:incident:1:ack",
        "kubecamp:incident:1:unsilence",
    ]

    incident = await firing.service.unsilence(1, by="Instructor Kim")
    assert (incident.silence_id, incident.silenced_by, incident.silenced_until) == (None, None, None)
    [silence] = await alertmanager.silences()
    assert silence["status"]["state"] == "expired"
    assert (await firing.said())[-1] == f"🔔 Instructor Kim lifted the silence (silence `{silence['id']}` expired)."

    with pytest.raises(IncidentRefused) as error:
        await firing.service.unsilence(1, by="Instructor Kim")
    assert refused(error) == Message("incident.err.not_silenced", {"id": 1})


async def test_without_common_labels_the_silence_matches_the_group_labels(
    make: Make, client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    bench = make(client)
    await bench.service.receive(captured("firing_three", commonLabels={}))
    incident = await bench.service.silence(1, hours=1, by="Instructor Kim")
    [silence] = await alertmanager.silences()
    assert silence["id"] == incident.silence_id
    assert by_name(silence["matchers"]) == {"alertname": ALERT, "namespace": "kubecamp-blue"}
    assert close_to(silence["endsAt"], now() + timedelta(hours=1))


async def test_silencing_twice_is_refused_and_keeps_the_first_silence(
    firing: Bench, alertmanager: AlertmanagerProcess
) -> None:
    first = await firing.service.silence(1, hours=1, by="Instructor Kim")
    with pytest.raises(IncidentRefused) as error:
        await firing.service.silence(1, hours=4, by="Instructor Park")
    assert refused(error) == Message("incident.err.already_silenced", {"id": 1})
    assert [s["id"] for s in await alertmanager.silences()] == [first.silence_id]
    incident = await firing.incident()
    assert (incident.silence_id, incident.silenced_by, incident.version) == (first.silence_id, "Instructor Kim", 2)


async def test_a_resolved_incident_is_not_silenced(firing: Bench, alertmanager: AlertmanagerProcess) -> None:
    await firing.service.receive(captured("resolved_all"))
    assert (await firing.incident()).status == IncidentStatus.resolved
    with pytest.raises(IncidentRefused) as error:
        await firing.service.silence(1, hours=1, by="Instructor Kim")
    assert refused(error) == Message("incident.err.resolved", {"id": 1})
    assert await alertmanager.silences() == []


async def test_alerts_that_share_no_label_are_not_silenced(
    make: Make, client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    bench = make(client)
    await bench.service.receive(captured("firing_three", commonLabels={}, groupLabels={}))
    with pytest.raises(IncidentRefused) as error:
        await bench.service.silence(1, hours=1, by="Instructor Kim")
    assert refused(error) == Message("incident.err.no_matchers", {"id": 1})
    assert await alertmanager.silences() == []
    assert (await bench.incident()).silence_id is None


async def test_a_silence_lasts_one_or_four_hours(firing: Bench, alertmanager: AlertmanagerProcess) -> None:
    for hours in (0, 2, 24, -1):
        with pytest.raises(IncidentRefused) as error:
            await firing.service.silence(1, hours=hours, by="Instructor Kim")
        assert refused(error) == Message("incident.err.silence_hours", {"hours": hours})
    assert await alertmanager.silences() == []


async def test_without_an_alertmanager_there_is_nothing_to_silence_with(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("firing_three"))
    assert not bench.service.silences_enabled
    with pytest.raises(IncidentRefused) as error:
        await bench.service.silence(1, hours=1, by="Instructor Kim")
    assert refused(error) == Message("incident.err.no_alertmanager")
    with pytest.raises(IncidentRefused) as error:
        await bench.service.unsilence(1, by="Instructor Kim")
    assert refused(error) == Message("incident.err.no_alertmanager")


async def test_an_alertmanager_that_is_down_refuses_and_nothing_is_recorded(
    firing: Bench, alertmanager: AlertmanagerProcess
) -> None:
    silenced = await firing.service.silence(1, hours=1, by="Instructor Kim")
    await firing.service.receive(captured("no_namespace"))  # incident #2, another group
    await firing.publish()
    said = await firing.said()
    await alertmanager.stop()

    with pytest.raises(IncidentRefused) as error:
        await firing.service.silence(2, hours=1, by="Instructor Kim")
    assert error.value.message == Message("incident.err.alertmanager")
    second = await firing.incident(2)
    assert (second.silence_id, second.version, second.published_version) == (None, 1, 1)
    assert await firing.said(2) == []

    with pytest.raises(IncidentRefused) as error:
        await firing.service.unsilence(1, by="Instructor Kim")
    assert error.value.message.key == "incident.err.alertmanager"
    first = await firing.incident()
    assert (first.silence_id, first.version) == (silenced.silence_id, silenced.version)
    assert await firing.said() == said


async def test_unsilencing_clears_the_incident_even_when_alertmanager_no_longer_has_the_silence(
    firing: Bench, client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    # Someone expired it in Alertmanager's UI: Alertmanager answers 200 all the same.
    silenced = await firing.service.silence(1, hours=1, by="Instructor Kim")
    assert silenced.silence_id is not None
    await client.expire_silence(silenced.silence_id)
    assert (await firing.service.unsilence(1, by="Instructor Kim")).silence_id is None

    # Alertmanager lost its storage and never heard of it: 0.25 answers 500 "silence not found".
    unknown = str(uuid.uuid4())
    await firing.incidents.set_silence(1, silence_id=unknown, by="Instructor Kim", until=now() + timedelta(hours=1))
    incident = await firing.service.unsilence(1, by="Instructor Kim")
    assert (incident.silence_id, incident.silenced_until) == (None, None)
    assert [s["id"] for s in await alertmanager.silences()] == [silenced.silence_id]
    assert (await firing.said())[-1] == f"🔔 Instructor Kim lifted the silence (silence `{unknown}` expired)."


class UnwritableIncidents(IncidentStore):
    """The database refuses to record a silence (locked, gone)."""

    async def set_silence(self, incident_id: int, **kwargs: Any) -> Incident:
        raise StoreUnavailable("database sqlite:///kubecamp.db: database is locked")


async def test_a_silence_the_store_cannot_record_is_lifted_again(
    make: Make, store: Store, client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    bench = make(client, incidents=UnwritableIncidents(store.db))
    await bench.service.receive(captured("firing_three"))
    with pytest.raises(StoreUnavailable):
        await bench.service.silence(1, hours=4, by="Instructor Kim")
    # Alertmanager created it, but nothing could lift it from Discord: it must not keep silencing the group.
    [silence] = await alertmanager.silences()
    assert silence["status"]["state"] == "expired"
    assert (await bench.incident()).silence_id is None


class GatedAlertmanager(Alertmanager):
    """The real client, holding each `create_silence` until `expected` calls have arrived: both clicks have
    passed the service's check before either records its silence."""

    def __init__(self, *, base_url: str, expected: int) -> None:
        super().__init__(base_url=base_url)
        self._expected = expected
        self._arrived = 0
        self._all_in = asyncio.Event()

    async def create_silence(self, matchers: Mapping[str, str], **kwargs: Any) -> str:
        self._arrived += 1
        if self._arrived >= self._expected:
            self._all_in.set()
        async with asyncio.timeout(5.0):
            await self._all_in.wait()
        return await super().create_silence(matchers, **kwargs)


async def test_two_concurrent_silences_leave_one_active_and_expire_the_duplicate(
    make: Make, alertmanager: AlertmanagerProcess
) -> None:
    gated = GatedAlertmanager(base_url=alertmanager.url, expected=2)
    try:
        bench = make(gated)
        await bench.service.receive(captured("firing_three"))
        await bench.publish()
        results = await asyncio.gather(
            bench.service.silence(1, hours=1, by="Instructor Kim"),
            bench.service.silence(1, hours=4, by="Instructor Park"),
            return_exceptions=True,
        )
    finally:
        await gated.close()

    [won] = [r for r in results if isinstance(r, Incident)]
    [lost] = [r for r in results if isinstance(r, IncidentRefused)]
    assert lost.message == Message("incident.err.already_silenced", {"id": 1})
    silences = {s["id"]: s["status"]["state"] for s in await alertmanager.silences()}
    assert len(silences) == 2  # both reached Alertmanager…
    assert [i for i, state in silences.items() if state == "active"] == [won.silence_id]  # …one stays
    assert [state for i, state in silences.items() if i != won.silence_id] == ["expired"]
    incident = await bench.incident()
    assert (incident.silence_id, incident.silenced_by) == (won.silence_id, won.silenced_by)
    said = await bench.said()
    assert len(said) == 1 and f"`{won.silence_id}`" in said[0]


# -- reading -------------------------------------------------------------------------------------------------------


async def test_view_and_recent_show_the_incidents_with_their_threads_firing_first(make: Make) -> None:
    bench = make(None)
    await bench.service.receive(captured("firing_three"))
    await bench.publish()
    await bench.service.receive(captured("no_namespace"))  # #2, not published yet: no thread

    view = await bench.service.view(1)
    thread = await bench.publisher.thread_id(1)
    assert thread is not None
    assert (view.incident.id, view.thread_id, len(view.alerts)) == (1, thread, 3)
    assert (await bench.service.view(2)).thread_id is None
    assert [(i.id, t) for i, t in await bench.service.recent()] == [(2, None), (1, thread)]

    await bench.service.receive(captured("resolved_all"))
    await bench.service.receive(captured("firing_one", groupKey='{}:{alertname="Other"}'))  # #3
    assert [i.id for i, _ in await bench.service.recent()] == [3, 2, 1]  # firing first, newest first
    assert [i.id for i, _ in await bench.service.recent(status=IncidentStatus.resolved)] == [1]
    assert [i.id for i, _ in await bench.service.recent(limit=1)] == [3]
