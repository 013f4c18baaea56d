"""Prometheus and Alertmanager as child processes, and the two HTTP servers they talk to.

* ``Exposition``: ``GET /metrics`` in the Prometheus text format, content replaced by the test at any time (the
  kube-state-metrics stand-in);
* ``WebhookReceiver``: records every POST Alertmanager makes to a webhook (headers and exact body);
* ``PrometheusProcess``: ``/usr/bin/prometheus`` scraping an ``Exposition`` every second and evaluating copies
  of ``alert_rules/*.yaml`` whose ``for`` is shortened;
* ``AlertmanagerProcess``: ``/usr/bin/prometheus-alertmanager`` with one route to one webhook receiver.

Each process runs on 127.0.0.1 with a free port and its own directory (config, data, ``<name>.log``). A start
that fails or times out raises ``PeerStartFailed`` with the tail of the log. ``stop()`` terminates, waits, then
kills; a process still alive when the interpreter exits is killed too, and on Linux the kernel kills it if the
test process dies first.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from yarl import URL

ROOT = Path(__file__).parents[2]
ALERT_RULES_DIR = ROOT / "alert_rules"
HOST = "127.0.0.1"

PEERS_MISSING = (
    "{binary} is not installed. Install Debian's packages, which ship /usr/bin/prometheus and "
    "/usr/bin/prometheus-alertmanager: `apt-get update && apt-get install -y --no-install-recommends prometheus "
    "prometheus-alertmanager` (CI installs them)."
)

EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Sample = tuple[str, Mapping[str, str], float]
"""One series of an exposition: (metric name, labels, value)."""


class PeerError(Exception):
    """A peer process did not do what the test needs; the message carries the tail of its log."""


class PeerStartFailed(PeerError):
    """The process exited, or did not answer ``/-/ready``, before its start timeout."""


class PeerTimeout(PeerError, TimeoutError):
    """What a test waited for (an alert, a notification) did not happen in time."""


# --- helpers -----------------------------------------------------------------------------------------------------


def binary(name: str) -> str:
    """The path of a Debian binary, or the test fails saying which package to install."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(PEERS_MISSING.format(binary=name))
    return path


