"""A build's repository held against its layout, fetched from real git servers on loopback: `git daemon`
(git://) and `git http-backend` (smart HTTP), serving repositories made with `git`."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.i18n import render
from bot.repository_check import (
    FetchLimits,
    HostPolicy,
    Layout,
    RepositoryCheckFailed,
    check_repository,
    compare,
    inspect_repository,
    load_layout,
)
from tests.peers.git_servers import BannerServer, GitDaemon, GitHttpServer, SilentServer, make_repository
from tests.scheduling import SLEEPS_ON_REAL_TIMERS

LAYOUT_FILE = Path(__file__).parent / "layouts" / "streaming-ops-platform.yaml"
LAYOUT = load_layout(LAYOUT_FILE.read_text(encoding="utf-8"), source=str(LAYOUT_FILE))
#: The tests' servers listen on loopback and speak plain HTTP; production allows neither.
LOOPBACK = HostPolicy(schemes=frozenset({"git", "http", "https"}), allow_private=True)
PRODUCTION = HostPolicy()
LIMITS = FetchLimits(timeout=20, max_bytes=4 * 1024 * 1024, max_paths=1000)
#: What the team left out of its repository.
LEFT_OUT = (
    "k8s-manifests/monitoring/grafana/dashboards/",
    "k8s-manifests/advanced/crds/streaming-crd.yaml",
    "docs/troubleshooting.md",
    "docs/screenshots/hpa-scaling.png",
)
BIG_FILE = 3 * 1024 * 1024


def platform_files(prefix: str = "") -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = {}
    for path in LAYOUT.paths:
        if path in LEFT_OUT:
            continue
        name = f"{path}values.yaml" if path.endswith("/") else path
        files[prefix + name] = b"\x89PNG\r\n" if name.endswith(".png") else f"# {name}\n"
    return files


@pytest.fixture(scope="session")
def repositories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repositories the servers export, read only. For the session (as the servers below): xdist interleaves
    the modules' tests on each worker, and a module's fixture was made again each time its module came back
    (thirteen times a run, 2,500 files and four git processes each)."""
    root = tmp_path_factory.mktemp("repositories")
    make_repository(root / "platform", platform_files())
    make_repository(root / "monorepo", {**platform_files("week4/streaming-ops-platform/"), "week3/notes.md": "notes"})
    big = {"README.md": "big\n", "media/demo.mp4": os.urandom(BIG_FILE)}
    make_repository(root / "big-unfiltered", big, allow_filter=False)
    make_repository(root / "big-filtered", big, allow_filter=True)
    make_repository(root / "many", [f"data/{i:04d}.txt" for i in range(1200)])
    make_repository(root / "master-only", {"README.md": "old\n"}, branch="master")
    make_repository(root / "empty", {})
    return root


