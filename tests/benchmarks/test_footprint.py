"""Benchmark 4, the footprint of `kubecamp run` (`benchmarks.footprint`), kept working: two equal rounds of alerts
go through a real process, every notification is taken, and what is reported is consistent. The targets are the
benchmark's to report, not this machine's to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import footprint

SCALE = 0.1


@pytest.mark.reliability
@pytest.mark.xdist_group("kubecamp-processes")  # measures a `kubecamp run` process: one such test at a time
async def test_two_equal_rounds_are_measured_on_the_bots_process(tmp_path: Path) -> None:
    measures = {m.what: m.value for m in await footprint.run(tmp_path, scale=SCALE)}
    per_round = round(footprint.GROUPS * SCALE) * footprint.ALERTS  # each group notified once at this scale

    assert "start to ready (/readyz 200)" in measures
    idle, first, second = (
        measures[f"RSS {when}"] for when in ("idle", f"after {per_round} alerts", f"after {2 * per_round} alerts")
    )
    assert all(50 < rss < 1024 for rss in (idle, first, second))  # MiB: the bot's own process, libraries loaded
    assert measures["webhook answers other than 200"] == 0
