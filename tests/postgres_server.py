"""A throwaway PostgreSQL server for the tests: Debian's PostgreSQL binaries, a cluster in a temporary folder,
listening on a loopback port only, run as an unprivileged user (PostgreSQL refuses to run as root).

    eval "$(python3 tests/postgres_server.py start)"   # exports KUBECAMP_TEST_DATABASE_URL and …_DIR
    pytest tests/store
    python3 tests/postgres_server.py stop "$KUBECAMP_TEST_DATABASE_DIR"

`.ci/run` does the same around the README's test command. Standard library only: it runs before the test
environment is installed. The cluster trusts loopback connections (no password): it lives as long as one run.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

#: Where Debian's postgresql package puts the server's programs (postgresql-15 on bookworm).
DEBIAN_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
#: Who runs the server when this is started as root.
UNPRIVILEGED_USER = "nobody"
SUPERUSER = "kubecamp"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder that has initdb and pg_ctl, if any."""
    for folder in DEBIAN_BINARIES:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={UNPRIVILEGED_USER}", f"--regid={_group()}", "--clear-groups", "--", *argv]


def _group() -> int:
    return pwd.getpwnam(UNPRIVILEGED_USER).pw_gid


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start(folder: Path | None = None) -> tuple[str, Path]:
    """Start a server; its asyncpg URL (database ``postgres``, superuser `SUPERUSER`) and its folder."""
    bin_dir = binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(folder or tempfile.mkdtemp(prefix="kubecamp-postgres-"))
    data = folder / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        env=environment,
    )
    port = _free_port()
    # No socket file (unix_socket_directories empty): TCP on loopback only. fsync off: a test server
    # whose data dies with it. Connections: two xdist workers per core, each with its pools.
    options = (
        f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=300 -c timezone=UTC"
    )
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        env=environment,
    )
    return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/postgres", folder


def stop(folder: Path) -> None:
    """Stop the server of `folder` (fast shutdown) and delete the folder."""
    bin_dir = binaries()
    if bin_dir is not None and (folder / "data" / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and len(argv) <= 2:
        url, folder = start(Path(argv[1]) if len(argv) == 2 else None)
        print(f"export KUBECAMP_TEST_DATABASE_URL={shlex.quote(url)}")
        print(f"export KUBECAMP_TEST_DATABASE_DIR={shlex.quote(str(folder))}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop(Path(argv[1]))
        return 0
    print("usage: postgres_server.py start [FOLDER] | stop FOLDER", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