@pytest.fixture(scope="session")
def daemon(repositories: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    server = GitDaemon(repositories, tmp_path_factory.mktemp("git-daemon") / "daemon.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def http(repositories: Path) -> Iterator[GitHttpServer]:
    server = GitHttpServer(repositories)
    try:
        yield server
    finally:
        server.stop()


async def failure(url: str, *, policy: HostPolicy = LOOPBACK, limits: FetchLimits = LIMITS) -> RepositoryCheckFailed:
    with pytest.raises(RepositoryCheckFailed) as failed:
        await check_repository(url, LAYOUT, policy=policy, limits=limits)
    return failed.value


@pytest.mark.parametrize("protocol", ["git", "http"])
async def test_present_and_missing_paths_of_the_layout(
    protocol: str, daemon: GitDaemon, http: GitHttpServer, repositories: Path
) -> None:
    url = daemon.url("platform") if protocol == "git" else http.url("git/platform")
    report = await check_repository(url, LAYOUT, policy=LOOPBACK, limits=LIMITS)
    assert report.missing == LEFT_OUT
    assert len(report.present) == len(LAYOUT.paths) - len(LEFT_OUT)
    assert report.branch == "refs/heads/main"
    assert (repositories / "platform" / ".git" / "refs" / "heads" / "main").read_text().strip() == report.commit
    assert report.base == ""
    assert (
        render(report.summary(), "en")
        == f"repository layout: 34 of 38 required paths present (commit {report.commit[:12]})"
    )
    assert (
        render(report.summary(), "ko")
        == f"저장소 구조: 필요한 경로 38개 중 34개가 있습니다 (커밋 {report.commit[:12]})"
    )


async def test_the_layout_starts_at_its_root_folder_inside_a_larger_repository(http: GitHttpServer) -> None:
    report = await check_repository(http.url("git/monorepo"), LAYOUT, policy=LOOPBACK, limits=LIMITS)
    assert report.base == "week4/streaming-ops-platform/"
    assert report.missing == LEFT_OUT


async def test_a_branch_named_master_is_checked_too(daemon: GitDaemon) -> None:
    layout = Layout(paths=("README.md", "docs/"))
    report = await check_repository(daemon.url("master-only"), layout, policy=LOOPBACK, limits=LIMITS)
    assert (report.branch, report.present, report.missing) == ("refs/heads/master", ("README.md",), ("docs/",))


@pytest.mark.parametrize("protocol", ["git", "http"])
async def test_file_contents_are_left_out_where_the_server_allows(
    protocol: str, daemon: GitDaemon, http: GitHttpServer
) -> None:
    """With the blob:none filter only commit and trees travel: a 3 MiB file costs nothing."""
    url = daemon.url("big-filtered") if protocol == "git" else http.url("git/big-filtered")
    limits = FetchLimits(timeout=20, max_bytes=1024 * 1024, max_paths=100)
    report = await check_repository(url, Layout(paths=("README.md", "media/*.mp4")), policy=LOOPBACK, limits=limits)
    assert report.complete
    assert report.fetched_bytes < 10_000


@pytest.mark.parametrize("protocol", ["git", "http"])
async def test_a_huge_repository_is_stopped_at_the_byte_limit(
    protocol: str, daemon: GitDaemon, http: GitHttpServer
) -> None:
    url = daemon.url("big-unfiltered") if protocol == "git" else http.url("git/big-unfiltered")
    started = time.monotonic()
    failed = await failure(url, limits=FetchLimits(timeout=20, max_bytes=1024 * 1024, max_paths=100))
    assert render(failed.message, "en") == "the repository is too big: stopped after 1 MiB."
    assert render(failed.message, "ko") == "저장소가 너무 커서 1MiB까지 받은 뒤 멈췄습니다."
    assert time.monotonic() - started < 10


async def test_a_tree_with_too_many_paths_is_stopped(daemon: GitDaemon) -> None:
    failed = await failure(daemon.url("many"), limits=FetchLimits(timeout=20, max_bytes=4 * 1024 * 1024, max_paths=500))
    assert failed.message.key == "repo.too_many_paths"
    assert render(failed.message, "en") == "the repository has more than 500 files and folders; the check stopped."


async def test_an_empty_repository_has_nothing_to_check(daemon: GitDaemon, http: GitHttpServer) -> None:
    assert (await failure(daemon.url("empty"))).message.key == "repo.empty"
    assert (await failure(http.url("git/empty"))).message.key == "repo.empty"


async def test_a_repository_that_does_not_exist(daemon: GitDaemon, http: GitHttpServer) -> None:
    assert (await failure(daemon.url("no-such-repo"))).message.key == "repo.not_found"
    assert (await failure(http.url("git/no-such-repo"))).message.key == "repo.not_found"


async def test_a_private_repository_says_so(http: GitHttpServer) -> None:
    failed = await failure(http.url("private/platform"))
    assert render(failed.message, "en") == (
        "the server asks for credentials: the repository is private or does not exist. Make it public or check the URL."
    )
    assert (await failure(http.url("forbidden/platform"))).message.key == "repo.auth_required"


async def test_a_redirect_is_named_not_followed(http: GitHttpServer) -> None:
    before = len(http.requests)
    failed = await failure(http.url("moved/platform"))
    target = http.url("git/platform/info/refs?service=git-upload-pack")
    assert render(failed.message, "en") == f"the repository has moved: submit its new URL, {target}"
    assert [request.split()[1] for request in http.requests[before:]] == [
        "/moved/platform/info/refs?service=git-upload-pack"
    ]


async def test_a_web_page_is_not_a_repository(http: GitHttpServer) -> None:
    assert (await failure(http.url("page/team-one"))).message.key == "repo.not_git"


async def test_a_server_that_speaks_no_git_on_the_git_port() -> None:
    ssh = BannerServer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    try:
        failed = await failure(f"git://127.0.0.1:{ssh.port}/team1/platform.git")
    finally:
        ssh.stop()
    assert render(failed.message, "en") == "the server at this URL does not answer as a Git repository."


async def test_a_port_nobody_listens_on_is_unreachable(tmp_path: Path) -> None:
    silent = SilentServer()
    port = silent.port
    silent.stop()  # the port is closed now: connections are refused
    assert (await failure(f"git://127.0.0.1:{port}/platform")).message.key == "repo.unreachable"
    assert (await failure(f"http://127.0.0.1:{port}/platform")).message.key == "repo.unreachable"


@SLEEPS_ON_REAL_TIMERS
@pytest.mark.parametrize("scheme", ["git", "http"])
async def test_a_server_that_never_answers_is_given_up_at_the_time_limit(scheme: str, http: GitHttpServer) -> None:
    silent = SilentServer()
    url = f"git://127.0.0.1:{silent.port}/platform" if scheme == "git" else http.url("stall/platform")
    limits = FetchLimits(timeout=1.5, max_bytes=1024 * 1024, max_paths=100)
    try:
        started = time.monotonic()
        failed = await failure(url, limits=limits)
        answered = time.monotonic() - started
        # The fetch's thread ends by itself too: its socket times out at the deadline.
        outcome: list[BaseException] = []
        thread = threading.Thread(target=lambda: outcome.append(blocking_failure(url, limits)))
        thread.start()
        await asyncio.to_thread(thread.join, 5)
    finally:
        silent.stop()
    assert render(failed.message, "en") == "the repository's server did not answer within 1.5 s."
    assert answered < limits.timeout + 1.5  # the loop waits one second more than the thread's deadline, at most
    assert not thread.is_alive()
    assert [e.message.key for e in outcome if isinstance(e, RepositoryCheckFailed)] == ["repo.timeout"]


def blocking_failure(url: str, limits: FetchLimits) -> BaseException:
    try:
        inspect_repository(url, LAYOUT, policy=LOOPBACK, limits=limits)
    except RepositoryCheckFailed as exc:
        return exc
    raise AssertionError("the fetch from a silent server succeeded")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("file:///srv/git/platform", "repo.scheme_refused"),
        ("ssh://git@github.com/team1/platform.git", "repo.scheme_refused"),
        ("http://github.com/team1/platform", "repo.scheme_refused"),
        ("/srv/git/platform", "repo.url_invalid"),
        ("../platform", "repo.url_invalid"),
        ("git@github.com:team1/platform.git", "repo.url_invalid"),
        ("https://", "repo.url_invalid"),
        ("https://github.com:99999/x", "repo.url_invalid"),
        ("https://github.com/team1/plat\nform", "repo.url_invalid"),
        ("https://ghp_secret@github.com/team1/platform", "repo.credentials_refused"),
        ("https://team1:hunter2@github.com/team1/platform", "repo.credentials_refused"),
        ("https://127.0.0.1/team1/platform", "repo.private_address"),
        ("https://localhost/team1/platform", "repo.private_address"),
        ("git://10.0.0.7/platform", "repo.private_address"),
        ("https://169.254.169.254/latest/meta-data", "repo.private_address"),
        ("https://[::1]/platform", "repo.private_address"),
        ("https://[fd00::1]/platform", "repo.private_address"),
        ("https://no-such-host.invalid/team1/platform", "repo.unresolvable"),
    ],
)
async def test_production_refuses_what_it_must_not_fetch(url: str, key: str) -> None:
    failed = await failure(url, policy=PRODUCTION)
    assert failed.message.key == key
    assert render(failed.message, "ko") and render(failed.message, "en")
    assert "hunter2" not in render(failed.message, "en") and "ghp_secret" not in str(failed)


