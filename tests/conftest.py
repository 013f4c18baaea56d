"""The suite's hooks. Its fixtures are in the modules `FIXTURES` names, which `pytest_configure` loads in every
process that runs tests."""

from __future__ import annotations

import gc
import os

import pytest

FIXTURES = (
    "tests.fixtures",
    "tests.emulators.fixtures",
    "tests.discord_emulator.fixtures",
    "tests.peers.fixtures",
    "tests.discord.live",
    "tests.databases",
)
# Rewritten for pytest's assertions wherever they are imported first: a directory's conftest, loaded before
# pytest_configure when a run names that directory, imports some of them.
pytest.register_assert_rewrite(*FIXTURES)


def pytest_configure(config: pytest.Config) -> None:
    """Load the fixtures, except in pytest-xdist's controller, which runs no test, collects none and lists no
    fixture, only hands tests out to its workers: importing the bot and the emulators there cost a second before the
    first worker was even started."""
    controller = (
        not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and not any(config.getoption(o) for o in ("collectonly", "showfixtures", "show_fixtures_per_test"))
    )
    if not controller:
        for name in FIXTURES:
            config.pluginmanager.import_plugin(name)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. Much of the suite waits on real timers (Prometheus' and Alertmanager's,
    the webhook's idle timeout, discord.py's retries) with its core idle; a second worker per core runs
    meanwhile. Measured on 2 cores for `-m 'not reliability'`: 130 s instead of 205 s with two workers, for 10 %
    more CPU; later, with the suite cheaper, 124 s with four against 130 s with three and 123 s with six (207, 182
    and 226 s of CPU); at about 175 s of CPU, 108-114 s with four, 111 s with five, 109 s with six; at about 145 s,
    with the tests that sleep on timers grouped on one worker (tests/scheduling.py), 87 s with four, 89 s with five
    and 90 s with six (146, 156 and 166 s of CPU)."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Python's cycle collector, tuned for a test process: what is alive once the tests are collected (modules,
    the catalogues test modules load, the items) lives to the end, so it is frozen out of every full collection;
    and the youngest generation is collected every 7000 allocations rather than 700, so that fewer objects of a
    running test are promoted to be scanned again. Measured on tests/challenges: 9.3 s of the 51.6 s of CPU
    spent collecting (7.8 s in 31 full collections), 3.7 s after. Garbage is still collected, later."""
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
