"""Teams over a real SQLite store (the scoreboard: tests/test_scoreboard.py; submissions: tests/test_submissions.py)."""

from __future__ import annotations

import pytest

from bot.store import Store, StoreConflict
from bot.teams import AmbiguousTeam, TeamInvalid, TeamService


async def test_team_names_become_namespaces(store: Store) -> None:
    teams = TeamService(store=store, namespace_prefix="kubecamp-")
    team = await teams.create(" Blue ", role_id=11, channel_id=21)
    assert (team.name, team.namespace) == ("blue", "kubecamp-blue")
    for bad in ("", "Blue Team", "-x", "팀"):
        with pytest.raises(TeamInvalid):
            await teams.create(bad)
    with pytest.raises(StoreConflict):
        await teams.create("blue")
    assert [t.name for t in await teams.all()] == ["blue"]


async def test_a_member_belongs_to_the_team_of_their_role(store: Store) -> None:
    teams = TeamService(store=store, namespace_prefix="kubecamp-")
    await teams.create("blue", role_id=11)
    await teams.create("red", role_id=12)
    blue = await teams.of_member([99, 11])
    assert blue is not None and blue.name == "blue"
    assert await teams.of_member([99]) is None
    with pytest.raises(AmbiguousTeam):
        await teams.of_member([11, 12])
