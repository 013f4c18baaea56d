"""Benchmark 1, webhook ingestion (`benchmarks.ingest`), kept working: a short load through a real `kubecamp run`
process loses no alert, gives every incident its thread and stays within Discord's rate limits. Correctness only:
the speed targets are the benchmark's to report, not this machine's to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import ingest

SCALE = 0.1


@pytest.mark.reliability
@pytest.mark.xdist_group("kubecamp-processes")  # measures a `kubecamp run` process: one such test at a time
async def test_a_short_load_loses_no_alert_and_gets_no_429(tmp_path: Path) -> None:
    measures = {m.what: m.value for m in await ingest.run(tmp_path, scale=SCALE)}
    groups = round(ingest.GROUPS * SCALE)

    assert measures["webhook answers other than 200"] == 0
    assert measures["alerts in accepted notifications"] >= groups * ingest.ALERTS  # the load did run
    assert measures["alerts lost"] == 0
    assert measures["incidents opened"] == groups  # a group's pods are replaced, its incident stays open
    assert measures["incidents without a thread"] == 0
    assert measures["Discord requests in all"] >= 2 * groups  # a thread is a message and the thread started on it
    assert measures["Discord 429s received"] == 0
