"""/challenge submit for a build whose seed prescribes a repository layout (challenge 4's streaming-ops-platform/
tree): the submission is kept and answered at once, then the repository is fetched from a real git server on
loopback (`git http-backend`, standing in for GitHub) and the run's thread is told which prescribed paths are
present and which are missing, or, for a repository that is private, huge, not git or never answers, why it
could not be checked, within the time limit. The submission is never lost to a failed fetch."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import RepositorySettings
from tests.discord.live import REPO, Class, answer, open_class, quiet, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.peers.git_servers import GitHttpServer, make_repository
from tests.scenarios.test_catalogue_behaviour import CATALOG
from tests.scheduling import SLEEPS_ON_REAL_TIMERS
from tests.test_repository_check import BIG_FILE, LEFT_OUT, platform_files

LAYOUT = CATALOG.get(4).spec.repository
assert LAYOUT is not None
#: Seconds a check may take here: the stalled server is given up after it.
TIMEOUT = 3.0
TYPED = {"monitoring": "Prometheus + Grafana", "automation": "HPA", "advanced": "-", "insight": "alerts"}


@pytest.fixture(scope="session")  # not per module: xdist interleaves modules (test_repository_check says more)
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """GitHub as the class's bot sees it: https://github.com/<owner>/<repo> is fetched from
    http://127.0.0.1:<port>/<owner>/<repo>, where owner `git` is smart HTTP and the others the server's other
    answers (`private`: 401, `page`: a web page, `stall`: nothing)."""
    root = tmp_path_factory.mktemp("github")
    make_repository(root / "platform", platform_files())
    make_repository(root / "monorepo", {**platform_files("week4/streaming-ops-platform/"), "notes.md": "notes"})
    make_repository(root / "huge", {"README.md": "big\n", "media/demo.mp4": os.urandom(BIG_FILE)}, allow_filter=False)
    server = GitHttpServer(root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def build_class(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster: KubeCluster,
    class_folder: Path,
    github: GitHttpServer,
) -> AsyncIterator[Class]:
    repository = RepositorySettings(
        github_url=github.url("").rstrip("/"), allow_private_hosts=True, timeout_seconds=TIMEOUT, max_mib=1
    )
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        class_folder,
        scenarios_dir=REPO / "scenarios",
        repository=repository,
    ) as live:
        yield live


async def hand_in(live: Class, url: str) -> tuple[str, str, float]:
    """Blue submits `url`: the echo, then the thread's answer about the repository, and how long that took."""
    thread = thread_of(live, "blue")
    before = len(live.discord.messages(thread))
    form = await slash(live, "blue-1", "team-blue", "challenge", "submit", challenge=4)
    started = time.monotonic()
    echoed = await live.discord.submit_modal(form, {"github_url": url, **TYPED})

    def answered() -> Any:
        return [m.content for m in live.discord.messages(thread)[before:] if m.content and "📦" in m.content]

    await live.discord.wait_until(answered, TIMEOUT + 10, f"the repository check of {url}")
    return echoed.text(), "\n".join(answered()), time.monotonic() - started


async def test_the_thread_is_told_which_prescribed_paths_are_there(build_class: Class) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=4))
    await quiet(live)  # the run's thread is there
    thread = thread_of(live, "blue")
    echo, said, _ = await hand_in(live, "https://github.com/git/platform")
    assert echo.endswith(
        f"📦 Checking the repository against the layout the course prescribes: the result follows in <#{thread.id}>."
    )
    lines = said.split("\n")
    assert lines[0] == "📦 **The submitted repository's layout** (https://github.com/git/platform)"
    assert lines[1].startswith("repository layout: 34 of 38 required paths present (commit ")
    assert lines[2:6] == [f"❌ `{path}`" for path in LEFT_OUT]
    assert lines[6:] == [f"✅ `{path}`" for path in LAYOUT.paths if path not in LEFT_OUT]

    # The seed's project folder inside a larger repository: the layout starts there, and the post says so.
    _, said, _ = await hand_in(live, "https://github.com/git/monorepo")
    assert "the layout was checked from the folder `week4/streaming-ops-platform/`" in said


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "https://github.com/private/platform",
            "the server asks for credentials: the repository is private or does not exist. Make it public or check "
            "the URL.",
        ),
        ("https://github.com/git/huge", "the repository is too big: stopped after 1 MiB."),
        ("https://github.com/page/team-one", "the server at this URL does not answer as a Git repository."),
        ("https://github.com/git/no-such-repository", "there is no repository at this URL (or it is not public)."),
        pytest.param(
            "https://github.com/stall/platform",
            f"the repository's server did not answer within {TIMEOUT:g} s.",
            marks=SLEEPS_ON_REAL_TIMERS,
        ),
    ],
)
async def test_a_repository_that_cannot_be_checked_is_answered_and_the_submission_kept(
    build_class: Class, url: str, reason: str
) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=4))
    await quiet(live)  # the run's thread is there
    _, said, took = await hand_in(live, url)
    assert said == (
        f"📦 **The submitted repository's layout** ({url})\n⚠️ The repository could not be checked: {reason} The "
        "submission is kept as it is; once this is fixed, submit again with `/challenge submit` and it is checked "
        "again."
    )
    assert took < TIMEOUT + 3
    blue = await live.app.store.teams.get("blue")
    assert blue is not None
    [kept] = await live.app.store.submissions.of_team(blue.id, 4)
    assert kept.answers["github_url"] == url and kept.answers["insight"] == "alerts"
