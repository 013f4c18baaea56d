"""A team's own way into the cluster: its namespace, a ServiceAccount, and a kubeconfig made on demand.

Each team has a ServiceAccount named like its namespace, in one namespace for all of them (the bot's own,
`accounts_namespace`), labelled with the bot's label and the team. A RoleBinding in the team's namespace
binds the team-access ClusterRole (the chart's) to it: the team works in its namespace and nowhere else.
The chart binds a read-only ClusterRole for nodes, StorageClasses and PersistentVolumes to the group of the
ServiceAccounts of that namespace, so no team needs a cluster-wide binding of its own.

A kubeconfig holds a bound token from the TokenRequest API that expires after `token_hours`. Tokens are
made when asked for and handed over, never logged or stored; deleting and recreating the ServiceAccount
(`rotate`, and `revoke` when the team is removed) invalidates every token made before.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from bot.cluster import Cluster, ObjectExists, ObjectNotFound
from bot.config import KubeSettings
from bot.errors import ClusterError, KubecampError, NamespaceNotManaged
from bot.i18n import Message
from bot.kinds import BY_NAME
from bot.team_namespace import FIELD_MANAGER, MANAGED_BY, TEAM_LABEL, NamespaceSetup

log = logging.getLogger(__name__)

#: The RoleBinding that gives a team its rights in its namespace.
ACCESS_BINDING = "kubecamp-team-access"
#: The ConfigMap every namespace holds with the cluster's CA (the root CA publisher's).
ROOT_CA = "kube-root-ca.crt"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


class TeamAccessUnavailable(KubecampError):
    """Team access is not configured, or the students' server URL is not set; the message says which setting."""

    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.message = reason


class NamespaceTaken(KubecampError):
    """A namespace the bot did not make (or made for another team) stands where the team's would be."""

    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.message = reason


@dataclass(frozen=True, kw_only=True)
class AccessSetup:
    """How teams reach the cluster.

    :param role: the ClusterRole bound to a team's ServiceAccount in its namespace (the chart's team-access role).
    :param accounts_namespace: where the teams' ServiceAccounts live (the bot's namespace).
    :param token_hours: how long a kubeconfig's token is valid: the length of a class day.
    :param server: the API server's URL as students reach it (it differs from the bot's in-cluster URL).
    """

    role: str
    accounts_namespace: str
    token_hours: float
    server: str | None = None

    @classmethod
    def of(cls, settings: KubeSettings) -> AccessSetup | None:
        """From the KUBECAMP_KUBE_TEAM_* settings; None when team access is not configured."""
        if settings.team_access_role is None or settings.team_accounts_namespace is None:
            return None
        return cls(
            role=settings.team_access_role,
            accounts_namespace=settings.team_accounts_namespace,
            token_hours=settings.team_token_hours,
            server=settings.team_server,
        )


@dataclass(frozen=True, kw_only=True)
class TeamKubeconfig:
    """A kubeconfig file for one team; `text` holds a live token: hand it over, never keep or log it."""

    team: str
    namespace: str
    text: str
    expires_at: str

    @property
    def filename(self) -> str:
        return f"{self.namespace}.kubeconfig"

    def __repr__(self) -> str:  # the token must not reach a log through a repr
        return f"TeamKubeconfig(team={self.team!r}, namespace={self.namespace!r}, expires_at={self.expires_at!r})"


