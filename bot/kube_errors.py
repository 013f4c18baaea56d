"""What the Kubernetes API server's error answers mean to the bot: each status as one of the project's errors.

A 404 and a 409 AlreadyExists are errors only where the caller says so (`NotFound`, `AlreadyExists`); the rest
carry the request and, for a rejected write, the API server's own words, as kubectl would print them.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.aio.client.exceptions import ApiException

from bot.errors import ApplyFailed, ClusterError, ClusterForbidden, ClusterUnavailable
from bot.i18n import Message


class NotFound(ClusterError):
    pass


class AlreadyExists(ApplyFailed):
    """A create found the object there (409 AlreadyExists)."""


def _status(exc: ApiException) -> dict[str, Any]:
    """The Kubernetes Status the API server answered with ({} when the body is not one)."""
    try:
        status = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def translate(exc: ApiException, method: str, path: str) -> ClusterError:
    status = _status(exc)
    message = str(status.get("message") or exc.reason or "")
    detail = f"{method} {path}: {exc.status} {message}"
    request = {"request": f"{method} {path}", "status": exc.status}
    if exc.status in (401, 403):
        return ClusterForbidden(detail, reason=Message("cluster.denied", request))
    if exc.status == 404:
        return NotFound(detail, reason=Message("cluster.server_error", request))
    if exc.status in (400, 409, 415, 422):
        # The API server's own words, as kubectl would print them: they name the field that is wrong.
        answer = message.replace("`", "'")
        rejected = AlreadyExists if status.get("reason") == "AlreadyExists" else ApplyFailed
        return rejected(detail, reason=Message("cluster.rejected", {**request, "answer": answer}))
    return ClusterUnavailable(detail, reason=Message("cluster.server_error", request))


#: The `reason` label of the kube_errors metric by the error's type; any other is a server error.
ERROR_REASONS: dict[type[ClusterError], str] = {
    ClusterForbidden: "forbidden",
    ApplyFailed: "invalid",
}
