"""The project's own error types.

Every error a user can cause or meet has a type here, chaining the library error that caused it. Each one
carries its `message`: what a user reads, in the catalogue's words, built from the error's own parameters.
The exception's text stays English, with the details (file, field, the server's answer) for the log and
for the operator at the CLI. The Discord error handler answers any of them with its message; the other
modules' errors (bot.store, bot.challenges, bot.incidents, …) derive from `KubecampError` likewise.
"""

from __future__ import annotations

from bot.i18n import Message


class KubecampError(Exception):
    """Base of every error this project raises on purpose. Every subclass sets `message`."""

    message: Message


class MessageError(KubecampError):
    """An error that is nothing but its message: the service already said why in the catalogue's words.
    Its text is the message's key."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.key)
        self.message = message


class ConfigInvalid(KubecampError):
    """A setting is missing or malformed; the text names it."""

    message = Message("err.config")


class ScenarioInvalid(KubecampError):
    """A scenario catalogue file is wrong; the message names the file and the field."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")
        self.message = Message("err.scenario_invalid", {"where": where})


class UnknownChallenge(KubecampError):
    def __init__(self, challenge_id: object, known: list[int]) -> None:
        self.challenge_id = challenge_id
        self.known = known
        super().__init__(f"no challenge {challenge_id!r}; the catalogue has {', '.join(map(str, known)) or 'none'}")
        self.message = Message(
            "err.unknown_challenge", {"challenge": challenge_id, "known": ", ".join(map(str, known))}
        )


class UnknownScenario(KubecampError):
    """No scenario by that id where it was looked for; `where` names that place and what it has."""

    def __init__(self, scenario_id: str, known: list[str], *, where: str = "the challenges chosen have") -> None:
        self.scenario_id = scenario_id
        self.known = known
        super().__init__(f"no scenario {scenario_id!r}; {where} {', '.join(known) or 'none'}")
        self.message = Message("err.unknown_scenario", {"scenario": scenario_id})


class UnknownTeam(KubecampError):
    def __init__(self, team: str) -> None:
        self.team = team
        super().__init__(f"no team named {team!r}")
        self.message = Message("err.unknown_team", {"team": team})


class RunConflict(KubecampError):
    """The run is not in a state that allows the action (second start, verify after the end, …).
    `reason` says which, for the user; the text is for the log."""

    def __init__(self, detail: str, *, reason: Message) -> None:
        super().__init__(detail)
        self.reason = reason
        self.message = Message("err.conflict", {"detail": reason.to_json()})


class NoActiveRun(KubecampError):
    def __init__(self, team: str, challenge_id: int | None = None) -> None:
        self.team = team
        self.challenge_id = challenge_id
        which = f" of challenge {challenge_id}" if challenge_id is not None else ""
        super().__init__(f"team {team!r} has no active run{which}")
        self.message = Message("err.no_active_run", {"team": team})


class ClusterError(KubecampError):
    """Base of errors talking to the Kubernetes API. `reason` says what went wrong in the catalogue's words
    (a user never reads the client library's text); the exception's text keeps the request and the
    server's answer for the log."""

    def __init__(self, detail: str, *, reason: Message | None = None) -> None:
        super().__init__(detail)
        self.reason = reason or Message("cluster.unavailable")
        self.message = Message("err.cluster", {"detail": self.reason.to_json()})


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
        self.message = self.reason  # said as it is, not as a problem of the cluster


class NamespaceMissing(NamespaceNotManaged):
    """The namespace does not exist (any more): nothing in it can be touched, and nothing is left to clean."""

    def __init__(self, namespace: str) -> None:
        # Its own text and reason: "not managed" would send the reader looking for a missing label.
        ClusterError.__init__(
            self,
            f"namespace {namespace!r} does not exist",
            reason=Message("err.namespace_missing", {"namespace": namespace}),
        )
        self.namespace = namespace
        self.message = self.reason


class ApplyFailed(ClusterError):
    """The API server rejected a manifest (422 invalid, 409 conflict, …)."""


class StoreUnavailable(KubecampError):
    """The database could not be reached or the write failed."""

    message = Message("err.store")
