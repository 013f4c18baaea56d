"""Registering a team's own cluster from the shell: `kubecamp team cluster set|unset`.

The kubeconfig goes where the bot reads it (`bot.clusters`): a Secret in the bot's namespace, written through
the shared cluster's API with the instructor's own credentials. Nothing of it reaches the database or a log,
and it is never printed back: only the server URL and whether it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import own_kubeconfig
from bot.cluster import Cluster, kubeconfig_client
from bot.clusters import (
    PING_SECONDS,
    apply_secret,
    delete_secret,
    list_secrets,
    secret_body,
    secret_name,
    unanswered,
)
from bot.errors import ConfigInvalid, KubecampError, RunConflict, UnknownTeam
from bot.i18n import Message
from bot.store import Store, Team
from bot.team_namespace import TEAM_LABEL, NamespaceSetup


@dataclass(frozen=True)
class Registered:
    team: str
    #: Where the kubeconfig is kept: the Secret, as namespace/name.
    secret: str
    server: str
    #: Why the cluster did not answer when it was registered (None: it answered).
    unreachable: Message | None
    #: The team's namespace, made there at once (set up as on the shared cluster) when the cluster answered.
    namespace: str
    #: Why the namespace could not be made there (None: it is there, or the cluster did not answer).
    namespace_problem: Message | None = None


class TeamClusters:
    """`shared`: the cluster the bot runs on (the Secrets are there); `namespace`: the bot's own namespace."""

    def __init__(
        self, *, store: Store, shared: Cluster, namespace: str | None, setup: NamespaceSetup | None = None
    ) -> None:
        self._store = store
        self._shared = shared
        self._namespace = namespace
        self._setup = setup or NamespaceSetup()

    async def set(self, team_name: str, kubeconfig: Path, *, context: str | None = None) -> Registered:
        """Register the kubeconfig's context as the team's own cluster (replacing one registered before), and make
        the team's namespace there if it answers (else its first start does), so the team can look around at once."""
        config = own_kubeconfig.from_file(kubeconfig, context=context)
        namespace = self._bot_namespace()
        team = await self._idle_team(team_name)
        # Loaded first: a kubeconfig the client cannot use is refused before anything is kept.
        cluster = Cluster(
            api=await kubeconfig_client(config, where=str(kubeconfig)),
            timeout=PING_SECONDS,
            setup=self._setup,
            owner=team.name,
        )
        problem: Message | None = None
        try:
            body = secret_body(team.name, config)
            await apply_secret(self._shared, namespace, body)
            unreachable = await unanswered(cluster, within=PING_SECONDS)
            if unreachable is None:
                try:
                    await cluster.ensure_namespace(team.namespace, team=team.name)
                except KubecampError as exc:  # registered all the same: a start says the same again
                    problem = exc.message
        finally:
            await cluster.close()
        secret = f"{namespace}/{body['metadata']['name']}"
        return Registered(team.name, secret, cluster.server, unreachable, team.namespace, problem)

    async def unset(self, team_name: str) -> list[str]:
        """Put the team back on the shared cluster: delete every Secret that registers its own. The names deleted."""
        namespace = self._bot_namespace()
        team = await self._idle_team(team_name)
        found = await list_secrets(self._shared, namespace, label_selector=f"{TEAM_LABEL}={team.name}")
        names = sorted({secret_name(team.name), *(str(s["metadata"]["name"]) for s in found)})
        return [f"{namespace}/{name}" for name in names if await delete_secret(self._shared, namespace, name)]

    def _bot_namespace(self) -> str:
        if self._namespace is None:
            raise ConfigInvalid(
                "KUBECAMP_KUBE_BOT_NAMESPACE is not set (expected the bot's namespace, where team clusters are"
                " registered: the namespace the chart is installed in)"
            )
        return self._namespace

    async def _idle_team(self, name: str) -> Team:
        """The team, which must have no run under way: its run's objects are on the cluster it has now."""
        team = await self._store.teams.get(name.strip().lower())
        if team is None:
            raise UnknownTeam(name)
        run = await self._store.runs.active(team.id)
        if run is not None:
            raise RunConflict(
                f"team {team.name} has challenge {run.challenge_id} running; stop it before changing its cluster",
                reason=Message("conflict.cluster_in_use", {"team": team.name, "challenge": run.challenge_id}),
            )
        return team
