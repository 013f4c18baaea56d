"""Fault injection: make matching requests fail the way an unhealthy or locked-down API server does."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import kmock

from .resources import ResourceDef

VERBS = ("get", "list", "watch", "create", "update", "patch", "apply", "delete", "deletecollection")


@dataclass
class Fault:
    """Answer ``code`` (403/404/409/429/500/503/504...) or, with ``hang=True``, never answer.

    Matches requests by ``verb`` (``get``/``list``/``watch``/``create``/``update``/``patch``/``apply``/
    ``delete``; ``patch`` also matches ``apply``), ``resource`` (``pods``, ``deployments.apps``, a kind),
    ``namespace`` and ``name`` (``None`` = any; a request to no resource, e.g. discovery, has resource "").
    ``times`` limits how many requests it spoils (``None`` = until cleared).
    """

    code: int = 500
    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    times: int | None = None
    hang: bool = False
    message: str | None = None
    hits: int = field(default=0, init=False)

    def matches(self, verb: str, res: ResourceDef | None, namespace: str | None, name: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.verb is not None and self.verb != verb and not (self.verb == "patch" and verb == "apply"):
            return False
        if self.resource is not None:
            if res is None:
                return self.resource == ""
            aliases = {res.plural, res.kind, res.kind.lower(), res.key, res.path, *res.shortnames}
            if self.resource not in aliases:
                return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return not (self.name is not None and self.name != name)


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def fault_error(
    fault: Fault, verb: str, res: ResourceDef | None, namespace: str | None, name: str | None, user: str
) -> kmock.KubernetesError:
    reason = _REASONS.get(fault.code, "InternalError")
    details: dict[str, object] = {}
    if res is not None:
        details = {
            "kind": res.plural,
            **({"group": res.group} if res.group else {}),
            **({"name": name} if name else {}),
        }
    if fault.message is not None:
        message = fault.message
    elif fault.code == 403 and res is not None:
        subject = f'{res.key} "{name}"' if name else res.key
        verb_word = "patch" if verb == "apply" else verb
        scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        message = (
            f'{subject} is forbidden: User "{user}" cannot {verb_word} resource "{res.plural}" '
            f'in API group "{res.group}"{scope}'
        )
    elif fault.code == 403:
        message = f'forbidden: User "{user}" cannot {verb} path'
    elif fault.code == 404 and res is not None:
        message = f'{res.key} "{name}" not found' if name else "the server could not find the requested resource"
    elif fault.code == 429:
        message = "Too many requests, please try again later."
    elif fault.code == 503:
        message = "the server is currently unable to handle the request"
    elif fault.code == 504:
        message = "Timeout: request did not complete within requested timeout - context deadline exceeded"
    elif fault.code == 401:
        message = "Unauthorized"
    else:
        message = "Internal error occurred: injected fault (etcdserver: request timed out)"
    return kmock.KubernetesError(status=fault.code, reason=reason, message=message, details=details)


class Faults:
    """The active fault rules plus the event that releases hung requests (on clear/stop)."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.release = asyncio.Event()
        self.hang_seconds = 3600.0

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()
        self.release_all()

    def release_all(self) -> None:
        self.release.set()
        self.release = asyncio.Event()

    def match(self, verb: str, res: ResourceDef | None, namespace: str | None, name: str | None) -> Fault | None:
        for fault in self.rules:
            if fault.matches(verb, res, namespace, name):
                fault.hits += 1
                return fault
        return None

    async def hang(self) -> None:
        """Hold the request until released (clear/stop) or ``hang_seconds`` pass; the client times out first."""
        release = self.release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=self.hang_seconds)
