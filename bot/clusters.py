"""Which cluster a team works on: the shared one, or its own, registered as a Secret in the bot's namespace.

A team's own cluster is a Secret labelled `kubecamp.io/team: <team>` holding a kubeconfig (key `kubeconfig`, and
optionally `context`), made by `kubecamp team cluster set` or by hand. It is the one record of it: nothing about
it is kept in the database, so its credentials are in no file of the bot's, and whoever may read Secrets in
the bot's namespace is who may read them anyway.

`ClusterRegistry.for_team` gives the `Cluster` to use for a team. The Secrets are listed at most every
`refresh_seconds`: a Secret that changed (its resourceVersion) gets a new client on its next use, one removed
puts its team back on the shared cluster. A team with a Secret never falls back to the shared cluster: a Secret
the bot cannot use is an error for that team alone. One client per cluster, made on first use; the clients a
change replaced are closed with the registry, not while a request of theirs may still be under way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot import own_kubeconfig
from bot.cluster import Cluster, ObjectNotFound, kubeconfig_client
from bot.errors import ClusterError, ClusterUnavailable
from bot.i18n import Message
from bot.kinds import BY_NAME
from bot.metrics import Metrics
from bot.own_kubeconfig import CONTEXT_KEY, KUBECONFIG_KEY, KubeconfigInvalid
from bot.team_namespace import FIELD_MANAGER, MANAGED_BY, TEAM_LABEL, NamespaceSetup

log = logging.getLogger(__name__)

#: Seconds between two readings of the Secrets: how soon a registration, change or removal takes effect.
REFRESH_SECONDS = 10.0
#: Seconds a reachability check of /team list waits for an API server.
PING_SECONDS = 3.0
#: The name `kubecamp team cluster set` gives a team's Secret.
SECRET_PREFIX = "kubecamp-cluster-"  # noqa: S105 - a name, not a password


def secret_name(team: str) -> str:
    return f"{SECRET_PREFIX}{team}"


def secret_body(team: str, config: dict[str, Any]) -> dict[str, Any]:
    """The Secret that registers `config` (one context, see `bot.own_kubeconfig`) as the team's own cluster."""
    text = own_kubeconfig.dump(config)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(team), "labels": {TEAM_LABEL: team, MANAGED_BY: FIELD_MANAGER}},
        "type": "Opaque",
        "data": {KUBECONFIG_KEY: base64.b64encode(text.encode()).decode()},
    }


# --- the bot's own namespace: the Secrets that register a team's own cluster -------------------------


async def list_secrets(shared: Cluster, namespace: str, *, label_selector: str) -> list[dict[str, Any]]:
    """The Secrets of a namespace the bot does not manage (its own) that carry a label; [] if it is gone."""
    path = BY_NAME["Secret"].collection_path(namespace)
    try:
        listing = await shared.call("GET", path, query=[("labelSelector", label_selector)])
    except ObjectNotFound:
        return []
    return list(listing.get("items") or [])


async def apply_secret(shared: Cluster, namespace: str, body: dict[str, Any]) -> None:
    """Server-side apply of a Secret into the bot's own namespace (not a team's: no namespace guard)."""
    await shared.call(
        "PATCH",
        BY_NAME["Secret"].object_path(namespace, body["metadata"]["name"]),
        body=body,
        query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        content_type="application/apply-patch+yaml",
    )


async def delete_secret(shared: Cluster, namespace: str, name: str) -> bool:
    """Delete a Secret of the bot's own namespace; False if it was gone."""
    try:
        await shared.call("DELETE", BY_NAME["Secret"].object_path(namespace, name))
    except ObjectNotFound:
        return False
    return True


@dataclass(frozen=True)
class Placement:
    """Where a team works, as `/team list` shows it: the server URL and whether it answered, never credentials."""

    team: str
    server: str
    own: bool
    reachable: bool
    #: Why it is unreachable, or why its Secret cannot be used.
    problem: Message | None = None


@dataclass
class _Registered:
    secret: str
    version: str
    config: dict[str, Any] | None
    problem: ClusterError | None
    cluster: Cluster | None = field(default=None)


