"""bot.discord.permissions: the instructors' role is known by its id. A second role named `instructor`, or a role
named with the instructors' role id, makes nobody an instructor: a student who has one can neither stop another
team's run nor export the scoreboard."""

from __future__ import annotations

import pytest

from tests.discord.live import Class, answer, slash, thread_of

NOT_INSTRUCTOR = "Only instructors can do that."


@pytest.mark.parametrize("named", ["instructor", "the instructors' role id"])
async def test_a_role_that_only_looks_like_the_instructors_is_not_it(live_class: Class, named: str) -> None:
    live = live_class
    await answer(await slash(live, "red-1", "team-red", "challenge", "start", challenge=2))
    await live.discord.wait_until(lambda: thread_of(live, "red"), 10, "red's run thread")
    look_alike = live.discord.add_role(
        live.room.guild, "instructor" if named == "instructor" else str(live.room.instructor_role.id)
    )
    live.discord.set_member_roles(live.room.guild, "blue-1", [live.room.team_roles["blue"], look_alike])

    stop = await slash(live, "blue-1", "team-blue", "challenge", "stop", team="red")
    assert stop.ephemeral and await answer(stop) == NOT_INSTRUCTOR
    export = await slash(live, "blue-1", "team-blue", "scoreboard", "export")
    assert export.ephemeral and await answer(export) == NOT_INSTRUCTOR
    assert export.original.attachments == []
    red = await live.app.store.teams.get("red")
    assert red is not None
    [run] = await live.app.store.runs.of_team(red.id)
    assert run.status == "active"
    assert live.kube.objects("deployments", "kubecamp-red") != []

    # The instructor, whose role is the configured id, can.
    exported = await slash(live, "instructor", "alerts", "scoreboard", "export")
    [csv] = exported.original.attachments
    assert csv.data.decode("utf-8-sig").startswith("rank,")
