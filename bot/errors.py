"""The project's own error types.

Every error a user can cause or meet has a type here, chaining the library error that caused it,
so that the CLI, the web hook and the Discord error handler can each map it to a clear answer.
"""

from __future__ import annotations

from bot.i18n import Message


class KubecampError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigInvalid(KubecampError):
    """A setting is missing or malformed."""


class ScenarioInvalid(KubecampError):
    """A scenario catalogue file is wrong; the message names the file and the field."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")


class UnknownChallenge(KubecampError):
    def __init__(self, challenge_id: object, known: list[int]) -> None:
        self.challenge_id = challenge_id
        self.known = known
        super().__init__(f"no challenge {challenge_id!r}; the catalogue has {', '.join(map(str, known)) or 'none'}")


class UnknownScenario(KubecampError):
    """No scenario by that id where it was looked for; `where` names that place and what it has."""

    def __init__(self, scenario_id: str, known: list[str], *, where: str = "the challenges chosen have") -> None:
        self.scenario_id = scenario_id
        self.known = known
        super().__init__(f"no scenario {scenario_id!r}; {where} {', '.join(known) or 'none'}")


class UnknownTeam(KubecampError):
    def __init__(self, team: str) -> None:
        self.team = team
        super().__init__(f"no team named {team!r}")


class RunConflict(KubecampError):
    """The run is not in a state that allows the action (second start, verify after the end, …).
    `reason` says which, for the user; the text is for the log."""

    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.reason = reason


class NoActiveRun(KubecampError):
    def __init__(self, team: str, challenge_id: int | None = None) -> None:
        self.team = team
        self.challenge_id = challenge_id
        which = f" of challenge {challenge_id}" if challenge_id is not None else ""
        super().__init__(f"team {team!r} has no active run{which}")


class ClusterError(KubecampError):
    """Base of errors talking to the Kubernetes API. `reason` says what went wrong in the catalogue's words
    (a user never reads the client library's text); the exception's text keeps the request and the
    server's answer for the log."""

    def __init__(self, detail: str, *, reason: Message | None = None) -> None:
        super().__init__(detail)
        self.reason = reason or Message("cluster.unavailable")


class ClusterUnavailable(ClusterError):
    """The API server could not be reached, timed out or answered 5xx."""


class ClusterForbidden(ClusterError):
    """The API server answered 401/403: the bot's RBAC does not allow the request."""


class KindNotServed(ClusterError):
    """The API server does not serve a kind: its CRD is not installed."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind
        super().__init__(
            f"{kind} ({api_version}) is not served by this cluster: CRD not installed",
            reason=Message("cluster.crd_missing", {"kind": kind, "api_version": api_version}),
        )


class NamespaceNotManaged(ClusterError):
    """The bot refuses to touch a namespace it does not manage."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        super().__init__(
            f"namespace {namespace!r} is not managed by kubecamp-bot "
            "(label app.kubernetes.io/managed-by=kubecamp-bot missing); refusing to touch it",
            reason=Message("err.namespace_not_managed", {"namespace": namespace}),
        )


class ApplyFailed(ClusterError):
    """The API server rejected a manifest (422 invalid, 409 conflict, …)."""


class StoreUnavailable(KubecampError):
    """The database could not be reached or the write failed."""
