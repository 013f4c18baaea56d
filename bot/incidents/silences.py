"""Alertmanager's silences, through its API v2.

`Alertmanager` creates a silence from equality matchers, reads one and expires one. Every failure is one of
the errors below, naming the URL without its credentials. Status codes as Alertmanager 0.25 answers them:
POST /silences 200 `{"silenceID": …}`, 400 with a JSON string (start not before end, a matcher set that
matches everything), 422 with `{"code", "message"}` (schema: no matchers, a missing field); GET /silence/{id}
404 with no body when unknown; DELETE /silence/{id} 200 also for an expired silence, and 500
`"silence not found"` for an unknown id (0.26 and later answer 404); both 422 for an id that is not a UUID
(refused here before sending: Alertmanager cleans the path before it validates the id).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import aiohttp
from yarl import URL

from bot.errors import ConfigInvalid, KubecampError
from bot.i18n import Message

log = logging.getLogger(__name__)

# Alertmanager 0.25 answers DELETE of an unknown id with 500 and this text.
_NOT_FOUND_TEXT = "silence not found"


class AlertmanagerError(KubecampError):
    """Base of the errors talking to Alertmanager."""

    message = Message("incident.err.alertmanager")


class AlertmanagerUnavailable(AlertmanagerError):
    """Alertmanager could not be reached, timed out, answered 5xx or something that is not its API."""


class SilenceRefused(AlertmanagerError):
    """Alertmanager answered 4xx to a silence request; `reason` is its own text. `status` is None when the bot
    refused the request itself before sending it."""

    def __init__(self, detail: str, *, reason: str, status: int | None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status
        # Alertmanager's own answer, quoted: backticks would end the quote
        self.message = Message("incident.err.alertmanager_refused", {"status": status, "answer": _quotable(reason)})


class SilenceInvalid(SilenceRefused, ValueError):
    """The bot refuses the request itself (no matchers, a naive time, an id that is not a UUID): nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"silence refused: {reason}", reason=reason, status=None)
        self.message = Message("incident.err.silence_invalid", {"answer": _quotable(reason)})


class SilenceNotFound(AlertmanagerError):
    """Alertmanager has no silence with this id."""

    def __init__(self, silence_id: str, url: str) -> None:
        super().__init__(f"Alertmanager at {url} has no silence {silence_id}")
        self.silence_id = silence_id
        self.message = Message("incident.err.silence_not_found", {"silence": silence_id})


def _quotable(text: str) -> str:
    return text.replace("`", "'")


