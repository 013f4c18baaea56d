"""The `kubecamp` command as an instructor runs it: a real process against the emulated cluster."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulators.kube import KubeCluster

REPO = Path(__file__).parents[1]
KUBECAMP = Path(sys.executable).parent / "kubecamp"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBECAMP_")}
    return {
        **clean,
        "KUBECAMP_DATA_DIR": str(tmp_path / "data"),
        "KUBECAMP_SCENARIOS_DIR": str(REPO / "scenarios"),
        "KUBECAMP_LANGUAGE": "en",
        "KUBECAMP_LOG_LEVEL": "WARNING",
    }


async def kubecamp(env: dict[str, str], *args: str) -> Result:
    # A subprocess, awaited without blocking the loop that serves the emulated API server.
    process = await asyncio.create_subprocess_exec(
        str(KUBECAMP), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def test_scenarios_validate_and_list(env: dict[str, str]) -> None:
    valid = await kubecamp(env, "scenarios", "validate")
    assert valid.code == 0, valid.err
    assert "3 challenges, 12 scenarios, all valid" in valid.out
    listed = await kubecamp(env, "--json", "scenarios", "list")
    assert [c["id"] for c in listed.json()] == [1, 2, 5]  # type: ignore[union-attr]


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


async def test_db_upgrade_creates_the_database(env: dict[str, str], tmp_path: Path) -> None:
    result = await kubecamp(env, "db", "upgrade")
    assert (result.code, result.out.strip()) == (0, "database is at the newest revision")
    assert (tmp_path / "data" / "kubecamp.db").is_file()


async def test_run_without_a_token_says_which_variable(env: dict[str, str]) -> None:
    result = await kubecamp(env, "run")
    assert result.code == 2
    assert "KUBECAMP_DISCORD_TOKEN is not set" in result.err


async def test_a_secret_never_reaches_the_output(env: dict[str, str]) -> None:
    result = await kubecamp(
        {**env, "KUBECAMP_DISCORD_TOKEN": "very-secret-token", "KUBECAMP_LOG_LEVEL": "DEBUG"}, "run"
    )
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
    assert "ErrImagePull (image nginx:1.27-alpinee)" in verified.out  # the first pulls failed, no back-off yet

    status = await kubecamp(env, "challenge", "status", "--team", "blue", "--challenge", "2", "--json")
    assert status.code == 0
    assert [s["attempts"] for s in status.json()["scenarios"]] == [1, 1, 1, 1]  # type: ignore[index]

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
    assert (await kubecamp(env, "team", "add", "blue")).code == 0
    result = await kubecamp(env, "challenge", "start", "--team", "blue", "--challenge", "2")
    assert result.code == 4
    assert "127.0.0.1:9" in result.err
