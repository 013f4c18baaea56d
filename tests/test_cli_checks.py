"""`kubecamp repo check` and `kubecamp evidence check|submit` as an instructor runs them: real processes, a real git
server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.challenges.test_catalog_build import write_build
from tests.emulators.kube import KubeCluster
from tests.evidence.test_docker import SAMPLES
from tests.peers.git_servers import GitHttpServer, SilentServer, make_repository
from tests.test_cli import env, forkserver, fresh_env, kubecamp  # noqa: F401 - fixtures: the command's environment, its processes
from tests.test_repository_check import LAYOUT_FILE, LEFT_OUT, platform_files

#: The commands' tests, on one worker: it starts one forkserver for them all (`forkserver`, tests/test_cli.py).
pytestmark = pytest.mark.xdist_group("kubecamp-commands")


@pytest.fixture
def environment(request: pytest.FixtureRequest) -> dict[str, str]:
    """test_cli's environment for `kubecamp`."""
    value: dict[str, str] = request.getfixturevalue("env")
    return value


@pytest.fixture(scope="session")  # not per module: xdist interleaves modules (test_repository_check says more)
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    root = tmp_path_factory.mktemp("repositories")
    make_repository(root / "platform", platform_files())
    server = GitHttpServer(root)
    try:
        yield server
    finally:
        server.stop()


async def test_repo_check_lists_the_paths_present_and_missing(environment: dict[str, str], http: GitHttpServer) -> None:
    url = http.url("git/platform")
    result = await kubecamp(environment, "repo", "check", url, "--layout", str(LAYOUT_FILE), "--allow-private-hosts")
    assert result.code == 1, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("repository layout: 34 of 38 required paths present (commit ")
    assert "  ✅ README.md" in lines
    assert [line for line in lines if "❌" in line] == [f"  ❌ {path}" for path in LEFT_OUT]
    data = (
        await kubecamp(
            environment, "--json", "repo", "check", url, "--layout", str(LAYOUT_FILE), "--allow-private-hosts"
        )
    ).json()
    assert isinstance(data, dict)
    assert (data["missing"], data["complete"], data["branch"]) == (list(LEFT_OUT), False, "refs/heads/main")


async def test_repo_check_of_a_complete_repository_exits_0(
    environment: dict[str, str], http: GitHttpServer, tmp_path: Path
) -> None:
    layout = tmp_path / "layout.yaml"
    layout.write_text("paths: [README.md, k8s-manifests/workloads/*.yaml, scripts/]\n", encoding="utf-8")
    result = await kubecamp(
        environment, "repo", "check", http.url("git/platform"), "--layout", str(layout), "--allow-private-hosts"
    )
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == ["  ✅ README.md", "  ✅ k8s-manifests/workloads/*.yaml", "  ✅ scripts/"]


async def test_repo_check_refuses_loopback_unless_allowed(environment: dict[str, str], http: GitHttpServer) -> None:
    result = await kubecamp(environment, "repo", "check", http.url("git/platform"), "--layout", str(LAYOUT_FILE))
    assert result.code == 2
    assert result.err.startswith("kubecamp: http URLs are not checked; use git://, https:// (")
    private = await kubecamp(environment, "repo", "check", "https://127.0.0.1/team1/x", "--layout", str(LAYOUT_FILE))
    assert (private.code, private.err.splitlines()[0]) == (
        2,
        "kubecamp: 127.0.0.1 is not a public internet address; the bot does not fetch from it. "
        "(127.0.0.1 resolves to 127.0.0.1, not a public address)",
    )


async def test_repo_check_of_a_server_that_cannot_be_read_exits_6(environment: dict[str, str]) -> None:
    closed = SilentServer()
    closed.stop()
    url = f"git://127.0.0.1:{closed.port}/platform"
    result = await kubecamp(environment, "repo", "check", url, "--layout", str(LAYOUT_FILE), "--allow-private-hosts")
    assert result.code == 6
    assert result.err.startswith("kubecamp: the repository's server cannot be reached. (")


async def test_repo_check_names_a_bad_layout_file(environment: dict[str, str], tmp_path: Path) -> None:
    layout = tmp_path / "layout.yaml"
    layout.write_text("paths: [/etc/passwd]\n", encoding="utf-8")
    result = await kubecamp(environment, "repo", "check", "https://github.com/x/y", "--layout", str(layout))
    assert result.code == 2
    assert result.err.strip() == (
        f"kubecamp: invalid repository layout: {layout}: paths: '/etc/passwd' is not a path inside the repository "
        "(relative, with / between folders)"
    )
    missing = await kubecamp(
        environment, "repo", "check", "https://github.com/x/y", "--layout", str(tmp_path / "none.yaml")
    )
    assert (missing.code, missing.err.strip()) == (
        2,
        f"kubecamp: cannot read {tmp_path / 'none.yaml'}: No such file or directory",
    )