async def test_refusals_name_what_is_allowed() -> None:
    failed = await failure("ssh://git@github.com/team1/platform.git", policy=PRODUCTION)
    assert render(failed.message, "en") == "ssh URLs are not checked; use git://, https://"
    assert render(failed.message, "ko") == "이 주소 형식은 확인하지 않습니다: ssh (가능한 형식: git://, https://)"


def test_layout_paths_folders_and_globs() -> None:
    files = ["README.md", "k8s/a.yaml", "k8s/deep/b.yaml", "docs/shots/x.png", "notes.txt"]
    layout = Layout(
        paths=(
            "README.md",
            "k8s/*.yaml",
            "k8s/**/b.yaml",
            "docs/",
            "docs/shots/?.png",
            "scripts/",
            "k8s/*.yml",
            "README",
        )
    )
    assert compare(layout, files) == (
        "",
        ("README.md", "k8s/*.yaml", "k8s/**/b.yaml", "docs/", "docs/shots/?.png"),
        ("scripts/", "k8s/*.yml", "README"),
    )
    assert compare(Layout(paths=("k8s/*.yaml",)), ["k8s/deep/b.yaml"])[2] == ("k8s/*.yaml",)  # * stays in its folder


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("paths: []", "layout.yaml: paths: Tuple should have at least 1 item after validation, not 0"),
        ("paths: [/etc/passwd]", "layout.yaml: paths: '/etc/passwd' is not a path inside the repository"),
        ("paths: [../x]", "layout.yaml: paths: '../x' is not a path inside the repository"),
        ("paths: [a, a]", "layout.yaml: paths: a path is listed twice"),
        ("path: [a]", "layout.yaml: paths: Field required"),
        ("paths: [a]\nroot: a/b", "layout.yaml: root: String should match pattern '^[A-Za-z0-9._-]{1,100}$'"),
        ("paths: [a", "layout.yaml: not YAML: "),
    ],
)
def test_a_bad_layout_is_refused_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        load_layout(text, source="layout.yaml")
    assert str(refused.value).startswith(problem)
