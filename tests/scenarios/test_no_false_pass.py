"""No check passes on a broken scenario, at any moment while it stays broken.

Every namespaced scenario's broken manifests are applied with the bot's own server-side apply; the
behaviour simulator derives the status, and time moves on (back-offs, restarts, repeated events). At
each moment every check that is not a guard must fail or be unable to check, and each guard (what a
fix must keep: the Deployment behind a mis-set HPA, the pins) must pass: a guard failing on the broken
state would be a mislabelled check.
"""

from __future__ import annotations

import pytest

from bot.challenges.checks import Status
from bot.cluster import Cluster
from bot.i18n import render
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG, NAMESPACE, NAMESPACED

#: Seconds since the apply at each look: inside the first back-off, then across several restarts.
MOMENTS = (0, 15, 60, 180, 780)


@pytest.mark.parametrize(("challenge_id", "scenario_id"), NAMESPACED)
async def test_no_check_but_a_guard_passes_on_the_broken_state(
    cluster: Cluster, kube_cluster: KubeCluster, challenge_id: int, scenario_id: str
) -> None:
    scenario = CATALOG.get(challenge_id).scenario(scenario_id)
    for manifest in scenario.manifests:
        await cluster.apply(NAMESPACE, manifest.body)

    elapsed = 0
    for moment in MOMENTS:
        kube_cluster.advance(moment - elapsed)
        elapsed = moment
        snapshot = await cluster.snapshot(NAMESPACE, scenario.kinds)
        for check in scenario.checks:
            outcome = check.evaluate(snapshot)
            said = f"after {moment}s, {check.check_name} {check.args()}: {render(outcome.message, 'en')}"
            if check.guard:
                assert outcome.status is Status.PASS, said
            else:
                assert outcome.status is not Status.PASS, said


def test_every_namespaced_scenario_has_a_check_that_is_not_a_guard() -> None:
    for param in NAMESPACED:
        challenge_id, scenario_id = param.values
        scenario = CATALOG.get(int(str(challenge_id))).scenario(str(scenario_id))
        assert any(not check.guard for check in scenario.checks), scenario_id
