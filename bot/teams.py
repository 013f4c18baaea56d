"""Teams: a name, a Discord role that makes a member part of it, a channel, and a namespace."""

from __future__ import annotations

import re

from bot.errors import KubecampError, UnknownTeam
from bot.i18n import Message
from bot.store import Store, Team

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class TeamInvalid(KubecampError):
    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.reason = reason


class AmbiguousTeam(KubecampError):
    def __init__(self, teams: list[str]) -> None:
        super().__init__(f"member belongs to several teams: {', '.join(teams)}")
        self.teams = teams


class TeamService:
    def __init__(self, *, store: Store, namespace_prefix: str) -> None:
        self._store = store
        self._prefix = namespace_prefix

    def namespace_for(self, name: str) -> str:
        return f"{self._prefix}{name}"

    async def create(
        self, name: str, *, role_id: int | None = None, channel_id: int | None = None, namespace: str | None = None
    ) -> Team:
        """A team named like a DNS label (it becomes part of the namespace name, unless one is given)."""
        name = name.strip().lower()
        if not _NAME.match(name):
            raise TeamInvalid(
                f"team name {name!r}: use 1–40 lower-case letters, digits and dashes, starting and ending "
                "with a letter or digit (it becomes part of the namespace name)",
                reason=Message("team.invalid_name", {"team": name}),
            )
        namespace = namespace or self.namespace_for(name)
        if len(namespace) > 63:
            raise TeamInvalid(
                f"namespace {namespace!r} would be longer than 63 characters; choose a shorter name",
                reason=Message("team.namespace_too_long", {"namespace": namespace}),
            )
        return await self._store.teams.create(name, namespace, role_id=role_id, channel_id=channel_id)

    async def get(self, name: str) -> Team:
        team = await self._store.teams.get(name.strip().lower())
        if team is None:
            raise UnknownTeam(name)
        return team

    async def link(self, name: str, *, role_id: int | None = None, channel_id: int | None = None) -> Team:
        return await self._store.teams.link(name, role_id=role_id, channel_id=channel_id)

    async def remove(self, name: str) -> None:
        await self._store.teams.remove(name)

    async def all(self) -> list[Team]:
        return await self._store.teams.all()

    async def of_member(self, role_ids: list[int]) -> Team | None:
        """The team whose role the member has; None if none; AmbiguousTeam if several."""
        teams = [team for role_id in role_ids if (team := await self._store.teams.get_by_role(role_id)) is not None]
        if len(teams) > 1:
            raise AmbiguousTeam(sorted(t.name for t in teams))
        return teams[0] if teams else None
