"""Logging: plain or JSON lines, and no secret in either, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import MASK, RedactSecrets

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789"
WEBHOOK = "hook-secret-0123456789"


@pytest.fixture
def records() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler formats like `configure`'s plain format and redacts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN, WEBHOOK, ""]))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_configured_secrets_are_masked_in_messages_arguments_and_tracebacks(
    records: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = records
    logger.warning("login with %s failed", TOKEN)
    logger.warning(f"webhook token is {WEBHOOK}")
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        logger.exception("while connecting")
    out = stream.getvalue()
    assert TOKEN not in out and WEBHOOK not in out
    assert out.count(MASK) == 3
    assert "ValueError: bad token ***" in out  # the traceback is kept, masked


def test_credentials_in_header_values_are_masked_even_if_not_configured(
    records: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = records
    logger.info("headers: {'Authorization': 'Bot other.token-value_123'} and Bearer abcdefgh12345678")
    out = stream.getvalue()
    assert "other.token-value_123" not in out and "abcdefgh12345678" not in out
    assert "'Bot ***'" in out and "Bearer ***" in out


def _run_with(env: dict[str, str], code: str) -> str:
    """Run `code` in a fresh interpreter (no test runner's handlers), returning its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": ""}, check=True, timeout=30
    )
    return result.stderr


CONFIGURE_AND_LOG = f"""
import logging
from bot.config import load_settings
from bot import logs
settings = load_settings()
logs.configure(level=settings.log.level, fmt=settings.log.format, secrets=settings.secrets())
logging.getLogger("bot.demo").info("connecting with %s", {TOKEN!r})
logging.getLogger("bot.demo").debug("not shown at INFO")
logging.getLogger("bot.demo").warning("팀 blue: 준비됨")
"""


def test_plain_lines_by_default() -> None:
    err = _run_with({"KUBECAMP_DISCORD_TOKEN": TOKEN}, CONFIGURE_AND_LOG)
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO bot.demo: connecting with ***")
    assert lines[1].endswith(" WARNING bot.demo: 팀 blue: 준비됨")


def test_json_lines_with_log_format_json() -> None:
    err = _run_with({"KUBECAMP_DISCORD_TOKEN": TOKEN, "KUBECAMP_LOG_FORMAT": "json"}, CONFIGURE_AND_LOG)
    first, second = (json.loads(line) for line in err.splitlines())
    assert (first["level"], first["logger"], first["message"]) == ("INFO", "bot.demo", "connecting with ***")
    assert second["message"] == "팀 blue: 준비됨"  # not \\u-escaped
    assert "time" in first
    assert TOKEN not in err


def test_a_bad_log_format_is_refused_by_name() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubecamp"), "scenarios", "list"],
        capture_output=True,
        text=True,
        env={"KUBECAMP_LOG_FORMAT": "yaml", "PATH": ""},
        timeout=30,
    )
    assert result.returncode == 2
    assert "KUBECAMP_LOG_FORMAT" in result.stderr and "'plain' or 'json'" in result.stderr


FORGED = "2026-12-04 09:00:00,000 ERROR bot.app: forged entry"
#: An alert name as Alertmanager may send it: a line break, then what looks like another entry.
ALERTNAME = "KubecampPodCrashLooping\n" + FORGED + "\r\n\u2028\x1b[2K"
LOG_AN_ALERT = """
import logging
from bot import logs
logs.configure(level="INFO", fmt=FMT, secrets=[])
# What the incident publisher logs for an incident with nowhere to go, its title from the alert's labels.
logging.getLogger("bot.incidents.publisher").info("incident #%d (%s) has no channel to go to", 7, ALERTNAME)
logging.getLogger("bot.demo").warning("labels", extra={"namespace": "team-blue\\n" + FORGED})
"""


def _log_an_alert(fmt: str) -> list[str]:
    code = f"FMT = {fmt!r}\nALERTNAME = {ALERTNAME!r}\nFORGED = {FORGED!r}\n" + LOG_AN_ALERT
    return _run_with({}, code).splitlines()


def test_a_newline_in_an_alert_name_cannot_forge_a_plain_log_line() -> None:
    first, second = _log_an_alert("plain")  # two records, two lines
    escaped = "KubecampPodCrashLooping\\n" + FORGED + "\\r\\n\\u2028\\x1b[2K"
    assert first.endswith(f" INFO bot.incidents.publisher: incident #7 ({escaped}) has no channel to go to")
    assert second.endswith(" WARNING bot.demo: labels")


def test_control_characters_in_json_lines_and_extra_fields_are_escaped() -> None:
    first, second = (json.loads(line) for line in _log_an_alert("json"))
    escaped = "KubecampPodCrashLooping\\n" + FORGED + "\\r\\n\\u2028\\x1b[2K"
    assert first["message"] == f"incident #7 ({escaped}) has no channel to go to"
    assert second["namespace"] == "team-blue\\n" + FORGED
