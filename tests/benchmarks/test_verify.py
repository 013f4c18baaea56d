"""Benchmark 3, the verification at the 20-minute mark (`benchmarks.verify`), kept working: a small class
has every team's results posted in its thread, and kubectl, one process per check as the course's
verify-success.sh runs it, agrees with the bot on every check. Correctness only: the speed targets are
the benchmark's to report, not this machine's to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import verify
from benchmarks.harness import Measure
from tests.scenarios.test_catalogue_behaviour import CATALOG

SCALE = 0.125  # 5 teams; team i has fixed the first i of the 4 scenarios


def value(measures: list[Measure], what: str) -> float:
    (found,) = [m.value for m in measures if m.what == what]
    return found


@pytest.mark.reliability
async def test_a_small_class_gets_every_result_and_kubectl_agrees_with_the_bot(tmp_path: Path) -> None:
    teams = round(verify.TEAMS * SCALE)
    measures = await verify.run(tmp_path, scale=SCALE)

    assert value(measures, verify.POSTED) == teams
    checks = sum(len(s.checks) for s in CATALOG.get(verify.CHALLENGE).scenarios)
    assert value(measures, verify.COMPARED) == teams * checks
    assert value(measures, verify.DISAGREEMENTS) == 0
    assert value(measures, "kubectl processes per team") >= checks