class ClusterRegistry:
    """The team's `Cluster`. `namespace`: the bot's own, where the Secrets are; None: every team on the shared one."""

    def __init__(
        self,
        *,
        shared: Cluster,
        namespace: str | None = None,
        request_timeout: float = 10.0,
        metrics: Metrics | None = None,
        setup: NamespaceSetup | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        ping_seconds: float = PING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.namespace = namespace
        self._timeout = request_timeout
        self._metrics = metrics
        # On a team's own cluster the bot binds no team role of the shared cluster's chart: that ClusterRole
        # is not there. The quota, the limits and the Pod Security level are the same.
        self._setup = NamespaceSetup(pod_security=setup.pod_security) if setup is not None else None
        self._refresh_seconds = refresh_seconds
        self._ping_seconds = ping_seconds
        self._clock = clock
        self._teams: dict[str, _Registered] = {}
        self._read_at: float | None = None
        self._reading = asyncio.Lock()
        self._making = asyncio.Lock()
        self._retired: list[Cluster] = []

    async def for_team(self, team: str) -> Cluster:
        """The cluster the team works on. ClusterUnavailable when its Secret cannot be used (or, before they
        were ever read, the Secrets cannot be)."""
        await self.refresh()
        registered = self._teams.get(team)
        if registered is None:
            return self.shared
        if registered.problem is not None:
            raise registered.problem
        async with self._making:  # two first uses at once must not make two clients, one never closed
            if registered.cluster is None:
                assert registered.config is not None  # noqa: S101 - a registration without a problem has its config
                registered.cluster = Cluster(
                    api=await kubeconfig_client(registered.config, where=self._where(registered.secret)),
                    timeout=self._timeout,
                    metrics=self._metrics,
                    setup=self._setup,
                    owner=team,
                )
            return registered.cluster

    async def refresh(self, *, now: bool = False) -> None:
        """Read the Secrets again if `refresh_seconds` have passed since the last time (or `now`)."""
        if self.namespace is None or (not now and self._fresh()):
            return
        async with self._reading:
            if not now and self._fresh():
                return
            try:
                secrets = await list_secrets(self.shared, self.namespace, label_selector=TEAM_LABEL)
            except ClusterError:
                if self._read_at is None:
                    raise
                log.warning(
                    "cannot read the teams' cluster Secrets in %s; keeping what was read before", self.namespace
                )
                return
            self._update(secrets)
            self._read_at = self._clock()

    async def placements(self, teams: Iterable[str]) -> list[Placement]:
        """Each team's cluster and whether it answers now (each cluster asked once, all at the same time)."""
        names = list(teams)
        clusters: dict[str, Cluster | ClusterError] = {}
        for team in names:
            try:
                clusters[team] = await self.for_team(team)
            except ClusterError as exc:
                clusters[team] = exc
        distinct = {id(c): c for c in clusters.values() if isinstance(c, Cluster)}
        answers = dict(
            zip(
                distinct,
                await asyncio.gather(*(unanswered(c, within=self._ping_seconds) for c in distinct.values())),
                strict=True,
            )
        )
        placements = []
        for team in names:
            cluster = clusters[team]
            if isinstance(cluster, ClusterError):
                registered = self._teams.get(team)  # None: the Secrets themselves could not be read
                where = self._where(registered.secret) if registered is not None else self.shared.server
                placements.append(
                    Placement(team, where, own=registered is not None, reachable=False, problem=cluster.reason)
                )
            else:
                problem = answers[id(cluster)]
                placements.append(
                    Placement(
                        team, cluster.server, own=cluster.owner is not None, reachable=problem is None, problem=problem
                    )
                )
        return placements

    async def close(self) -> None:
        """Close every team's client (the shared one is its owner's to close)."""
        clusters = [*self._retired, *(r.cluster for r in self._teams.values() if r.cluster is not None)]
        self._retired.clear()
        self._teams.clear()
        for cluster in clusters:
            await cluster.close()

    # --- internals ------------------------------------------------------------------------------

    def _fresh(self) -> bool:
        return self._read_at is not None and self._clock() - self._read_at < self._refresh_seconds

    def _where(self, secret: str) -> str:
        return f"Secret {self.namespace}/{secret}"

    def _update(self, secrets: list[dict[str, Any]]) -> None:
        by_team: dict[str, list[dict[str, Any]]] = {}
        for secret in secrets:
            team = str((secret.get("metadata", {}).get("labels") or {}).get(TEAM_LABEL) or "")
            if team:
                by_team.setdefault(team, []).append(secret)
        for team in set(self._teams) - set(by_team):
            log.info("team %s: its cluster Secret is gone; back on the shared cluster", team)
            self._retire(self._teams.pop(team))
        for team, found in sorted(by_team.items()):
            found.sort(key=lambda s: str(s["metadata"].get("name")))
            version = ",".join(f"{s['metadata'].get('name')}@{s['metadata'].get('resourceVersion')}" for s in found)
            before = self._teams.get(team)
            if before is not None and before.version == version:
                continue
            if before is not None:
                self._retire(before)
            self._teams[team] = self._registration(team, found, version)
            log.info("team %s: cluster registered by %s", team, ", ".join(s["metadata"].get("name", "") for s in found))

    def _retire(self, registered: _Registered) -> None:
        if registered.cluster is not None:
            self._retired.append(registered.cluster)

    def _registration(self, team: str, found: list[dict[str, Any]], version: str) -> _Registered:
        name = str(found[0]["metadata"].get("name"))
        where = self._where(name)
        if len(found) > 1:
            names = ", ".join(str(s["metadata"].get("name")) for s in found)
            problem = ClusterUnavailable(
                f"team {team}: several Secrets register its cluster ({names})",
                reason=Message("clusters.ambiguous", {"team": team, "secrets": names}),
            )
            return _Registered(name, version, None, problem)
        data = found[0].get("data") or {}
        try:
            text = _decoded(data, KUBECONFIG_KEY)
            if text is None:
                raise KubeconfigInvalid(
                    f"{where}: no key {KUBECONFIG_KEY}",
                    message=Message("clusters.no_kubeconfig", {"where": where, "key": KUBECONFIG_KEY}),
                )
            config = own_kubeconfig.from_text(text, context=_decoded(data, CONTEXT_KEY), where=where)
        except KubeconfigInvalid as exc:
            log.warning("team %s: %s", team, exc)
            problem = ClusterUnavailable(
                str(exc), reason=Message("clusters.unusable", {"team": team, "problem": exc.message.to_json()})
            )
            return _Registered(name, version, None, problem)
        return _Registered(name, version, config, None)


async def unanswered(cluster: Cluster, *, within: float) -> Message | None:
    """Why the cluster's API server did not answer within `within` seconds; None when it did."""
    try:
        async with asyncio.timeout(within):
            await cluster.ping()
    except TimeoutError:
        return Message("cluster.timeout", {"seconds": f"{within:g}"})
    except ClusterError as exc:
        return exc.reason
    return None


def _decoded(data: dict[str, Any], key: str) -> str | None:
    """A Secret's value as text; None when the key is not there or is not base64 of UTF-8 text."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8").strip() or None
    except (binascii.Error, UnicodeDecodeError):
        return None