def free_port() -> int:
    """A port nothing listens on right now (the process binds it a moment later: see ``PeerProcess.start``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rfc3339(moment: datetime) -> str:
    """A timestamp as Alertmanager's API and Prometheus write them (UTC, milliseconds, ``Z``)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone (UTC)")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def escape_label_value(value: str) -> str:
    """Escape a label value for the text format: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def render_exposition(samples: Iterable[Sample]) -> str:
    """The text format of `samples`, series of one metric kept together (the format requires it)."""
    by_metric: dict[str, list[str]] = {}
    for metric, labels, value in samples:
        if not _METRIC_NAME.match(metric):
            raise ValueError(f"invalid metric name {metric!r}")
        for name in labels:
            if not _LABEL_NAME.match(name):
                raise ValueError(f"invalid label name {name!r} on {metric}")
        rendered = ",".join(f'{name}="{escape_label_value(labels[name])}"' for name in labels)
        line = f"{metric}{{{rendered}}} {_format_value(value)}" if labels else f"{metric} {_format_value(value)}"
        by_metric.setdefault(metric, []).append(line)
    return "".join(line + "\n" for lines in by_metric.values() for line in lines)


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


# --- the HTTP servers the peers talk to ---------------------------------------------------------------------------


class Exposition:
    """A kube-state-metrics stand-in: ``GET /metrics`` answers whatever the test set last."""

    def __init__(self) -> None:
        self._text = ""
        self._runner: web.AppRunner | None = None
        self._scraped = asyncio.Condition()
        self.port = 0
        self.scrapes = 0
        """How many times ``/metrics`` was served."""

    @property
    def target(self) -> str:
        """``host:port``, as a Prometheus ``static_configs`` target."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.target}/metrics"

    def set(self, text: str) -> None:
        """Serve `text` (already in the text format) from now on."""
        self._text = text

    def set_samples(self, samples: Iterable[Sample]) -> None:
        """Serve `samples`, rendered by ``render_exposition``."""
        self._text = render_exposition(samples)

    async def wait_scraped(self, count: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - PeerTimeout says what
        """Return once `/metrics` has been served `count` more times, i.e. the scraper saw the current content."""
        target = self.scrapes + count
        try:
            async with asyncio.timeout(timeout), self._scraped:
                await self._scraped.wait_for(lambda: self.scrapes >= target)
        except TimeoutError:
            raise PeerTimeout(f"/metrics was served {self.scrapes} times, not {target}, within {timeout:g}s") from None

    async def _metrics(self, _: web.Request) -> web.Response:
        text = self._text
        self.scrapes += 1
        async with self._scraped:
            self._scraped.notify_all()
        return web.Response(body=text.encode(), headers={"Content-Type": EXPOSITION_CONTENT_TYPE})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner, self.port = await _serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass(frozen=True)
class Notification:
    """One POST received by ``WebhookReceiver``: its headers and exact body."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST to ``/hook`` (any path, in fact) and answers `status` (200 unless the test changes it)."""

    def __init__(self, *, path: str = "/hook") -> None:
        self.path = path
        self.status = 200
        self.notifications: list[Notification] = []
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    async def next(self, timeout: float = 20.0) -> Notification:  # noqa: ASYNC109 - PeerTimeout says how many came
        """The next notification not yet returned by ``next``, waiting up to `timeout` seconds for it."""
        try:
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            raise PeerTimeout(
                f"no webhook notification within {timeout:g}s ({len(self.notifications)} received so far)"
            ) from None

    def pending(self) -> int:
        """Notifications received and not yet returned by ``next``."""
        return self._queue.qsize()

    async def _receive(self, request: web.Request) -> web.Response:
        notification = Notification(
            path=request.path,
            headers={name: value for name, value in request.headers.items()},
            body=await request.read(),
            received_at=datetime.now(UTC),
        )
        self.notifications.append(notification)
        self._queue.put_nowait(notification)
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner, self.port = await _serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# --- child processes -----------------------------------------------------------------------------------------------

_LIVE: set[subprocess.Popen[bytes]] = set()
_PR_SET_PDEATHSIG = 1
try:
    # Loaded here, not in the forked child: only the prctl call itself runs between fork and exec.
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    # If pytest is killed (SIGKILL, OOM), the kernel kills the peer too instead of leaving it listening.
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class PeerProcess:
    """A binary on 127.0.0.1:<free port> in its own directory, with ``/-/ready`` as its readiness probe."""

    name = "peer"
    READY_PATH = "/-/ready"
    # Lines of the log quoted in errors.
    LOG_TAIL_LINES = 40
    START_ATTEMPTS = 3

    def __init__(self, executable: str, workdir: Path, *, start_timeout: float = 30.0) -> None:
        self.executable = executable
        self.workdir = workdir
        self.start_timeout = start_timeout
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.name}.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None

    # Subclasses: the command line and the files it needs, for ``self.port``.
    def _write_config(self) -> None:
        raise NotImplementedError

    def _args(self) -> list[str]:
        raise NotImplementedError

    def _environment(self) -> dict[str, str] | None:
        """The child's environment; None: this process's own."""
        return None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ready_url(self) -> str:
        """What answers 200 once the process is ready."""
        return f"{self.url}{self.READY_PATH}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int | None = None) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-(lines or self.LOG_TAIL_LINES) :])

    def _describe(self) -> str:
        return f"{self.name} ({self.executable}, {self.url}, log {self.log_path})"

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(self._args())}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self._args(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                preexec_fn=_die_with_parent,
            )
        _LIVE.add(proc)
        return proc

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def start(self) -> None:
        """Start the process and return once it answers ``/-/ready``."""
        if self._proc is not None:
            raise PeerError(f"{self._describe()} was already started")
        for attempt in range(1, self.START_ATTEMPTS + 1):
            # Another process may take the free port between our probe and the peer's bind: retry on a new one.
            self.port = free_port()
            self._write_config()
            self._proc = self._spawn()
            try:
                await self._wait_ready()
            except PeerStartFailed:
                port_taken = "address already in use" in self.log_tail(5).lower()
                await self.stop()
                if port_taken and attempt < self.START_ATTEMPTS:
                    continue
                raise
            return

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        last = "no answer yet"
        while asyncio.get_running_loop().time() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise PeerStartFailed(f"{self._describe()} exited with {code} while starting; log:\n{self.log_tail()}")
            try:
                async with self.session.get(self.ready_url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
                    last = f"{self.READY_PATH} answered {resp.status}: {await resp.text()}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{self.READY_PATH}: {exc!r}"
            await asyncio.sleep(0.05)
        raise PeerStartFailed(
            f"{self._describe()} not ready within {self.start_timeout:g}s ({last}); log:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a node failure would: no clean-up runs in the process."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            _LIVE.discard(proc)

    def rss_bytes(self) -> int:
        """The process's resident set size now (Linux ``/proc``)."""
        if self._proc is None:
            raise PeerError(f"{self._describe()} is not running")
        for line in Path(f"/proc/{self._proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise PeerError(f"no VmRSS in /proc/{self._proc.pid}/status")

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - then SIGKILL, never an error
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Safe to call twice, or after a failed start."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.terminate()
                if not await _exited(proc, timeout):
                    proc.kill()
        finally:
            # Even when cancelled: SIGKILL cannot be ignored, so this wait is short.
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            _LIVE.discard(proc)

    async def _get_json(self, path: str) -> Any:
        async with self.session.get(f"{self.url}{path}") as resp:
            text = await resp.text()
            if resp.status != 200:
                raise PeerError(f"GET {path} of {self._describe()} answered {resp.status}: {text}")
            return json.loads(text)


async def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:  # noqa: ASYNC109 - False, not an error
    # Polling keeps asyncio's child watchers (and their threads) out of it.
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def shorten_rule_files(sources: Sequence[Path], dest: Path, alert_for: str) -> list[Path]:
    """Copies of the rule files `sources` in `dest`, every rule's ``for`` replaced by `alert_for`."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        for group in document.get("groups", []):
            # A group's own interval would override the 1 s evaluation interval of the test config.
            group.pop("interval", None)
            for rule in group.get("rules", []):
                if "for" in rule:
                    rule["for"] = alert_for
        target = dest / source.name
        target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")
        written.append(target)
    return written


class PrometheusProcess(PeerProcess):
    """Prometheus scraping `scrape_target` every second (``honor_labels``), evaluating the rules every second,
    sending alerts to `alertmanager_url` if given."""

    name = "prometheus"

    def __init__(
        self,
        workdir: Path,
        *,
        scrape_target: str,
        alert_for: str = "2s",
        alertmanager_url: str | None = None,
        rule_files: Sequence[Path] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(binary("prometheus"), workdir, start_timeout=start_timeout)
        self.scrape_target = scrape_target
        self.alert_for = alert_for
        self.alertmanager_url = alertmanager_url
        self.rule_files = list(rule_files) if rule_files is not None else sorted(ALERT_RULES_DIR.glob("*.yaml"))
        self.config_path = workdir / "prometheus.yml"
        self.rules_dir = workdir / "rules"

    def _write_config(self) -> None:
        rules = shorten_rule_files(self.rule_files, self.rules_dir, self.alert_for)
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "kube-state-metrics",
                    # Keep the series' own namespace/pod labels, as kube-prometheus-stack does.
                    "honor_labels": True,
                    "static_configs": [{"targets": [self.scrape_target]}],
                }
            ],
            "rule_files": [str(path) for path in rules],
        }
        if self.alertmanager_url is not None:
            url = URL(self.alertmanager_url)
            alertmanager: dict[str, Any] = {
                "scheme": url.scheme,
                "api_version": "v2",
                "static_configs": [{"targets": [f"{url.host}:{url.port}"]}],
            }
            if url.path not in ("", "/"):
                alertmanager["path_prefix"] = url.path
            config["alerting"] = {"alertmanagers": [alertmanager]}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def _args(self) -> list[str]:
        return [
            self.executable,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            # Otherwise the generatorURL of every alert names this machine's hostname.
            f"--web.external-url={self.url}",
            # Resend firing and resolved alerts to Alertmanager every second instead of every minute.
            "--rules.alert.resend-delay=1s",
            "--log.level=info",
        ]

    async def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v1/alerts``: the pending and firing alerts."""
        answer = await self._get_json("/api/v1/alerts")
        return list(answer["data"]["alerts"])

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; the vector's samples (for a test that wants to see what Prometheus sees)."""
        async with self.session.get(f"{self.url}/api/v1/query", params={"query": expr}) as resp:
            answer = await resp.json()
        if answer.get("status") != "success":
            raise PeerError(f"query {expr!r} failed: {answer}")
        return list(answer["data"]["result"])

    async def wait_for_alert(
        self,
        name: str,
        state: str = "firing",
        timeout: float = 30.0,  # noqa: ASYNC109 - PeerTimeout lists the alerts and the log
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The first alert `name` in `state` (whose labels include `labels`), polling until `timeout`."""
        wanted = dict(labels or {})
        deadline = asyncio.get_running_loop().time() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            seen = await self.alerts()
            for alert in seen:
                if (
                    alert["labels"].get("alertname") == name
                    and alert["state"] == state
                    and wanted.items() <= alert["labels"].items()
                ):
                    return alert
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.2)
        summary = [(a["labels"].get("alertname"), a["state"]) for a in seen]
        raise PeerTimeout(
            f"alert {name} {wanted or ''} not {state} within {timeout:g}s; alerts now: {summary}; "
            f"log:\n{self.log_tail()}"
        )

    async def wait_for_no_alert(self, name: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - as above
        """Return once no alert `name` is pending or firing."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(a["labels"].get("alertname") == name for a in await self.alerts()):
            if asyncio.get_running_loop().time() >= deadline:
                raise PeerTimeout(f"alert {name} still active after {timeout:g}s; log:\n{self.log_tail()}")
            await asyncio.sleep(0.2)


class AlertmanagerProcess(PeerProcess):
    """Alertmanager with one route to one webhook receiver, without clustering (no gossip: it starts at once).
    With ``discord=True`` the receiver is Alertmanager's own Discord integration (``discord_configs``) and
    `webhook_url` a Discord execute-webhook URL."""

    name = "alertmanager"
    RECEIVER = "kubecamp-bot"

    def __init__(
        self,
        workdir: Path,
        *,
        webhook_url: str,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        discord: bool = False,
        send_resolved: bool = True,
        max_alerts: int | None = None,
        group_by: Sequence[str] = ("alertname", "namespace"),
        group_wait: str = "1s",
        group_interval: str = "1s",
        repeat_interval: str = "1h",
        resolve_timeout: str | None = None,
        external_url: str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        if bearer_token is not None and basic_auth is not None:
            raise ValueError("Alertmanager accepts either a bearer token or basic auth on a webhook, not both")
        if discord and (bearer_token is not None or basic_auth is not None or max_alerts is not None):
            raise ValueError("a discord_configs receiver takes no credentials or max_alerts: the URL is the secret")
        super().__init__(binary("prometheus-alertmanager"), workdir, start_timeout=start_timeout)
        self.webhook_url = webhook_url
        self.bearer_token = bearer_token
        self.basic_auth = basic_auth
        self.discord = discord
        self.send_resolved = send_resolved
        self.max_alerts = max_alerts
        self.group_by = list(group_by)
        self.group_wait = group_wait
        self.group_interval = group_interval
        self.repeat_interval = repeat_interval
        self.resolve_timeout = resolve_timeout
        self._external_url = external_url
        self.config_path = workdir / "alertmanager.yml"

    @property
    def external_url(self) -> str:
        # Without --web.external-url Alertmanager writes http://<hostname>:<port> into every notification.
        return self._external_url or self.url

    def config(self) -> dict[str, Any]:
        """The configuration file's content."""
        webhook: dict[str, Any] = {"url": self.webhook_url, "send_resolved": self.send_resolved}
        if self.max_alerts is not None:
            webhook["max_alerts"] = self.max_alerts
        if self.bearer_token is not None:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": self.bearer_token}}
        elif self.basic_auth is not None:
            username, password = self.basic_auth
            webhook["http_config"] = {"basic_auth": {"username": username, "password": password}}
        receiver: dict[str, Any] = {"name": self.RECEIVER, "webhook_configs": [webhook]}
        if self.discord:
            receiver = {
                "name": self.RECEIVER,
                "discord_configs": [{"webhook_url": self.webhook_url, "send_resolved": self.send_resolved}],
            }
        config: dict[str, Any] = {
            "route": {
                "receiver": self.RECEIVER,
                "group_by": self.group_by,
                "group_wait": self.group_wait,
                "group_interval": self.group_interval,
                "repeat_interval": self.repeat_interval,
            },
            "receivers": [receiver],
        }
        if self.resolve_timeout is not None:
            config["global"] = {"resolve_timeout": self.resolve_timeout}
        return config

    def _write_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False), encoding="utf-8")

    def _args(self) -> list[str]:
        return [
            self.executable,
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            f"--web.external-url={self.external_url}",
            "--cluster.listen-address=",
            "--log.level=info",
        ]

    async def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """``POST /api/v2/alerts``, as Prometheus does (see ``postable_alert``)."""
        async with self.session.post(f"{self.url}/api/v2/alerts", json=list(alerts)) as resp:
            if resp.status != 200:
                raise PeerError(f"POST /api/v2/alerts answered {resp.status}: {await resp.text()}")

    async def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``."""
        return list(await self._get_json("/api/v2/alerts"))

    async def silences(self) -> list[dict[str, Any]]:
        """``GET /api/v2/silences``: every silence Alertmanager holds, expired ones included."""
        return list(await self._get_json("/api/v2/silences"))


class KubecampProcess(PeerProcess):
    """``kubecamp run`` (this virtualenv's console script) configured by `environment` (``KUBECAMP_*``
    variables; the ports are chosen here): the webhook on `url`, the probes and ``/metrics`` on `probe_url`.
    Ready when ``/readyz`` answers 200: store, gateway, cluster."""

    name = "kubecamp"
    READY_PATH = "/readyz"

    def __init__(self, workdir: Path, *, environment: Mapping[str, str], start_timeout: float = 30.0) -> None:
        super().__init__(str(Path(sys.executable).parent / "kubecamp"), workdir, start_timeout=start_timeout)
        self.environment = dict(environment)
        self.probe_port = 0

    @property
    def probe_url(self) -> str:
        return f"http://{HOST}:{self.probe_port}"

    @property
    def ready_url(self) -> str:
        return f"{self.probe_url}{self.READY_PATH}"

    def _write_config(self) -> None:
        self.probe_port = free_port()  # configured by the environment alone, this port too

    def _args(self) -> list[str]:
        return [self.executable, "run"]

    def _environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("KUBECAMP_")}
        ports = {
            "KUBECAMP_WEB_PORT": str(self.port),
            "KUBECAMP_WEB_PROBE_PORT": str(self.probe_port),
            "KUBECAMP_WEB_SCOREBOARD_PORT": "0",  # any free port: the tests that read the page build the app
        }
        # The code of this checkout, whichever one the virtualenv's console script was installed from.
        path = os.pathsep.join(filter(None, [str(ROOT), inherited.get("PYTHONPATH")]))
        return {**inherited, **self.environment, "KUBECAMP_WEB_HOST": HOST, "PYTHONPATH": path, **ports}


def postable_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
    generator_url: str = "",
) -> dict[str, Any]:
    """An alert for ``POST /api/v2/alerts``. Prometheus sends a firing alert with ``endsAt`` a few resend delays
    ahead (so it resolves by itself if Prometheus goes away) and a resolved one with ``endsAt`` = when it resolved.
    """
    alert: dict[str, Any] = {
        "labels": dict(labels),
        "annotations": dict(annotations or {}),
        "startsAt": rfc3339(starts_at),
        "generatorURL": generator_url,
    }
    if ends_at is not None:
        alert["endsAt"] = rfc3339(ends_at)
    return alert