class TeamAccess:
    """Opens, hands out and revokes teams' access. Create with the bot's `Cluster`; `setup` None: teams get
    their namespace only (a cluster without the chart's team-access role)."""

    def __init__(self, *, cluster: Cluster, setup: AccessSetup | None, namespaces: NamespaceSetup) -> None:
        self._cluster = cluster
        self._setup = setup
        self._namespaces = namespaces

    async def open(self, team: str, namespace: str, *, adopt: bool = False) -> None:
        """Make the team's namespace (or, with `adopt`, label an existing one as the team's), then its
        ServiceAccount and the RoleBinding of the team-access role. Idempotent."""
        await self._namespace(team, namespace, adopt=adopt)
        if self._setup is None:
            return
        await self._account(team, namespace)
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": ACCESS_BINDING, "namespace": namespace, "labels": self._labels(team)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self._setup.role},
            "subjects": [{"kind": "ServiceAccount", "name": namespace, "namespace": self._setup.accounts_namespace}],
        }
        with contextlib.suppress(ObjectExists):  # there already: its roleRef cannot change
            await self._cluster.call("POST", f"{RBAC}/namespaces/{namespace}/rolebindings", body=binding)

    async def kubeconfig(self, team: str, namespace: str) -> TeamKubeconfig:
        """A kubeconfig for the team's namespace with a fresh bound token (its ServiceAccount made if missing:
        a team from before team access existed gets it at its first request)."""
        setup = self._required()
        if not setup.server:
            raise TeamAccessUnavailable("KUBECAMP_KUBE_TEAM_SERVER is not set", reason=Message("team.access_no_server"))
        await self.open(team, namespace)
        seconds = round(setup.token_hours * 3600)
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        answer = await self._cluster.call("POST", f"{self._account_path(namespace)}/token", body=request)
        status = answer.get("status") or {}
        token, expires = str(status.get("token") or ""), str(status.get("expirationTimestamp") or "")
        if not token:
            raise ClusterError(f"TokenRequest for {namespace}: no token in the answer")
        text = _kubeconfig(server=setup.server, ca=await self._cluster_ca(namespace), namespace=namespace, token=token)
        log.info("issued a kubeconfig for team %s, valid until %s", team, expires)
        return TeamKubeconfig(team=team, namespace=namespace, text=text, expires_at=expires)

    async def rotate(self, team: str, namespace: str) -> None:
        """Revoke every token of the team (delete its ServiceAccount) and make the account again."""
        await self.revoke(team, namespace)
        await self.open(team, namespace)
        log.info("rotated the access of team %s: earlier kubeconfigs no longer work", team)

    async def revoke(self, team: str, namespace: str) -> None:
        """Delete the team's ServiceAccount, so that no token made for it works any more. Nothing to do when it is
        gone; an account of that name that is not the team's is left alone."""
        if self._setup is None:
            return
        try:
            account = await self._cluster.call("GET", self._account_path(namespace))
        except ObjectNotFound:
            return
        self._require_team(account, team, namespace)
        try:
            await self._cluster.call(
                "DELETE", self._account_path(namespace), body={"kind": "DeleteOptions", "apiVersion": "v1"}
            )
        except ObjectNotFound:
            return
        log.info("revoked the access of team %s", team)

    # --- parts --------------------------------------------------------------------------------

    def _required(self) -> AccessSetup:
        if self._setup is None:
            raise TeamAccessUnavailable(
                "team access is off: KUBECAMP_KUBE_TEAM_ACCESS_ROLE and _TEAM_ACCOUNTS_NAMESPACE are not set",
                reason=Message("team.access_off"),
            )
        return self._setup

    def _labels(self, team: str) -> dict[str, str]:
        return {MANAGED_BY: FIELD_MANAGER, TEAM_LABEL: team}

    def _account_path(self, namespace: str) -> str:
        return BY_NAME["ServiceAccount"].object_path(self._required().accounts_namespace, namespace)

    async def _namespace(self, team: str, namespace: str, *, adopt: bool) -> None:
        path = BY_NAME["Namespace"].object_path(None, namespace)
        try:
            existing = await self._cluster.call("GET", path)
        except ObjectNotFound:
            existing = None
        labels = ((existing or {}).get("metadata") or {}).get("labels") or {}
        if existing is not None and labels.get(MANAGED_BY) != FIELD_MANAGER:
            if not adopt:
                raise NamespaceTaken(
                    f"namespace {namespace!r} exists and kubecamp-bot did not make it; --adopt makes it the team's",
                    reason=Message("team.namespace_exists", {"namespace": namespace, "team": team}),
                )
            wanted = self._namespaces.namespace(namespace, team=team)["metadata"]["labels"]
            await self._cluster.call(
                "PATCH", path, body={"metadata": {"labels": wanted}}, content_type="application/merge-patch+json"
            )
            log.info("adopted namespace %s for team %s", namespace, team)
        elif existing is not None and labels.get(TEAM_LABEL) not in (None, team):
            raise NamespaceTaken(
                f"namespace {namespace!r} belongs to team {labels.get(TEAM_LABEL)!r}",
                reason=Message("team.namespace_of_other", {"namespace": namespace, "other": labels.get(TEAM_LABEL)}),
            )
        try:
            await self._cluster.ensure_namespace(namespace, team=team)
        except NamespaceNotManaged as exc:  # made by someone else between the two reads
            raise NamespaceTaken(
                str(exc), reason=Message("team.namespace_exists", {"namespace": namespace, "team": team})
            ) from exc

    async def _account(self, team: str, namespace: str) -> None:
        setup = self._required()
        body = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": namespace, "namespace": setup.accounts_namespace, "labels": self._labels(team)},
            # Its tokens come from TokenRequest only; no token Secret is ever mounted or made.
            "automountServiceAccountToken": False,
        }
        try:
            await self._cluster.call(
                "POST", BY_NAME["ServiceAccount"].collection_path(setup.accounts_namespace), body=body
            )
        except ObjectExists:
            self._require_team(await self._cluster.call("GET", self._account_path(namespace)), team, namespace)

    def _require_team(self, account: dict[str, Any], team: str, namespace: str) -> None:
        labels = (account.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) != FIELD_MANAGER or labels.get(TEAM_LABEL) != team:
            where = f"{self._required().accounts_namespace}/{namespace}"
            raise NamespaceTaken(
                f"ServiceAccount {where} exists and is not team {team}'s; kubecamp-bot leaves it alone",
                reason=Message("team.account_taken", {"account": where}),
            )

    async def _cluster_ca(self, namespace: str) -> str:
        """The cluster's CA from the namespace's kube-root-ca.crt (every namespace has it); "" when absent."""
        # By list, not get: the bot's role in a team namespace lists ConfigMaps and never reads one by name.
        listing = await self._cluster.call(
            "GET",
            BY_NAME["ConfigMap"].collection_path(namespace),
            query=[("fieldSelector", f"metadata.name={ROOT_CA}")],
        )
        for item in listing.get("items") or []:
            return str((item.get("data") or {}).get("ca.crt") or "")
        return ""


def _kubeconfig(*, server: str, ca: str, namespace: str, token: str) -> str:
    cluster: dict[str, Any] = {"server": server}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubecamp", "cluster": cluster}],
        "users": [{"name": namespace, "user": {"token": token}}],
        "contexts": [
            {"name": namespace, "context": {"cluster": "kubecamp", "user": namespace, "namespace": namespace}}
        ],
        "current-context": namespace,
    }
    return yaml.safe_dump(config, sort_keys=False)


def kubeconfig_expiry(kubeconfig: TeamKubeconfig) -> datetime:
    """When the kubeconfig's token stops working (the API server's expirationTimestamp)."""
    return datetime.fromisoformat(kubeconfig.expires_at.replace("Z", "+00:00"))
