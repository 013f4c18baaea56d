"""CI runs what README tells a contributor to run, under the lock of the versions the tests pass with.

`.ci/run` ends with README's test command, character for character; and `constraints.txt`, which that
command installs under, pins every distribution the project and its test extra pull in (as this
environment resolved them), so no dependency of the tests floats to an untested release; and the test
runner's own plugins keep their word (a group of tests stays on one worker).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
LOCK = ROOT / "constraints.txt"


def _readme_test_command() -> str:
    section = README.read_text().split("**Install and run the tests**", 1)[1]
    block = re.search(r"```bash\n(.*?)\n```", section, re.DOTALL)
    assert block, "README.md: no bash block after **Install and run the tests**"
    return block.group(1)


def _pinned() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _pulled_in() -> set[str]:
    """The distributions the project's dependencies and its test extra require, transitively, with the
    extras each is asked for and the markers of this Python."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]]
    todo = [(r, frozenset(r.extras)) for r in wanted if r.marker is None or r.marker.evaluate({"extra": ""})]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement, extras = todo.pop()
        key = (canonicalize_name(requirement.name), extras)
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((needed, frozenset(needed.extras)))
    return {name for name, _ in seen}


def test_ci_runs_exactly_the_readme_test_command() -> None:
    last = CI.read_text().rstrip("\n").splitlines()[-1]
    assert last == _readme_test_command()
    assert "-c constraints.txt" in last


def test_the_lock_pins_everything_the_tests_install() -> None:
    unpinned = _pulled_in() - _pinned().keys()
    assert not unpinned, f"constraints.txt does not pin {sorted(unpinned)}: refresh it (README, Development)"


@pytest.mark.xdist_group("kubecamp-processes")
def test_a_test_group_stays_on_one_worker(request: pytest.FixtureRequest) -> None:
    """`--dist loadgroup` keeps the tests of an `xdist_group` on one worker (the `kubecamp run` processes that are
    measured, one at a time) by a suffix it puts on their ids. pytest 9.2 drops it (pytest-xdist#1386): the groups
    were spread over the workers, silently; the lock holds pytest at 9.1 until the two agree again."""
    if not hasattr(request.config, "workerinput"):
        pytest.skip("not under xdist: every test runs in this one process anyway")
    assert request.node.nodeid.endswith("@kubecamp-processes"), (
        f"pytest {pytest.__version__} with pytest-xdist {metadata.version('pytest-xdist')} ignores xdist_group"
    )
