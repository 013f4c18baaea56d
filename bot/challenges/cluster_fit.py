"""What of a challenge a cluster can run, asked before a start touches anything.

Cluster-scope scenarios run only on a team's own cluster; a challenge's custom resources must be served; on a
team's own cluster the bot's kubeconfig must allow what the run will do. A start refused here changes nothing.
"""

from __future__ import annotations

from bot.challenges import access
from bot.challenges.catalog import Challenge, Scenario
from bot.cluster import Cluster
from bot.errors import MessageError
from bot.i18n import Message
from bot.kinds import KINDS


class ChallengeUnavailable(MessageError):
    """The cluster cannot run this challenge (missing CRDs, only cluster-scope scenarios)."""


def runnable(challenge: Challenge, *, own_cluster: bool = False) -> tuple[list[Scenario], dict[str, Message]]:
    """The scenarios a run deploys, and why the others are skipped. A cluster-scope scenario changes nodes
    or a node's files (`bot.challenges.breaks`): it runs only on the team's own cluster (`own_cluster`),
    and is otherwise skipped and left out of the run's points and time (scoring.plan)."""
    kept: list[Scenario] = []
    skipped: dict[str, Message] = {}
    for scenario in challenge.scenarios:
        if scenario.spec.scope == "cluster" and not own_cluster:
            skipped[scenario.id] = Message("run.skipped_cluster_scope", {"scenario": scenario.id})
        else:
            kept.append(scenario)
    return kept, skipped


async def runnable_on(
    cluster: Cluster, challenge: Challenge, *, team: str, namespace: str
) -> tuple[list[Scenario], dict[str, Message]]:
    """`runnable` for `team` on `cluster`, or ChallengeUnavailable when nothing can run there, a custom
    resource the scenarios apply is not served, or (on the team's own cluster) a permission is missing."""
    scenarios, skipped = runnable(challenge, own_cluster=cluster.owner == team)
    if not scenarios and not challenge.scored_by_items:
        raise ChallengeUnavailable(Message("run.only_cluster_scope", {"challenge": challenge.id}))
    needed = {KINDS[(m.body["apiVersion"], m.body["kind"])] for s in scenarios for m in s.manifests}
    missing = await cluster.missing_kinds(k for k in needed if k.crd)
    if missing:
        kinds = ", ".join(f"{k.kind} ({k.api_version})" for k in sorted(missing, key=lambda k: k.kind))
        raise ChallengeUnavailable(Message("run.crd_missing", {"challenge": challenge.id, "kinds": kinds}))
    if cluster.owner is not None:  # the shared cluster's rights are the chart's; an own one's, its kubeconfig's
        lacking = await access.missing(cluster, scenarios, namespace)
        if lacking:
            cannot = ", ".join(map(str, lacking))
            raise ChallengeUnavailable(
                Message("run.access_missing", {"team": team, "server": cluster.server, "missing": cannot})
            )
    return scenarios, skipped
