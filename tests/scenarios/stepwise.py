"""A build's or a lab's items verified step by step as its reference is applied: after each step, exactly the
items said to pass by then pass, and every other one plainly fails (never "could not check")."""

from __future__ import annotations

from bot.challenges.checks import Status
from bot.challenges.reports import VerifyReport
from bot.challenges.runs import RunService
from bot.i18n import render
from tests.challenges.test_runs import Clock
from tests.emulators.kube import KubeCluster


class Steps:
    def __init__(self, service: RunService, kube_cluster: KubeCluster, clock: Clock, team: str = "blue") -> None:
        self._service = service
        self._kube = kube_cluster
        self._clock = clock
        self._team = team
        self.passed: set[str] = set()

    async def verify(self, minutes: float, *now_passing: str) -> VerifyReport:
        """Verify `minutes` after the start, a simulated minute after the last step (Pods start, probes pass, the
        HPA controller resyncs); `now_passing` join the items that pass."""
        self._kube.advance(60)
        self._clock.at(minutes)
        report = await self._service.verify(self._team)
        statuses = {r.scenario_id: r.status for r in report.results}
        self.passed.update(now_passing)
        failing = {
            r.scenario_id: [render(c.message, "en") for c in r.checks if c.status is not Status.PASS]
            for r in report.results
            if r.status is not Status.PASS
        }
        assert {i for i, s in statuses.items() if s is Status.PASS} == self.passed, failing
        assert all(s is Status.FAIL for i, s in statuses.items() if i not in self.passed), failing
        return report
