"""tests/postgres_server.py, which `.ci/run` starts the tests' PostgreSQL with: a server of its own in a temporary
folder, on loopback only, never as root, gone once stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests import postgres_server

pytestmark = pytest.mark.skipif(postgres_server.binaries() is None, reason="PostgreSQL is not installed")


async def _settings(url: str, *names: str) -> list[str]:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        return [await connection.fetchval(f"SHOW {name}") for name in names]
    finally:
        await connection.close()


def _real_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("Uid:")).split()[1])


def test_a_server_on_loopback_as_an_unprivileged_user_deleted_when_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    """Started as `.ci/run` does (one server: initdb is most of a second)."""
    assert postgres_server.main(["start"]) == 0
    url, where = (line.split("=", 1)[1] for line in capsys.readouterr().out.splitlines())
    folder = Path(where)
    try:
        parsed = make_url(url)
        assert (parsed.drivername, parsed.host, parsed.username) == ("postgresql+asyncpg", "127.0.0.1", "kubecamp")
        listening = asyncio.run(_settings(url, "listen_addresses", "unix_socket_directories", "TimeZone"))
        assert listening == ["127.0.0.1", "", "UTC"]
        postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        assert _real_uid(postmaster) != 0
    finally:
        assert postgres_server.main(["stop", where]) == 0
    assert not folder.exists()
    assert postgres_server.main(["restart"]) == 2
