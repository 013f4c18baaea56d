"""Logging for the whole process: plain lines by default, one JSON object per line with
`KUBECAMP_LOG_FORMAT=json` (for Loki, Elasticsearch and friends).

Secrets never reach the output: every record passes a filter that masks the configured secrets (the
Discord token, the webhook token and password) and any credential in an Authorization-style header
value, in the message, its arguments and its traceback — whoever logged it, our code or a library's.

A record is one line in either format: control characters in the message and its extra fields (CR and LF
first: an alert name with a newline would otherwise write a second, forged entry) are written as escapes
(`\\n`, `\\x1b`, `\\u2028`). A traceback keeps its lines.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["plain", "json"]
MASK = "***"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Credentials as they appear in headers: `Bot <token>` (Discord), `Bearer <token>`, `Basic <b64>`.
_HEADER_CREDENTIAL = re.compile(r"\b(Bot|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
#: C0 and C1 controls, DEL, Unicode's line and paragraph separators and the bidirectional overrides.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: What every record has: anything else on one was passed in `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """Masks secrets in a record before any handler formats it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _HEADER_CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatted here so the traceback is masked too; formatters use exc_text when it is set.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def one_line(text: str) -> str:
    """`text` with each control character written as its escape."""
    return _CONTROLS.sub(lambda m: _NAMED_ESCAPES.get(m.group()) or m.group().encode("unicode_escape").decode(), text)


class EscapeControls(logging.Filter):
    """Writes the control characters of a record's message and extra fields as escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = one_line(record.getMessage())
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, one_line(value))
        return True


def configure(*, level: str, fmt: LogFormat, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Log to stderr (or `stream`) at `level`, unless the process already has handlers (like
    `logging.basicConfig`: a host that set up logging, a test runner for one, keeps its own)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,  # Korean messages stay readable
            )
        )
    else:
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(EscapeControls())
    root.addHandler(handler)
    root.setLevel(level)
