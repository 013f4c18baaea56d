"""Where pytest-xdist runs the tests that sleep on timers they cannot shorten.

Prometheus' scrape and rule evaluation, Alertmanager's group and retry timers, discord.py's fixed back-off after a
5xx and the time limits under test keep these tests asleep for seconds each. Handed out in collection order they met:
three or four workers asleep at once left the cores idle (half of the ten seconds in which the incident and outbox
tests ran). As one xdist group they run one after another on one worker, handed out first (xdist gives out its
largest units of work first), while the other workers keep both cores busy. The group must stay well short of a
whole run (about 65 s of the quick loop's 75 today), or it becomes what the run waits for.
"""

from __future__ import annotations

import pytest

SLEEPS_ON_REAL_TIMERS = pytest.mark.xdist_group("real-timers")
