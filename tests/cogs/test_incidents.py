"""/incidents list|show: instructors see the incidents Alertmanager reported; Discord hides the group from students.
Acknowledge is for the team whose namespace the incident is in and for instructors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord.live import Class, answer, deliver, incident_starter, slash

PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"


async def test_instructors_list_and_show_incidents(live_class: Class) -> None:
    live = live_class
    assert await deliver(live, (PAYLOADS / "firing_three.json").read_bytes()) == 200
    blue = live.room.team_channels["blue"]
    await live.discord.wait_until(lambda: live.discord.threads(blue), 10, "the incident thread")
    [thread] = live.discord.threads(blue)
    assert await live.app.outbox.drain(10)  # the bot has recorded where its thread landed

    with pytest.raises(PermissionError, match="does not offer it"):  # Discord hides it from students
        await slash(live, "blue-1", "team-blue", "incidents", "list")

    listed = await slash(live, "instructor", "alerts", "incidents", "list")
    text = await answer(listed)
    assert listed.ephemeral
    assert text.startswith("🔥 **#1** KubecampImagePullFailing · kubecamp-blue")
    assert f"<#{thread.id}>" in text
    resolved_only = await slash(live, "instructor", "alerts", "incidents", "list", status="resolved")
    assert await answer(resolved_only) == "There are no incidents yet."

    shown = await slash(live, "instructor", "alerts", "incidents", "show", incident=1)
    assert shown.ephemeral
    [message] = shown.messages
    assert message.embeds[0]["title"] == "🔥 KubecampImagePullFailing · kubecamp-blue"
    assert len(message.embeds[0]["fields"]) == 3
    assert f"<#{thread.id}>" in str(message.content)

    unknown = await slash(live, "instructor", "alerts", "incidents", "show", incident=99)
    assert await answer(unknown) == "There is no incident #99."


async def test_acknowledge_is_for_the_incidents_team_and_instructors(live_class: Class) -> None:
    live = live_class
    # Team green has no channel: its incidents go to #alerts, where every student reads.
    green_role = live.discord.add_role(live.room.guild, "team-green")
    green_student = live.discord.add_user("green-1", global_name="Green Student 1")
    live.discord.add_member(live.room.guild, green_student, roles=[green_role])
    await live.app.store.teams.create("green", "kubecamp-green", role_id=green_role.id)
    blue_body = (PAYLOADS / "firing_one.json").read_bytes()
    green_body = blue_body.replace(b"kubecamp-blue", b"kubecamp-green").replace(b"f0be1527", b"f0be1528")
    for body in (blue_body, green_body, (PAYLOADS / "no_namespace.json").read_bytes()):
        assert await deliver(live, body) == 200
    alerts, blue = live.room.alerts, live.room.team_channels["blue"]
    green, green_id = await incident_starter(live, alerts, "KubecampImagePullFailing", "kubecamp-green")
    node, node_id = await incident_starter(live, alerts, "KubeNodeNotReady")
    own, own_id = await incident_starter(live, blue, "KubecampImagePullFailing", "kubecamp-blue")

    # A student of another team, and anyone but an instructor on an incident of no team, is refused.
    other_team = await live.discord.click(green, f"kubecamp:incident:{green_id}:ack", "blue-1")
    assert other_team.ephemeral
    assert other_team.text() == f"Only team green or an instructor can acknowledge incident #{green_id}."
    no_team = await live.discord.click(node, f"kubecamp:incident:{node_id}:ack", "blue-1")
    assert no_team.text() == (
        f"Incident #{node_id} is in no team's namespace, so only an instructor can acknowledge it."
    )
    for incident_id in (green_id, node_id, own_id):
        incident = await live.app.store.incidents.get(incident_id)
        assert incident is not None and incident.acknowledged_by is None

    # The team's own members, wherever the thread is, and an instructor acknowledge.
    clicks = ((green, green_id, "green-1"), (own, own_id, "blue-2"), (node, node_id, "instructor"))
    for message, incident_id, user in clicks:
        done = await live.discord.click(message, f"kubecamp:incident:{incident_id}:ack", user)
        assert done.ephemeral and done.text() == f"You acknowledged incident #{incident_id}."
    acknowledged = {i: await live.app.store.incidents.get(i) for i in (green_id, own_id, node_id)}
    assert {i: x.acknowledged_by if x else None for i, x in acknowledged.items()} == {
        green_id: "Green Student 1",
        own_id: "Blue Student 2",
        node_id: "Instructor Kim",
    }
