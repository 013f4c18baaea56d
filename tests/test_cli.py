"""The `kubecamp` command as an instructor runs it: a real process against the emulated cluster."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kubernetes.aio import client as k8s
from kubernetes.aio.client.exceptions import ApiException

from bot.store import Store, sqlite_url
from tests.challenges.test_preflight import copy_as_deployed, write_misbehaving_catalogue
from tests.discord_emulator.emulator import DiscordEmulator
from tests.emulators.fixtures import chart_kube_environment, install_chart
from tests.emulators.kube import BOT_TOKEN, KubeCluster

#: The commands' tests (here and in the modules that import `forkserver`), on one worker: it starts one forkserver
#: for them all.
pytestmark = pytest.mark.xdist_group("kubecamp-commands")

REPO = Path(__file__).parents[1]
KUBECAMP = Path(sys.executable).parent / "kubecamp"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def this_checkout(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` in which the `kubecamp` script imports `bot` from this checkout, the one under test."""
    return {**environment, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [environment.get("PYTHONPATH")])])}


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    """The environment of `kubecamp` on an empty data folder, as at an instructor's first command."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBECAMP_")}
    return {
        **this_checkout(clean),
        "KUBECAMP_DATA_DIR": str(tmp_path / "data"),
        "KUBECAMP_SCENARIOS_DIR": str(REPO / "scenarios"),
        "KUBECAMP_LANGUAGE": "en",
        "KUBECAMP_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def env(fresh_env: dict[str, str], migrated_db: Path) -> dict[str, str]:
    """The same on a data folder whose database is migrated already (a copy of `migrated_db`): migrating a new
    file costs a command an eighth of a second of CPU, which the first command of most tests paid."""
    data = Path(fresh_env["KUBECAMP_DATA_DIR"])
    data.mkdir()
    shutil.copyfile(migrated_db, data / "kubecamp.db")
    return fresh_env


#: A process that has imported `bot.cli` and forks a child per command: the child sets the command's environment
#: and arguments, sends its standard output and error to the files named, and exits with what `main()` returns,
#: as the console script does. A fresh interpreter spends over a second of CPU importing discord.py, kubernetes,
#: SQLAlchemy and alembic before the command starts; `test_the_console_script_is_the_command` runs the script.
_FORKSERVER = r"""
import json, os, selectors, socket, sys, traceback
import bot.cli, bot.i18n
from kubernetes.aio.client import rest
from tests.no_system_cas import SslWithoutSystemCas
bot.i18n.keys()  # the message catalogue, parsed once here rather than in every command
rest.ssl = SslWithoutSystemCas()  # as in the test processes

