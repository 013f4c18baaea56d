"""Benchmark 2, the alert storm (`benchmarks.storm`), kept working: its schedule is what Alertmanager would send,
and a small storm through a real `kubecamp run` process and a real Alertmanager 0.25 ends with every alert's
final state readable in the emulated Discord from the bot, and not from Alertmanager's own Discord receiver.
Correctness only: the speed targets are the benchmark's to report, not this machine's to pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from benchmarks import storm
from benchmarks.harness import Measure
from benchmarks.notifications import Group
from bot.store.models import AlertStatus


def value(measures: list[Measure], what: str) -> float:
    """The sum of the measures whose description starts with `what`."""
    found = [m.value for m in measures if m.what.startswith(what)]
    assert found, f"no measure {what!r} in {[m.what for m in measures]}"
    return sum(found)


def test_the_storm_is_notified_as_alertmanager_would_and_ends_in_its_final_state() -> None:
    groups = [Group(f"Alert{g}", "storm", datetime.now(UTC)) for g in range(storm.GROUPS)]
    schedule = storm.Storm(tuple(groups), storm.STORM_SECONDS)
    final = schedule.final()
    assert len(final) == 1000
    assert sum(s == AlertStatus.resolved for s in final.values()) == 750

    for g, group in enumerate(groups):
        notified = list(schedule.notifications(g))
        times = [at for at, _, _ in notified]
        assert times[0] == storm.GROUP_WAIT and all(b - a >= storm.GROUP_INTERVAL for a, b in pairwise(times))
        assert times[-1] - storm.GROUP_INTERVAL < schedule.last_event(g) <= storm.STORM_SECONDS
        # A burst group's first notification holds all 50 alerts, more than the starter embed names; a growing
        # group's the 11 that fired in its first second.
        assert len(notified[0][1]) == (storm.ALERTS_PER_GROUP if schedule.bursts(g) else 11)
        resolved = [i for _, _, said in notified for i in said]
        assert len(resolved) == len(set(resolved)), "an alert is notified resolved once"
        assert all(not set(firing) & set(said) for _, firing, said in notified)
        keys = {schedule.key(group, i): i for i in range(storm.ALERTS_PER_GROUP)}
        still_firing = {i for key, i in keys.items() if final[key] == AlertStatus.firing}
        assert set(notified[-1][1]) == still_firing
        assert set(resolved) == set(keys.values()) - still_firing


@pytest.mark.reliability
@pytest.mark.xdist_group("kubecamp-processes")  # measures a `kubecamp run` process: one such test at a time
async def test_a_small_storm_shows_every_alerts_final_state_from_the_bot_and_not_from_alertmanagers_receiver(
    tmp_path: Path,
) -> None:
    measures = await storm.run(tmp_path, scale=0.2)

    assert value(measures, "bot: alerts not shown in their final state") == 0
    assert value(measures, "bot: group updates") >= 4 * 3  # every group notified more than once
    assert value(measures, "bot: Discord requests") > 0

    receiver = "Alertmanager discord_configs"
    assert value(measures, f"{receiver}: requests") >= 4
    # Alertmanager 0.25 lists every alert in one embed description and does not cut it to Discord's 4096
    # characters: the notifications of groups of 50 are refused (400), and with them the final states.
    assert value(measures, f"{receiver}: alerts not shown in their final state") > 0
    assert value(measures, f"{receiver}: refused 400") > 0
