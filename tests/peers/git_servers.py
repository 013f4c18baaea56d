"""Real git servers on loopback, serving repositories made with real `git`.

* ``GitDaemon``: git's own ``git daemon`` (the git:// protocol) over a folder of repositories;
* ``GitHttpServer``: git's ``git http-backend`` (smart HTTP) as a CGI program behind a small threaded HTTP
  server, which also answers as the other servers a team's URL may reach: a redirect (``/moved/…``), one that
  asks for credentials (``/private/…``) or refuses (``/forbidden/…``), a web page (``/page/…``) and one that
  never answers (``/stall/…``);
* ``SilentServer``: a TCP port that accepts connections and never says a word;
* ``BannerServer``: a TCP port whose server speaks first and no git (an SSH server's greeting).

``make_repository`` commits files with ``git`` itself, under a configuration of its own (no user's or
system's settings leak in).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.peers.processes import HOST, _die_with_parent, free_port

GIT = shutil.which("git") or "/usr/bin/git"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
#: git without the user's or the system's configuration, and a fixed author.
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Team One",
    "GIT_AUTHOR_EMAIL": "team1@example.com",
    "GIT_COMMITTER_NAME": "Team One",
    "GIT_COMMITTER_EMAIL": "team1@example.com",
}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run([GIT, *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def make_repository(
    path: Path, files: Mapping[str, bytes | str] | Iterable[str], *, allow_filter: bool = True, branch: str = "main"
) -> str:
    """A repository at `path` with one commit of `files` (path → content, or paths with a line each); the
    commit's id. `allow_filter`: whether the server may leave file contents out (uploadpack.allowFilter)."""
    path.mkdir(parents=True)
    git("init", "-q", "-b", branch, cwd=path)
    git("config", "uploadpack.allowFilter", "true" if allow_filter else "false", cwd=path)
    contents = files if isinstance(files, Mapping) else {name: f"{name}\n" for name in files}
    for name, content in contents.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if contents:
        git("add", "-A", cwd=path)
        git("commit", "-q", "-m", "platform", cwd=path)
        return git("rev-parse", "HEAD", cwd=path).strip()
    return ""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"git daemon exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"git daemon did not listen on {port}: {log.read_text(errors='replace')}")


class GitDaemon:
    """`git daemon` exporting every repository under `root` on 127.0.0.1."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.port = free_port()
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                GIT, "daemon", "--reuseaddr", "--export-all", "--informative-errors", "--verbose",
                f"--base-path={root}", f"--listen={HOST}", f"--port={self.port}", str(root),
            ],
            env=GIT_ENV,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, log)

    def url(self, name: str) -> str:
        return f"git://{HOST}:{self.port}/{name}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        self.server.requests.append(self.requestline)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        path, _, query = self.path.partition("?")
        section, _, rest = path.lstrip("/").partition("/")
        if section == "git":
            self._cgi("/" + rest, query)
        elif section == "moved":
            self._send(301, b"", {"Location": f"/git/{rest}" + (f"?{query}" if query else "")})
        elif section == "private":
            self._send(401, b"Authentication required\n", {"WWW-Authenticate": 'Basic realm="git"'})
        elif section == "forbidden":
            self._send(403, b"Forbidden\n", {})
        elif section == "page":
            self._send(
                200, b"<!doctype html><title>Team one</title><p>Our project!</p>\n", {"Content-Type": "text/html"}
            )
        elif section == "stall":
            self.server.stopping.wait(60)
        else:
            self._send(404, b"Not found\n", {})

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self, path_info: str, query: str) -> None:
        """git http-backend as a CGI program (RFC 3875): the request in its environment and standard input,
        the response's headers (Status among them) and body on its standard output."""
        body = self._body()
        environment = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run([HTTP_BACKEND], input=body, env=environment, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        status = 200
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name] = value.strip()
        self._send(status, payload, headers)

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__((HOST, 0), _Handler)
        self.root = root
        self.requests: list[str] = []
        self.stopping = threading.Event()


class GitHttpServer:
    """Smart HTTP over the repositories under `root`, at http://127.0.0.1:port/git/<name>."""

    def __init__(self, root: Path) -> None:
        self._server = _Server(root)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-http", daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}/{path}"

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class SilentServer:
    """A listening socket that completes every connection (the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self._socket = socket.create_server((HOST, 0))
        self.port = self._socket.getsockname()[1]

    def stop(self) -> None:
        self._socket.close()


class BannerServer:
    """A server that greets every connection with `banner` and closes it, as an SSH server greets a client."""

    def __init__(self, banner: bytes) -> None:
        self._socket = socket.create_server((HOST, 0))
        self.port = self._socket.getsockname()[1]
        self._banner = banner
        self._thread = threading.Thread(target=self._serve, name="banner", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed by stop()
                return
            with connection:
                connection.sendall(self._banner)

    def stop(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=10)