server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
print("ready", flush=True)
events = selectors.DefaultSelector()
events.register(server, selectors.EVENT_READ)
events.register(sys.stdin, selectors.EVENT_READ)  # end of file: the test process is gone
while all(key.fileobj is server for key, _ in events.select()):
    connection, _ = server.accept()
    with connection, connection.makefile("rw") as stream:
        request = json.loads(stream.readline())
        child = os.fork()
        if child == 0:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = ["kubecamp", *request["args"]]
            code = 1
            try:
                code = bot.cli.main()
            except SystemExit as exit:
                code = 0 if exit.code is None else exit.code if isinstance(exit.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(child, 0)
        stream.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
"""


class Forkserver:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "kubecamp.sock"
        self.process = subprocess.Popen(
            [sys.executable, "-c", _FORKSERVER, str(self.socket)],
            env=this_checkout(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "ready\n", "the kubecamp forkserver did not start"
        self._commands = itertools.count()

    async def run(self, env: dict[str, str], args: Sequence[str]) -> Result:
        command = next(self._commands)
        out, err = self.directory / f"{command}.out", self.directory / f"{command}.err"
        request = {"env": env, "args": list(args), "stdout": str(out), "stderr": str(err)}
        reader, writer = await asyncio.open_unix_connection(self.socket)
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            answer = json.loads(await reader.readline())
        finally:
            writer.close()
            await writer.wait_closed()
        return Result(answer["code"], out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


_forkserver: Forkserver | None = None


@pytest.fixture(scope="module", autouse=True)
def forkserver(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Forkserver:
    """One forkserver per test process, for every module that runs commands (started by the first, stopped when
    the session ends): each start imports the bot anew, over a second of CPU. Those modules are one xdist group,
    so one worker starts it; `-n 0` or a module run alone start it once too."""
    global _forkserver
    if _forkserver is None:
        _forkserver = Forkserver(tmp_path_factory.mktemp("kubecamp-forkserver"))
        pytestconfig.add_cleanup(_close_forkserver)
    return _forkserver


def _close_forkserver() -> None:
    global _forkserver
    if _forkserver is not None:
        _forkserver.close()
        _forkserver = None


async def kubecamp(env: dict[str, str], *args: str) -> Result:
    """`kubecamp args` in a process of its own, awaited without blocking the loop that serves the emulated API
    server."""
    assert _forkserver is not None
    return await _forkserver.run(env, args)


async def test_the_console_script_is_the_command(env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        str(KUBECAMP),
        "--json",
        "scenarios",
        "list",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode() == (await kubecamp(env, "--json", "scenarios", "list")).out


async def test_scenarios_validate_and_list(env: dict[str, str]) -> None:
    valid = await kubecamp(env, "scenarios", "validate")
    assert valid.code == 0, valid.err
    assert "10 challenges, 19 scenarios, all valid" in valid.out
    listed = await kubecamp(env, "--json", "scenarios", "list")
    assert [c["id"] for c in listed.json()] == [1, 2, 3, 4, 5, 21, 51, 52, 53, 91]  # type: ignore[union-attr]


async def test_a_deployed_catalogue_is_validated_without_solutions(env: dict[str, str], tmp_path: Path) -> None:
    deployed = str(copy_as_deployed(tmp_path / "scenarios"))
    valid = await kubecamp(env, "scenarios", "validate", "--without-solutions", deployed)
    assert valid.code == 0, valid.err
    assert "10 challenges, 19 scenarios, all valid" in valid.out
    assert (await kubecamp(env, "scenarios", "list", deployed)).code == 0
    checkout = await kubecamp(env, "scenarios", "validate", deployed)
    assert checkout.code == 2
    assert "control-plane).solution: folder " in checkout.err
    assert (
        "a deployed catalogue carries no solutions: `kubecamp scenarios validate --without-solutions`" in checkout.err
    )


async def test_an_invalid_catalogue_exits_2_naming_file_and_field(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "scenarios" / "x"
    broken.mkdir(parents=True)
    (broken / "challenge.yaml").write_text("id: 1\ntitle: {ko: a, en: a}\nstorry: {}\n", encoding="utf-8")
    result = await kubecamp(env, "scenarios", "validate", str(tmp_path / "scenarios"))
    assert result.code == 2
    assert (
        result.err.strip()
        == f"kubecamp: {broken / 'challenge.yaml'}: storry: unknown key (a typo? see docs/scenarios.md for the format)"
    )


async def test_a_bad_setting_stops_with_one_line(env: dict[str, str]) -> None:
    result = await kubecamp({**env, "KUBECAMP_KUBE_TIMEOUT_SECONDS": "soon"}, "scenarios", "list")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("kubecamp: KUBECAMP_KUBE_TIMEOUT_SECONDS: ")


async def test_a_bad_namespace_is_refused_before_the_database_is_touched(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    refused = await kubecamp(fresh_env, "team", "add", "blue", "--namespace", "Blue_NS")
    assert refused.code == 2
    assert "argument --namespace: 'Blue_NS': not a DNS-1123 label" in refused.err
    assert not (tmp_path / "data").exists()


async def test_db_upgrade_creates_the_database(fresh_env: dict[str, str], tmp_path: Path) -> None:
    result = await kubecamp(fresh_env, "db", "upgrade")
    assert (result.code, result.out.strip()) == (0, "database is at the newest revision")
    assert (tmp_path / "data" / "kubecamp.db").is_file()


async def add_team_record(tmp_path: Path, name: str) -> None:
    """A team in the store only, as one made before its namespace is (the CLI's `team add` needs the cluster)."""
    async with await Store.open(sqlite_url(tmp_path / "data" / "kubecamp.db")) as store:
        await store.teams.create(name, f"kubecamp-{name}")


async def test_export_the_submissions(env: dict[str, str], tmp_path: Path) -> None:
    assert (await kubecamp(env, "db", "upgrade")).code == 0
    await add_team_record(tmp_path, "blue")
    async with await Store.open(sqlite_url(tmp_path / "data" / "kubecamp.db")) as store:
        blue = await store.teams.get("blue")
        assert blue is not None
        answers = {"completion_time": "14:35", "root_cause": "이미지 태그 오타", "fix": "f", "prevention": "p"}
        await store.submissions.add(blue.id, 2, answers=answers, submitted_at=datetime(2026, 12, 1, 5, 35, tzinfo=UTC))

    printed = await kubecamp(env, "submissions", "export", "--challenge", "2")
    assert printed.code == 0, printed.err
    header, row = printed.out.splitlines()
    assert header.endswith(",current,completion_time,root_cause,fix,prevention,bonus,github_url")
    assert row == "1,2,blue,2026-12-01T05:35:00+00:00,,,yes,14:35,이미지 태그 오타,f,p,,"

    as_json = await kubecamp(env, "submissions", "export", "--json")
    assert as_json.json() == [  # across challenges: the answers as one JSON column
        {
            "submission": "1",
            "challenge": "2",
            "team": "blue",
            "submitted_at": "2026-12-01T05:35:00+00:00",
            "submitted_by": "",
            "run": "",
            "current": "yes",
            "answers": json.dumps(answers, ensure_ascii=False, sort_keys=True),
        }
    ]
    written = await kubecamp(env, "--json", "submissions", "export", "--output", str(tmp_path / "all.csv"))
    assert written.json() == {"submissions": 1, "file": str(tmp_path / "all.csv")}
    assert (tmp_path / "all.csv").read_bytes().startswith("\ufeff".encode())

    unknown = await kubecamp(env, "submissions", "export", "--challenge", "9")
    assert unknown.code == 2 and "no challenge 9" in unknown.err


async def test_run_without_a_token_says_which_variable(env: dict[str, str]) -> None:
    result = await kubecamp(env, "run")
    assert result.code == 2
    assert "KUBECAMP_DISCORD_TOKEN is not set" in result.err


@pytest.mark.parametrize("global_sync", ["false", "true"])
async def test_run_without_guild_ids_stops_with_one_line(env: dict[str, str], global_sync: str) -> None:
    discord = {
        "KUBECAMP_DISCORD_TOKEN": "t",
        "KUBECAMP_DISCORD_INSTRUCTOR_ROLE": "234567890123456789",
        "KUBECAMP_DISCORD_GLOBAL_SYNC": global_sync,
    }
    result = await kubecamp({**env, **discord}, "run")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("kubecamp: KUBECAMP_DISCORD_GUILD_IDS is not set (expected the class's guild ids")
    assert ("KUBECAMP_DISCORD_GLOBAL_SYNC" in result.err) == (global_sync == "true")


async def test_run_in_a_guild_the_bot_is_not_invited_to_stops_naming_it(
    env: dict[str, str], discord_emulator: DiscordEmulator, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    classroom = discord_emulator.classroom
    settings = {
        "KUBECAMP_DISCORD_TOKEN": discord_emulator.token,
        "KUBECAMP_DISCORD_GUILD_IDS": f"{classroom.id},345678901234567890",
        "KUBECAMP_DISCORD_INSTRUCTOR_ROLE": str(classroom.instructor_role.id),
        "KUBECAMP_DISCORD_API_BASE": discord_emulator.api_url,
        "KUBECAMP_DISCORD_GATEWAY_URL": discord_emulator.gateway_url,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")),
        "KUBECAMP_WEB_PORT": "0",
        "KUBECAMP_WEB_PROBE_PORT": "0",
        "KUBECAMP_WEB_SCOREBOARD_PORT": "0",
    }
    result = await kubecamp({**env, **settings}, "run")
    assert result.code == 2
    assert result.err.strip().splitlines()[-1] == (  # after discord.py's warnings about voice
        "kubecamp: KUBECAMP_DISCORD_GUILD_IDS: the slash commands cannot be registered in guild 345678901234567890"
        " (Discord answered 403 Missing Access): invite the bot to that server with the scopes bot and"
        " applications.commands (helm's install notes print the URL), or correct the id"
    )
    assert discord_emulator.commands(classroom.guild) != []  # the class's guild, first, has them


async def test_a_secret_never_reaches_the_output(env: dict[str, str]) -> None:
    discord = {
        "KUBECAMP_DISCORD_TOKEN": "very-secret-token",
        "KUBECAMP_DISCORD_GUILD_IDS": "123456789012345678",
        "KUBECAMP_DISCORD_INSTRUCTOR_ROLE": "234567890123456789",
    }
    result = await kubecamp({**env, **discord, "KUBECAMP_LOG_LEVEL": "DEBUG"}, "run")
    assert "very-secret-token" not in result.out + result.err


@pytest.mark.parametrize(
    ("variable", "value"),
    [("KUBECAMP_WEBHOOK_TOKEN", "   "), ("KUBECAMP_WEBHOOK_PASSWORD", " "), ("KUBECAMP_WEBHOOK_MAX_BODY_BYTES", "1")],
)
async def test_a_bad_webhook_setting_is_named_and_a_secret_not_shown(
    env: dict[str, str], variable: str, value: str
) -> None:
    result = await kubecamp({**env, variable: value, "KUBECAMP_DISCORD_TOKEN": "t"}, "run")
    assert result.code == 2
    assert result.err.startswith(f"kubecamp: {variable}: ")
    assert ("got" in result.err) == (variable == "KUBECAMP_WEBHOOK_MAX_BODY_BYTES")


async def test_rehearse_a_class(env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path) -> None:
    kube_cluster.freeze_time()
    env = {**env, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"))}
    assert (await kubecamp(env, "team", "add", "blue")).code == 0

    unknown = await kubecamp(env, "challenge", "start", "--team", "green", "--challenge", "2")
    assert (unknown.code, unknown.err.strip()) == (2, "kubecamp: no team named 'green'")

    started = await kubecamp(env, "--json", "challenge", "start", "--team", "blue", "--challenge", "2")
    assert started.code == 0, started.err
    assert started.json()["namespace"] == "kubecamp-blue"  # type: ignore[index]
    assert kube_cluster.get("deployments", "kubecamp-blue", "frontend") is not None

    again = await kubecamp(env, "challenge", "start", "--team", "blue", "--challenge", "2")
    assert (again.code, again.err.strip()) == (3, "kubecamp: team 'blue' already has an active run of challenge 2")

    verified = await kubecamp(env, "challenge", "verify", "--team", "blue")
    assert verified.code == 1
    assert "❌ image-pull" in verified.out
    assert "ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee)" in verified.out
    # Three checks see the bad image; its diagnosis is written once, and a guard is marked as one.
    assert verified.out.count("↳ container frontend, image nginx:1.27-alpinee") == 1
    assert "✅ 🛡️ Deployment frontend: still the scenario's workload" in verified.out

    one = await kubecamp(env, "challenge", "verify", "--team", "blue", "--scenario", "node-affinity")
    assert one.code == 1
    assert one.out.startswith("❌ node-affinity\n") and "image-pull" not in one.out
    typo = await kubecamp(env, "challenge", "verify", "--team", "blue", "--scenario", "node-afinity")
    assert (typo.code, typo.err.strip()) == (
        2,
        "kubecamp: no scenario 'node-afinity'; the run checks image-pull, unschedulable, rolling-update, node-affinity",
    )

    status = await kubecamp(env, "challenge", "status", "--team", "blue", "--challenge", "2", "--json")
    assert status.code == 0
    scenarios = status.json()["scenarios"]  # type: ignore[index]
    assert [s["attempts"] for s in scenarios] == [1, 1, 1, 2]
    assert {(s["hints_used"], s["automatic_hints"]) for s in scenarios} == {(0, 0)}

    stopped = await kubecamp(env, "challenge", "stop", "--team", "blue")
    assert stopped.code == 0 and "stopped" in stopped.out
    assert kube_cluster.objects("deployments", "kubecamp-blue") == []
    after = await kubecamp(env, "challenge", "verify", "--team", "blue")
    assert (after.code, after.err.strip()) == (3, "kubecamp: team 'blue' has no active run")


async def test_an_unreachable_cluster_exits_4(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n",
        encoding="utf-8",
    )
    env = {**env, "KUBECAMP_KUBE_CONFIG": str(config), "KUBECAMP_KUBE_TIMEOUT_SECONDS": "2"}
    added = await kubecamp(env, "team", "add", "blue")
    assert added.code == 4 and "127.0.0.1:9" in added.err
    listed = await kubecamp(env, "--json", "team", "list")
    assert listed.json() == [], "a team whose namespace could not be made is not kept"
    await add_team_record(tmp_path, "blue")
    result = await kubecamp(env, "challenge", "start", "--team", "blue", "--challenge", "2")
    assert result.code == 4
    assert "127.0.0.1:9" in result.err
    preflight = await kubecamp(env, "preflight", "--challenge", "2")
    assert preflight.code == 4
    assert "127.0.0.1:9" in preflight.err


async def test_a_kubeconfig_that_is_not_there_is_named(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    present = {**env, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"))}
    assert (await kubecamp(present, "team", "add", "blue")).code == 0  # a team's namespace needs a cluster
    missing = tmp_path / "no" / "kubeconfig"
    named = await kubecamp(
        {**env, "KUBECAMP_KUBE_CONFIG": str(missing)}, "challenge", "start", "--team", "blue", "--challenge", "2"
    )
    assert (named.code, named.err.strip()) == (4, f"kubecamp: kubeconfig file {missing} does not exist")
    home = {**env, "HOME": str(tmp_path / "home")}  # no KUBECAMP_KUBE_CONFIG, no $KUBECONFIG: ~/.kube/config
    default = await kubecamp(home, "preflight", "--challenge", "2")
    assert (default.code, default.err.strip()) == (
        4,
        f"kubecamp: kubeconfig file {tmp_path / 'home' / '.kube' / 'config'} does not exist",
    )
    listed = await kubecamp({**env, "KUBECONFIG": os.pathsep.join(["/a", "/b"])}, "preflight")
    assert (listed.code, listed.err.strip()) == (4, "kubecamp: none of the kubeconfig files /a, /b exists")


async def test_a_context_the_kubeconfig_lacks_is_named_with_those_it_has(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    config = kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", context="kind-class")
    env = {**env, "KUBECAMP_KUBE_CONFIG": str(config)}
    assert (await kubecamp(env, "team", "add", "blue")).code == 0
    wrong = await kubecamp(
        {**env, "KUBECAMP_KUBE_CONTEXT": "kind-kubecamp"}, "challenge", "start", "--team", "blue", "--challenge", "2"
    )
    assert (wrong.code, wrong.err.strip()) == (
        4,
        f"kubecamp: kubeconfig {config} has no context 'kind-kubecamp'; its contexts: kind-class",
    )
    assert kube_cluster.objects("deployments", "kubecamp-blue") == []
    right = {**env, "KUBECAMP_KUBE_CONTEXT": "kind-class"}
    started = await kubecamp(right, "challenge", "start", "--team", "blue", "--challenge", "2")
    assert started.code == 0, started.err


async def test_preflight_proves_a_challenge_and_leaves_no_namespace(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    kube_cluster.freeze_time()
    env = {**env, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"))}
    result = await kubecamp(env, "preflight", "--challenge", "2", "--settle", "0", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert isinstance(report, dict) and report["all_behaved"] is True
    assert [(s["scenario"], s["verdict"]) for s in report["scenarios"]] == [
        ("image-pull", "behaved"),
        ("unschedulable", "behaved"),
        ("rolling-update", "behaved"),
        ("node-affinity", "behaved"),
    ]
    image_pull = report["scenarios"][0]
    assert image_pull["namespace"].startswith("kubecamp-preflight-")
    # --settle 0: read at once, when the first pulls have failed and no back-off has begun
    assert "ErrImagePull/ImagePullBackOff (image nginx:1.27-alpinee)" in image_pull["broken"]["checks"][0]["message"]
    assert {c["status"] for c in image_pull["solution"]["checks"]} == {"pass"}
    assert [n for n in kube_cluster.objects("namespaces") if "preflight" in n["metadata"]["name"]] == []

    plain = await kubecamp(env, "preflight", "--challenge", "1", "--scenario", "networking", "--settle", "0")
    assert plain.code == 0, plain.err
    lines = plain.out.splitlines()
    assert lines[0].startswith("✅   1  networking") and "behaved: it breaks, and the solution heals it" in lines[0]
    assert lines[-1].startswith("1 scenarios: 1 behaved, 0 skipped, 0 did not (")


async def test_preflight_broken_only_proves_the_deployed_catalogue(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    # As `helm test` runs it: the bot's ServiceAccount and settings, the chart's admission policy in force.
    env = {
        **env,
        **chart_kube_environment(),
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig", token=BOT_TOKEN)),
        "KUBECAMP_SCENARIOS_DIR": str(copy_as_deployed(tmp_path / "scenarios")),
    }
    full = await kubecamp(env, "preflight", "--challenge", "2")
    assert full.code == 2
    assert "a deployed catalogue carries no solutions" in full.err
    result = await kubecamp(
        env, "preflight", "--challenge", "2", "--scenario", "image-pull", "--settle", "0", "--broken-only"
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("✅   2  image-pull")
    assert "broke as meant; the solution was not applied (--broken-only)  (broken state " in lines[0]
    assert lines[-1].startswith("1 scenarios: 1 behaved, 0 skipped, 0 did not (")
    as_json = await kubecamp(env, "preflight", "--challenge", "2", "--settle", "0", "--broken-only", "--json")
    report = as_json.json()
    assert isinstance(report, dict) and report["all_behaved"] is True
    assert {(s["verdict"], s["solution"]) for s in report["scenarios"]} == {("broke", None)}
    assert [n for n in kube_cluster.objects("namespaces") if "preflight" in n["metadata"]["name"]] == []


async def test_preflight_reports_what_misbehaves_in_the_catalogue_language(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    catalogue = write_misbehaving_catalogue(tmp_path / "catalogue")
    env = {
        **env,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")),
        "KUBECAMP_SCENARIOS_DIR": str(catalogue),
    }
    result = await kubecamp(env, "preflight", "--scenario", "fits", "--settle", "0", "--timeout", "0.5")
    assert result.code == 1, result.err
    assert "❌   7  fits                     did not break: a check passed on the broken state" in result.out
    assert "broken state (" in result.out and "did not settle" not in result.out
    assert "✅ Pods app=reports: none Pending" in result.out
    assert "the cluster said:" in result.out
    assert "Pod reports-" in result.out and "scheduled on node kind-worker" in result.out

    korean = await kubecamp(
        {**env, "KUBECAMP_LANGUAGE": "ko"},
        "preflight",
        "--scenario",
        "unknown-image",
        "--settle",
        "0",
        "--timeout",
        "0.5",
    )
    assert korean.code == 1, korean.err
    assert "복구되지 않음 — 해결 매니페스트를 적용해도 통과하지 못한 검사가 있습니다" in korean.out
    assert "클러스터가 보고한 내용:" in korean.out and "nginx:9.99-nowhere" in korean.out
    assert "시나리오 1개: 정상 0개, 건너뜀 0개, 문제 1개" in korean.out
    assert [n for n in kube_cluster.objects("namespaces") if "preflight" in n["metadata"]["name"]] == []


async def test_preflight_refuses_bad_input_before_touching_the_cluster(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    env = {**env, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig"))}
    before = len(kube_cluster.requests)
    unknown = await kubecamp(env, "preflight", "--challenge", "2", "--scenario", "imagepull")
    assert unknown.code == 2
    assert unknown.err.startswith("kubecamp: no scenario 'imagepull'; the challenges chosen have image-pull, ")
    no_challenge = await kubecamp(env, "preflight", "--challenge", "9")
    assert (no_challenge.code, no_challenge.err.strip()) == (
        2,
        "kubecamp: no challenge 9; the catalogue has 1, 2, 3, 4, 5, 21, 51, 52, 53, 91",
    )
    build = await kubecamp(env, "preflight", "--challenge", "4")
    assert (build.code, build.err.strip().split(":")[:2]) == (2, ["kubecamp", " challenge 4 is a build"])
    negative = await kubecamp(env, "preflight", "--timeout", "-5")
    assert negative.code == 2 and "'-5' is not a number of seconds between 0 and 86400" in negative.err
    assert len(kube_cluster.requests) == before


async def test_preflight_stopped_by_sigterm_deletes_its_namespace(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    env = {
        **env,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")),
        "KUBECAMP_SCENARIOS_DIR": str(write_misbehaving_catalogue(tmp_path / "catalogue")),
        "KUBECAMP_LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        str(KUBECAMP), "preflight", "--scenario", "fits", "--settle", "0", "--timeout", "120",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    logged = b""
    while b"created namespace kubecamp-preflight-" not in logged:
        line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
        assert line, logged.decode()
        logged += line
    assert len([n for n in kube_cluster.objects("namespaces") if "preflight" in n["metadata"]["name"]]) == 1
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 143
    assert "kubecamp: preflight stopped" in err.decode()
    assert [n for n in kube_cluster.objects("namespaces") if "preflight" in n["metadata"]["name"]] == []


# --- teams and their access --------------------------------------------------------------------------


def as_the_bot(env: dict[str, str], kube: KubeCluster, tmp_path: Path) -> dict[str, str]:
    """The bot's settings as the chart gives them, its own token, the chart installed on the cluster."""
    install_chart(kube)
    return {
        **env,
        **chart_kube_environment(),
        "KUBECAMP_KUBE_CONFIG": str(kube.write_kubeconfig(tmp_path / "bot.kubeconfig", token=BOT_TOKEN)),
        "KUBECAMP_KUBE_TEAM_SERVER": kube.url,
    }


async def test_team_add_makes_the_namespace_and_the_teams_access(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    env = as_the_bot(env, kube_cluster, tmp_path)
    added = await kubecamp(env, "--json", "team", "add", "blue")
    assert added.code == 0, added.err
    assert added.json() == {"team": "blue", "namespace": "kubecamp-blue"}
    namespace = kube_cluster.get("namespaces", None, "kubecamp-blue")
    assert namespace is not None and namespace["metadata"]["labels"]["kubecamp.io/team"] == "blue"
    assert kube_cluster.get("limitranges", "kubecamp-blue", "kubecamp-bot") is not None
    assert kube_cluster.get("serviceaccounts", "kubecamp", "kubecamp-blue") is not None
    assert kube_cluster.get("rolebindings", "kubecamp-blue", "kubecamp-team-access") is not None


async def test_an_existing_namespace_is_refused_unless_adopted(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    kube_cluster.create("namespaces", {"metadata": {"name": "kubecamp-green"}})
    bot = as_the_bot(env, kube_cluster, tmp_path)
    refused = await kubecamp(bot, "team", "add", "green")
    assert refused.code == 2
    assert refused.err.startswith("kubecamp: namespace 'kubecamp-green' exists and kubecamp-bot did not make it")
    assert "--adopt" in refused.err
    assert (await kubecamp(bot, "--json", "team", "list")).json() == []
    assert "app.kubernetes.io/managed-by" not in (kube_cluster.get("namespaces", None, "kubecamp-green") or {}).get(
        "metadata", {}
    ).get("labels", {})

    # The bot's own token may not relabel a namespace (the chart's admission policy): --adopt runs as the admin.
    by_the_bot = await kubecamp(bot, "team", "add", "green", "--adopt")
    assert by_the_bot.code == 4 and "never changes the labels" in by_the_bot.err
    admin = {**bot, "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "admin.kubeconfig"))}
    adopted = await kubecamp(admin, "team", "add", "green", "--adopt")
    assert adopted.code == 0, adopted.err
    labels = kube_cluster.get("namespaces", None, "kubecamp-green")["metadata"]["labels"]  # type: ignore[index]
    assert labels["app.kubernetes.io/managed-by"] == "kubecamp-bot" and labels["kubecamp.io/team"] == "green"


async def test_team_kubeconfig_to_a_private_file_or_stdout_and_rotated(
    env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    env = as_the_bot(env, kube_cluster, tmp_path)
    assert (await kubecamp(env, "team", "add", "blue")).code == 0
    out = tmp_path / "blue.kubeconfig"
    written = await kubecamp(env, "--json", "team", "kubeconfig", "--team", "blue", "--out", str(out))
    assert written.code == 0, written.err
    report = written.json()
    assert report["file"] == str(out) and report["namespace"] == "kubecamp-blue"  # type: ignore[index]
    assert out.stat().st_mode & 0o777 == 0o600
    first = yaml.safe_load(out.read_text())
    token = first["users"][0]["user"]["token"]
    assert token not in written.out + written.err

    printed = await kubecamp(env, "team", "kubeconfig", "--team", "blue")
    assert printed.code == 0 and "kubeconfig of team blue" in printed.err
    assert yaml.safe_load(printed.out)["contexts"][0]["context"]["namespace"] == "kubecamp-blue"

    rotated = await kubecamp(env, "team", "kubeconfig", "--team", "blue", "--rotate", "--out", str(out))
    assert rotated.code == 0 and "earlier kubeconfigs of the team no longer work" in rotated.out
    async with kube_cluster.api_client(token=token) as api:
        with pytest.raises(ApiException) as revoked:
            await k8s.CoreV1Api(api).list_namespaced_pod("kubecamp-blue")
    assert revoked.value.status == 401
    async with kube_cluster.api_client(token=yaml.safe_load(out.read_text())["users"][0]["user"]["token"]) as api:
        assert (await k8s.CoreV1Api(api).list_namespaced_pod("kubecamp-blue")).items == []
    database = tmp_path / "data" / "kubecamp.db"
    assert token.encode() not in database.read_bytes()

    unknown = await kubecamp(env, "team", "kubeconfig", "--team", "green")
    assert (unknown.code, unknown.err.strip()) == (2, "kubecamp: no team named 'green'")
    no_server = {k: v for k, v in env.items() if k != "KUBECAMP_KUBE_TEAM_SERVER"}
    without_server = await kubecamp(no_server, "team", "kubeconfig", "--team", "blue")
    assert (without_server.code, without_server.err.strip()) == (2, "kubecamp: KUBECAMP_KUBE_TEAM_SERVER is not set")


async def test_grade_a_builds_items(env: dict[str, str], kube_cluster: KubeCluster, tmp_path: Path) -> None:
    from tests.challenges.test_catalog_build import write_build

    write_build(tmp_path / "catalogue")
    env = {
        **env,
        "KUBECAMP_KUBE_CONFIG": str(kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")),
        "KUBECAMP_SCENARIOS_DIR": str(tmp_path / "catalogue"),
    }
    assert (await kubecamp(env, "team", "add", "blue")).code == 0
    never = await kubecamp(env, "grade", "add", "blue", "report", "3", "clear")
    assert (never.code, never.err.strip()) == (
        3,
        "kubecamp: the team has no run of challenge 7 to grade",
    )
    assert (await kubecamp(env, "challenge", "start", "--team", "blue", "--challenge", "7")).code == 0

    given = await kubecamp(env, "grade", "add", "blue", "report", "3", "clear analysis")
    assert given.code == 0, given.err
    assert given.out.strip().endswith("team blue, 7/report 3 points; the item now stands at 3")
    over = await kubecamp(env, "grade", "add", "blue", "report", "3", "more")
    assert over.code == 3 and "at most 2 can be given" in over.err
    checked = await kubecamp(env, "grade", "add", "blue", "web", "3", "looks fine")
    assert (checked.code, checked.err.strip()) == (
        2,
        "kubecamp: item web is scored by verifying the cluster, not by an instructor",
    )
    undone = await kubecamp(env, "grade", "undo", "blue", "--item", "report")
    assert undone.code == 0 and "undone" in undone.out and "now stands at 0" in undone.out
    listed = await kubecamp(env, "--json", "grade", "list", "blue")
    awards = listed.json()
    assert isinstance(awards, list) and len(awards) == 1
    assert awards[0]["reason"] == "clear analysis" and awards[0]["awarded_by"].startswith("cli:")
    assert awards[0]["undone_by"].startswith("cli:")
    neither = await kubecamp(env, "grade", "undo", "blue")
    assert neither.code == 2 and "one of the arguments --item --id is required" in neither.err
