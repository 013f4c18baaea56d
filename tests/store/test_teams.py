"""Teams in the store on a real, migrated SQLite file: names, namespaces, roles, and history that keeps a team."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import UnknownTeam
from bot.store import InvalidValue, Store, StoreConflict, Team

from .conftest import HOUR, T0

pytestmark = pytest.mark.every_database

MINUTE = timedelta(minutes=1)


async def test_teams(store: Store, team: Team) -> None:
    assert team.id is not None
    assert (await store.teams.get("Blue Whales")) == team
    assert (await store.teams.get("  Blue Whales ")) == team
    assert await store.teams.get("blue whales") is None
    assert (await store.teams.get_by_role(1001)) == team
    assert await store.teams.get_by_role(1) is None
    red = await store.teams.create("Red", "kc-red")
    assert [t.name for t in await store.teams.all()] == ["Blue Whales", "Red"]

    linked = await store.teams.link("Red", role_id=1002)
    assert (linked.discord_role_id, linked.discord_channel_id) == (1002, None)
    linked = await store.teams.link("Red", channel_id=2002)
    assert (linked.discord_role_id, linked.discord_channel_id) == (1002, 2002)
    assert (await store.teams.get_by_role(1002)) == linked

    await store.teams.remove("Red")
    assert await store.teams.get("Red") is None
    assert red.id not in {t.id for t in await store.teams.all()}


async def test_team_conflicts_and_invalid_values(store: Store, team: Team) -> None:
    with pytest.raises(StoreConflict, match="already exists"):
        await store.teams.create("Blue Whales", "kc-other")
    with pytest.raises(StoreConflict, match="namespace 'kc-blue-whales' already belongs"):
        await store.teams.create("Other", "kc-blue-whales")
    with pytest.raises(StoreConflict, match="role 1001 is already linked to team 'Blue Whales'"):
        await store.teams.create("Other", "kc-other", role_id=1001)
    await store.teams.create("Other", "kc-other")
    with pytest.raises(StoreConflict, match="role 1001"):
        await store.teams.link("Other", role_id=1001)
    await store.teams.link("Blue Whales", role_id=1001)  # its own role again: fine

    with pytest.raises(InvalidValue, match="DNS-1123"):
        await store.teams.create("Green", "KC_Green")
    with pytest.raises(InvalidValue, match="DNS-1123"):
        await store.teams.create("Green", "a" * 64)
    with pytest.raises(InvalidValue, match="DNS-1123"):  # `$` took a line's end: the newline is no label's
        await store.teams.create("Green", "kc-green\n")
    with pytest.raises(InvalidValue, match="1 to 40"):
        await store.teams.create("G" * 41, "kc-green")
    with pytest.raises(InvalidValue, match="1 to 40"):
        await store.teams.create("   ", "kc-green")
    with pytest.raises(UnknownTeam):
        await store.teams.link("Nobody", role_id=5)
    with pytest.raises(UnknownTeam):
        await store.teams.remove("Nobody")


async def test_a_team_with_history_is_not_removed(store: Store, team: Team) -> None:
    first = await store.runs.create(team.id, 1, T0, T0 + HOUR, ["a"], {})
    await store.runs.finish(first.id, "stopped", T0 + MINUTE, 60, 0, 0)
    second = await store.runs.create(team.id, 2, T0, T0 + HOUR, ["a"], {})
    with pytest.raises(StoreConflict, match=rf"runs #{first.id}, #{second.id}; they are kept as history"):
        await store.teams.remove(team.name)
    assert await store.teams.get(team.name) == team
