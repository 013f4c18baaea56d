"""Teams: a name, a Discord role that makes a member part of it, a channel, and a namespace."""

from __future__ import annotations

from bot.clusters import ClusterRegistry, Placement
from bot.errors import KubecampError, UnknownTeam
from bot.i18n import Message
from bot.store import Store, Team
from bot.values import DNS1123_LABEL_MAX, team_name


class TeamInvalid(KubecampError):
    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.reason = reason
        self.message = Message("err.invalid", {"detail": reason.to_json()})


class AmbiguousTeam(KubecampError):
    def __init__(self, teams: list[str]) -> None:
        super().__init__(f"member belongs to several teams: {', '.join(teams)}")
        self.teams = teams
        self.message = Message("err.ambiguous_team", {"teams": ", ".join(teams)})


class TeamService:
    def __init__(self, *, store: Store, namespace_prefix: str, clusters: ClusterRegistry | None = None) -> None:
        """`clusters`: which cluster each team is on, for `placed` (None: not asked)."""
        self._store = store
        self._prefix = namespace_prefix
        self._clusters = clusters

    def namespace_for(self, name: str) -> str:
        return f"{self._prefix}{name}"

    async def create(
        self, name: str, *, role_id: int | None = None, channel_id: int | None = None, namespace: str | None = None
    ) -> Team:
        """A team named like a DNS label (it becomes part of the namespace name, unless one is given)."""
        try:
            name = team_name(name)
        except ValueError as problem:
            typed = name.strip().lower()
            raise TeamInvalid(
                f"team name {typed!r}: {problem}", reason=Message("team.invalid_name", {"team": typed})
            ) from None
        namespace = namespace or self.namespace_for(name)
        if len(namespace) > DNS1123_LABEL_MAX:
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

    async def placed(self) -> list[tuple[Team, Placement | None]]:
        """Every team with the cluster it works on and whether that answers now (None: no registry to ask)."""
        teams = await self.all()
        if self._clusters is None:
            return [(team, None) for team in teams]
        placements = await self._clusters.placements(team.name for team in teams)
        return list(zip(teams, placements, strict=True))

    async def of_member(self, role_ids: list[int]) -> Team | None:
        """The team whose role the member has; None if none; AmbiguousTeam if several."""
        teams = [team for role_id in role_ids if (team := await self._store.teams.get_by_role(role_id)) is not None]
        if len(teams) > 1:
            raise AmbiguousTeam(sorted(t.name for t in teams))
        return teams[0] if teams else None
