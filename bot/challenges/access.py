"""What a start needs to be allowed on a team's own cluster, asked of that cluster before anything is touched.

The bot's rights on the shared cluster are the chart's (its roles are tested with the chart); on a team's own
cluster they are whatever the instructor's kubeconfig gives. A start there first asks the API server, one
SelfSubjectAccessReview per permission (`kubectl auth can-i`), for everything the start, the verifications and
the stop will do, and refuses with the permissions missing named, rather than failing half-way through
breaking the cluster. The list is the one `docs/deploy.md` and the chart's values give as the kubeconfig's
required permissions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bot.challenges.breaks import BREAKS_NAMESPACE, BreakSpec, EditStaticPod, ExhaustNode, TaintNode
from bot.challenges.catalog import Scenario
from bot.challenges.checks.nodes import ALL_PODS, READYZ, SYSTEM_PODS
from bot.challenges.deploy import clearable_kinds
from bot.cluster import Cluster
from bot.kinds import BY_NAME, KINDS, Kind


@dataclass(frozen=True)
class Access:
    """One permission: a verb on a resource, in a namespace (None: cluster-wide); or on a path of the API
    server (`resource` starting with "/", e.g. `/readyz`)."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.verb, self.resource, self.group, self.namespace or "")

    def __str__(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {resource}" + (f" in {self.namespace}" if self.namespace else "")


_NODES = frozenset({Access("get", "nodes"), Access("list", "nodes")})
_CHANGE_NODE = _NODES | {Access("patch", "nodes")}

#: What each kind of break does through the API (`bot.challenges.breaking`), from start to stop: every break
#: first reads the nodes to pick its node; a node's labels, annotation and taints change by a patch; the
#: breaks' own objects live in BREAKS_NAMESPACE, made with the namespaces' get/create every run has.
BREAK_ACCESS: dict[type[BreakSpec], frozenset[Access]] = {
    TaintNode: _CHANGE_NODE,
    ExhaustNode: _CHANGE_NODE
    | {
        Access("list", "pods"),  # what the node's Pods request already, in every namespace
        Access("patch", "daemonsets", "apps", BREAKS_NAMESPACE),
        Access("delete", "daemonsets", "apps", BREAKS_NAMESPACE),
    },
    EditStaticPod: _NODES | {Access(verb, "pods", namespace=BREAKS_NAMESPACE) for verb in ("create", "get", "delete")},
}

#: What the cluster-scope checks read besides kinds (`bot.challenges.cluster_view`).
VIEW_ACCESS: dict[str, frozenset[Access]] = {
    ALL_PODS: frozenset({Access("list", "pods")}),
    SYSTEM_PODS: frozenset({Access("list", "pods", namespace="kube-system")}),
    READYZ: frozenset({Access("get", READYZ)}),
}


def _on(kind: Kind, verbs: Iterable[str], namespace: str) -> set[Access]:
    return {Access(verb, kind.plural, kind.group, namespace if kind.namespaced else None) for verb in verbs}


def needed(scenarios: Iterable[Scenario], namespace: str) -> set[Access]:
    """Every permission a run of these scenarios in `namespace` uses, from start to stop."""
    chosen = list(scenarios)
    access = {Access("get", "namespaces"), Access("create", "namespaces")}
    # The namespace's set-up (bot.team_namespace): its quota and default limits.
    access |= {
        Access("create", "resourcequotas", namespace=namespace),
        Access("create", "limitranges", namespace=namespace),
    }
    for name in clearable_kinds():  # the start clears the namespace: it lists every kind it finds served, and deletes
        access |= _on(BY_NAME[name], ["list", "delete"], namespace)
    for scenario in chosen:
        for manifest in (*scenario.previous, *scenario.manifests):  # server-side apply is a patch
            kind = KINDS[(manifest.body["apiVersion"], manifest.body["kind"])]
            access |= _on(kind, ["get", "list", "patch", "delete"], namespace)
        for name in scenario.kinds:  # what the checks read
            access |= VIEW_ACCESS[name] if name in VIEW_ACCESS else _on(BY_NAME[name], ["list"], namespace)
        for spec in scenario.breaks:
            access |= BREAK_ACCESS[type(spec)]
    return access


async def missing(cluster: Cluster, scenarios: Iterable[Scenario], namespace: str) -> list[Access]:
    """The permissions of `needed` the cluster's authorizer does not give this client's user, sorted."""
    wanted = sorted(needed(scenarios, namespace), key=Access.sort_key)
    answers = await asyncio.gather(
        *(cluster.allowed(a.verb, a.resource, group=a.group, namespace=a.namespace) for a in wanted)
    )
    return [a for a, allowed in zip(wanted, answers, strict=True) if not allowed]