def _rfc3339(name: str, moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SilenceInvalid(f"{name} is a naive datetime: give it a time zone (UTC)")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_id(silence_id: str) -> None:
    # Alertmanager's ids are UUIDs. It would answer 422 to anything else, but it decodes and cleans the path first:
    # "x/../../silences" would reach another endpoint.
    try:
        UUID(silence_id)
    except ValueError as exc:
        raise SilenceInvalid(f"silence id {silence_id!r} is not a UUID") from exc


def _reason(text: str) -> str:
    """Alertmanager's error text: a JSON string (its handlers), {"message": …} (schema validation), or plain."""
    try:
        decoded = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(decoded, str):
        return decoded
    message = decoded.get("message") if isinstance(decoded, dict) else None
    return message if isinstance(message, str) else text.strip()


class Alertmanager:
    """A client of one Alertmanager. `base_url` may carry a path prefix and credentials (sent as basic auth);
    the session is created on first use, on the running loop, and closed by `close()`."""

    def __init__(self, *, base_url: str, timeout: float = 10.0) -> None:
        url = URL(base_url)
        if not url.absolute or url.scheme not in ("http", "https"):
            shown = url.with_user(None)
            raise ConfigInvalid(f"Alertmanager base URL must be http(s)://host[:port][/prefix], not {shown}")
        self._headers: dict[str, str] = {}
        if url.user or url.password:
            credentials = f"{url.user or ''}:{url.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        # Without its credentials: this one goes into messages and logs.
        self._base = url.with_user(None).with_query(None).with_fragment(None)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The base URL without credentials."""
        return str(self._base)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def create_silence(
        self,
        matchers: Mapping[str, str],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """Silence the alerts whose labels equal every one of `matchers`; returns the silence id."""
        if not matchers:
            # Alertmanager refuses it too (422), but an empty mapping here is a bug that must never get near it.
            raise SilenceInvalid("no matchers: a silence without matchers would silence every alert")
        if any(not name for name in matchers):
            raise SilenceInvalid("a matcher has an empty label name")
        body = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True} for name, value in matchers.items()
            ],
            "startsAt": _rfc3339("starts_at", starts_at),
            "endsAt": _rfc3339("ends_at", ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        status, text = await self._request("POST", self._path("silences"), json_body=body)
        if status != 200:
            raise self._refusal("create a silence", status, text)
        answer = self._decode(text, "POST silences")
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise AlertmanagerUnavailable(f"Alertmanager at {self.url} answered a silence with no silenceID: {text!r}")
        log.info("silence %s created in %s for %s until %s", silence_id, self.url, dict(matchers), body["endsAt"])
        return silence_id

    async def expire_silence(self, silence_id: str) -> None:
        """Expire the silence now. Expiring one that already expired succeeds (Alertmanager answers 200)."""
        _check_id(silence_id)
        status, text = await self._request("DELETE", self._path("silence", silence_id))
        if status == 200:
            log.info("silence %s expired in %s", silence_id, self.url)
            return
        if status == 404 or (status == 500 and _reason(text) == _NOT_FOUND_TEXT):
            raise SilenceNotFound(silence_id, self.url)
        raise self._refusal(f"expire silence {silence_id}", status, text)

    async def get_silence(self, silence_id: str) -> dict[str, Any]:
        """The silence as Alertmanager has it: id, status.state (active, pending, expired), matchers, startsAt,
        endsAt, createdBy, comment, updatedAt."""
        _check_id(silence_id)
        status, text = await self._request("GET", self._path("silence", silence_id))
        if status == 404:
            raise SilenceNotFound(silence_id, self.url)
        if status != 200:
            raise self._refusal(f"read silence {silence_id}", status, text)
        answer = self._decode(text, f"GET silence {silence_id}")
        if not isinstance(answer, dict):
            raise AlertmanagerUnavailable(f"Alertmanager at {self.url} answered a silence that is not an object")
        return answer

    def _path(self, *segments: str) -> URL:
        # Each segment quoted on its own, so that none can add a level to the path.
        encoded = [quote(segment, safe="") for segment in ("api", "v2", *segments)]
        return self._base.joinpath(*encoded, encoded=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def _request(self, method: str, url: URL, *, json_body: object = None) -> tuple[int, str]:
        try:
            async with self._client().request(method, url, json=json_body) as response:
                return response.status, await response.text(errors="replace")
        except TimeoutError as e:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.url} did not answer {method} {url.path} within {self._timeout.total:g}s"
            ) from e
        except aiohttp.ClientError as e:
            # str(e) of a connection error names host and port only, never the credentials.
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.url} is unreachable ({method} {url.path}): {e}"
            ) from e

    def _refusal(self, action: str, status: int, text: str) -> AlertmanagerError:
        # A proxy in front may answer a whole HTML page: keep the start of it.
        reason = _reason(text)[:500] or f"HTTP {status}"
        if 400 <= status < 500:
            return SilenceRefused(
                f"Alertmanager at {self.url} refused to {action} ({status}): {reason}", reason=reason, status=status
            )
        return AlertmanagerUnavailable(f"Alertmanager at {self.url} failed to {action} ({status}): {reason}")

    def _decode(self, text: str, what: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as e:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {self.url} answered {what} with no JSON: {text[:200]!r}"
            ) from e