async def test_evidence_check_judges_a_paste(environment: dict[str, str]) -> None:
    sample = str(SAMPLES / "docker-service-ps-recovered.txt")
    params = json.dumps({"service": "web-service", "running": 3, "replaced_failure": True})
    passed = await kubecamp(environment, "evidence", "check", "docker-service-ps", "--params", params, "--file", sample)
    assert (passed.code, passed.out) == (0, "✅ service web-service: tasks: 4, running: 3, previous: 1\n")
    nodes = [
        "evidence",
        "check",
        "docker-node-ls",
        "--params",
        '{"ready": 4}',
        "--file",
        str(SAMPLES / "docker-node-ls.txt"),
    ]
    korean = await kubecamp({**environment, "KUBECAMP_LANGUAGE": "ko"}, *nodes)
    assert korean.code == 1
    assert korean.out.splitlines() == [
        "❌ 노드 3개: Ready 3개, 매니저 1개, 리더(Leader) 노드: manager1",
        "    ❌ Ready 상태인 노드: 3개 (필요: 4개 이상)",
    ]
    data = (await kubecamp(environment, "--json", *nodes)).json()
    assert data == {
        "parser": "docker-node-ls",
        "passed": False,
        "found": "nodes: 3, Ready: 3, managers: 1, Leader: manager1",
        "unmet": ["Ready nodes: 3 (at least 4 needed)"],
    }


async def test_evidence_check_refuses_a_bad_condition(environment: dict[str, str]) -> None:
    sample = str(SAMPLES / "docker-node-ls.txt")
    unknown = await kubecamp(
        environment, "evidence", "check", "docker-node-ls", "--params", '{"redy": 3}', "--file", sample
    )
    assert (unknown.code, unknown.err.strip()) == (
        2,
        "kubecamp: docker-node-ls: redy: unknown parameter (this parser knows leader, managers, ready)",
    )
    not_json = await kubecamp(
        environment, "evidence", "check", "docker-node-ls", "--params", "ready=3", "--file", sample
    )
    assert not_json.code == 2
    assert "argument --params: not JSON" in not_json.err
    no_parser = await kubecamp(environment, "evidence", "check", "docker-ps", "--params", "{}", "--file", sample)
    assert no_parser.code == 2
    assert "invalid choice: 'docker-ps'" in no_parser.err


async def test_evidence_check_reads_standard_input_by_default(environment: dict[str, str]) -> None:
    """The test's processes read /dev/null: nothing pasted is no table."""
    result = await kubecamp(environment, "evidence", "check", "docker-node-ls", "--params", '{"ready": 1}')
    assert (result.code, result.out) == (
        1,
        "❌ no `docker node ls` table in the pasted text: paste its output as printed, header line "
        "(HOSTNAME, ID, STATUS) included.\n",
    )


async def test_evidence_submit_pastes_for_a_teams_item(
    environment: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    write_build(tmp_path / "catalogue")
    build_env = {
        **environment,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")),
        "KUBECAMP_SCENARIOS_DIR": str(tmp_path / "catalogue"),
    }
    scaled, scaling = str(SAMPLES / "docker-service-ls.txt"), str(SAMPLES / "docker-service-ls-scaling.txt")
    assert (await kubecamp(build_env, "team", "add", "blue")).code == 0
    never = await kubecamp(build_env, "evidence", "submit", "blue", "swarm-scaled", "--file", scaled)
    assert (never.code, never.err.strip()) == (
        2,
        "kubecamp: this team has not run challenge 7, so evidence for swarm-scaled cannot be taken: "
        "start the challenge first",
    )
    assert (await kubecamp(build_env, "challenge", "start", "--team", "blue", "--challenge", "7")).code == 0
    failing = await kubecamp(build_env, "evidence", "submit", "blue", "swarm-scaled", "--file", scaling)
    assert failing.code == 1 and failing.out.splitlines()[1] == "    ❌ replicas 4/6, expected 3/3"
    passing = await kubecamp(build_env, "--json", "evidence", "submit", "blue", "7/swarm-scaled", "--file", scaled)
    data = passing.json()
    assert passing.code == 0 and isinstance(data, dict)
    assert (data["team"], data["item"], data["passed"], data["unmet"]) == ("blue", "7/swarm-scaled", True, [])
    assert isinstance(data["evidence"], int)
    graded = await kubecamp(build_env, "evidence", "submit", "green", "report", "--file", scaled)
    assert (graded.code, graded.err.strip()) == (2, "kubecamp: no team named 'green'")
