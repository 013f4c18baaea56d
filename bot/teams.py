"""Teams: a name, a Discord role that makes a member part of it, a channel, a namespace, and the team's own
access to it (`bot.team_access`)."""

from __future__ import annotations

from bot.cluster import Cluster
from bot.clusters import ClusterRegistry, Placement
from bot.errors import KubecampError, MessageError, UnknownTeam
from bot.i18n import Message
from bot.store import Store, Team
from bot.team_access import TeamAccess, TeamKubeconfig
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


class OnOwnCluster(MessageError):
    """The team works on a cluster of its own: its kubeconfig is that cluster's, not one the bot makes."""


class TeamService:
    """`access` None: a team is only a record until its first run makes the namespace (no cluster at hand);
    `clusters`: which cluster each team is on, for `placed` (None: not asked)."""

    def __init__(
        self,
        *,
        store: Store,
        namespace_prefix: str,
        access: TeamAccess | None = None,
        clusters: ClusterRegistry | None = None,
    ) -> None:
        self._store = store
        self._prefix = namespace_prefix
        self._access = access
        self._clusters = clusters

    def namespace_for(self, name: str) -> str:
        return f"{self._prefix}{name}"

    async def create(
        self,
        name: str,
        *,
        role_id: int | None = None,
        channel_id: int | None = None,
        namespace: str | None = None,
        adopt: bool = False,
    ) -> Team:
        """A team named like a DNS label (it becomes part of the namespace name, unless one is given), with its
        namespace, ServiceAccount and RoleBinding made at once. An existing namespace the bot did not make is
        refused unless `adopt`. When the cluster refuses, the team is not kept. A team whose own cluster is
        registered already (its Secret came first) gets its namespace there, and no account: see `kubeconfig`."""
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
        team = await self._store.teams.create(name, namespace, role_id=role_id, channel_id=channel_id)
        try:
            own = await self._own_cluster(team)
            if own is not None:
                await own.ensure_namespace(team.namespace, team=team.name)
            elif self._access is not None:
                await self._access.open(team.name, team.namespace, adopt=adopt)
        except BaseException:
            await self._store.teams.remove(team.name)
            raise
        return team

    async def get(self, name: str) -> Team:
        team = await self._store.teams.get(name.strip().lower())
        if team is None:
            raise UnknownTeam(name)
        return team

    async def link(self, name: str, *, role_id: int | None = None, channel_id: int | None = None) -> Team:
        return await self._store.teams.link(name, role_id=role_id, channel_id=channel_id)

    async def remove(self, name: str) -> None:
        """Revoke the team's access first: a team the store then keeps (it has runs) can fetch a new kubeconfig.
        A team on its own cluster is revoked on the shared one all the same: it had its account there if it
        was made before its cluster was registered (nothing is done when it has none)."""
        team = await self.get(name)
        if self._access is not None:
            await self._access.revoke(team.name, team.namespace)
        await self._store.teams.remove(team.name)

    async def kubeconfig(self, team: Team, *, rotate: bool = False) -> TeamKubeconfig:
        """A kubeconfig for the team's namespace; `rotate` first invalidates every one made before. OnOwnCluster for
        a team on its own cluster: the bot has no team account there (the team administers that cluster)."""
        own = await self._own_cluster(team)
        if own is not None:
            raise OnOwnCluster(Message("team.kubeconfig_own_cluster", {"team": team.name, "server": own.server}))
        access = self._required_access()
        if rotate:
            await access.rotate(team.name, team.namespace)
        return await access.kubeconfig(team.name, team.namespace)

    async def _own_cluster(self, team: Team) -> Cluster | None:
        """The team's own cluster if one is registered for it (ClusterUnavailable when its Secret cannot be used)."""
        if self._clusters is None:
            return None
        cluster = await self._clusters.for_team(team.name)
        return cluster if cluster.owner == team.name else None

    def _required_access(self) -> TeamAccess:
        if self._access is None:
            raise AssertionError("TeamService without a cluster cannot hand out kubeconfigs")  # a wiring mistake
        return self._access

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
