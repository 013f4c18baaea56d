"""Every error of the project's own carries a message a user can read, complete in both languages."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import bot
import cogs
from bot.awards import GradeRefused
from bot.challenges.board import NoBoardChannel
from bot.challenges.breaking import ClusterTooSmall
from bot.challenges.catalog import Text
from bot.challenges.cluster_fit import ChallengeUnavailable
from bot.challenges.deploy import NamespaceNotCleared
from bot.challenges.flow import CoolingDown, NoHintYet, TeamNotLinked
from bot.challenges.preflight import BuildNotPreflighted
from bot.challenges.progress import NotABuild
from bot.challenges.runs import NothingToVerify
from bot.cluster import ObjectExists, ObjectNotFound, TooManyObjects
from bot.discord.errors import NotInstructor, NotInTeam, explain
from bot.errors import (
    ApplyFailed,
    ClusterError,
    ClusterForbidden,
    ClusterUnavailable,
    ConfigInvalid,
    KindNotServed,
    KubecampError,
    MessageError,
    NamespaceMissing,
    NamespaceNotManaged,
    NoActiveRun,
    RunConflict,
    ScenarioInvalid,
    StoreUnavailable,
    UnknownChallenge,
    UnknownScenario,
    UnknownTeam,
)
from bot.evidence import ConditionInvalid
from bot.evidence_submissions import EvidenceRefused
from bot.i18n import LANGS, Message, render
from bot.incidents.payload import PayloadInvalid
from bot.incidents.service import IncidentRefused
from bot.incidents.silences import (
    AlertmanagerError,
    AlertmanagerUnavailable,
    SilenceInvalid,
    SilenceNotFound,
    SilenceRefused,
)
from bot.kinds import BY_NAME
from bot.own_kubeconfig import KubeconfigInvalid
from bot.repository_check import RepositoryCheckFailed, RepositoryRefused
from bot.scoreboard import FreezeRefused
from bot.store import StoreConflict
from bot.store.errors import InvalidValue, NotFound
from bot.submissions import NoSubmissionForm, SubmissionInvalid
from bot.team_access import NamespaceTaken, TeamAccessUnavailable
from bot.teams import AmbiguousTeam, OnOwnCluster, TeamInvalid
from bot.ticks import TickRefused
from tests.i18n import korean

# One of each, with arguments as their raise sites give them.
SAMPLES: list[KubecampError] = [
    MessageError(Message("flow.no_more_hints")),
    ConfigInvalid("KUBECAMP_DISCORD_TOKEN is not set"),
    ScenarioInvalid("challenges/02/challenge.yaml", "scenarios[0].checks", "unknown check 'pods_redy'"),
    ScenarioInvalid("challenges/02", "", "no challenge.yaml"),
    UnknownChallenge(9, [1, 2, 5]),
    UnknownChallenge(9, []),
    UnknownScenario("imagepull", ["image-pull", "unschedulable"]),
    UnknownTeam("green"),
    RunConflict(
        "team 'blue' already has an active run", reason=Message("conflict.active_run", {"team": "blue", "challenge": 2})
    ),
    NoActiveRun("blue", 2),
    ClusterError("GET /version: connection refused"),
    ClusterUnavailable("GET /version: timed out", reason=Message("cluster.timeout", {"seconds": 10})),
    ClusterForbidden("403 Forbidden", reason=Message("cluster.forbidden", {"kind": "Namespace"})),
    KindNotServed("networking.k8s.io/v1", "NetworkPolicy"),
    NamespaceNotManaged("default"),
    NamespaceMissing("kubecamp-blue"),
    NamespaceNotCleared("kubecamp-blue", ["ConfigMap/stuck", "PersistentVolumeClaim/data"]),
    ClusterTooSmall(Message("run.cluster_too_small", {"needed": 2, "found": 1})),
    TooManyObjects(BY_NAME["Pod"], "kubecamp-blue"),
    CoolingDown(Message("err.cooling_down.verify", {"seconds": 12})),
    CoolingDown(Message("err.cooling_down.hint", {"seconds": 3})),
    ApplyFailed(
        "422 Unprocessable Entity",
        reason=Message(
            "cluster.rejected",
            {"request": "PATCH deployments/web", "status": 422, "answer": "spec.replicas: Invalid value"},
        ),
    ),
    ObjectNotFound("404 Not Found"),
    ObjectExists(
        "409 Conflict",
        reason=Message(
            "cluster.rejected",
            {
                "request": "POST /api/v1/namespaces/kubecamp-blue/resourcequotas",
                "status": 409,
                "answer": 'resourcequotas "kubecamp-bot" already exists',
            },
        ),
    ),
    StoreUnavailable("database is locked"),
    StoreConflict("UNIQUE constraint failed: run.team_id"),
    StoreConflict("team exists", reason=Message("conflict.team_exists", {"team": "blue"})),
    NotFound("incident", 7),
    InvalidValue("deadline", "2026-12-04", "is before started_at"),
    ChallengeUnavailable(Message("flow.no_more_hints")),
    NoHintYet(Message("flow.no_more_hints")),
    GradeRefused(Message("grade.not_graded.checks", {"item": "service-monitor"})),
    EvidenceRefused(Message("evidence.not_evidence.graded", {"item": "report"})),
    NotABuild(Message("scoreboard.not_a_build", {"challenge": 2})),
    NoBoardChannel(Message("board.no_channel", {})),
    NothingToVerify(Message("run.nothing_to_verify", {"challenge": 3})),
    TickRefused(Message("tick.not_your_team", {"team": "blue"})),
    FreezeRefused(Message("scoreboard.freeze_bad_time", {"given": "tea time"})),
    BuildNotPreflighted(Message("preflight.build", {"challenge": 4})),
    TeamNotLinked("blue"),
    PayloadInvalid(400, "not JSON"),
    AlertmanagerError("http://alertmanager:9093 answered 500"),
    AlertmanagerUnavailable("http://alertmanager:9093 could not be reached"),
    SilenceRefused("http://alertmanager:9093 answered 400", reason="start time must be before end time", status=400),
    SilenceInvalid("silence id 'x/../y' is not a UUID"),
    SilenceNotFound("6a1b3c4d-0000-4000-8000-000000000001", "http://alertmanager:9093"),
    IncidentRefused(Message("incident.err.unknown", {"id": 7})),
    SubmissionInvalid("started_at", Text(ko="시작 시각", en="Start time"), Message("submit.problem_hhmm")),
    NoSubmissionForm(1),
    TeamInvalid("bad name", reason=Message("team.invalid_name", {"team": "Blue Team"})),
    AmbiguousTeam(["blue", "red"]),
    OnOwnCluster(Message("team.kubeconfig_own_cluster", {"team": "blue", "server": "https://blue-control-plane:6443"})),
    NamespaceTaken(
        "namespace 'kubecamp-blue' exists and kubecamp-bot did not make it; --adopt makes it the team's",
        reason=Message("team.namespace_exists", {"namespace": "kubecamp-blue", "team": "blue"}),
    ),
    NamespaceTaken(
        "namespace 'kubecamp-blue' belongs to team 'red'",
        reason=Message("team.namespace_of_other", {"namespace": "kubecamp-blue", "other": "red"}),
    ),
    NamespaceTaken(
        "ServiceAccount kubecamp/kubecamp-blue exists and is not team blue's",
        reason=Message("team.account_taken", {"account": "kubecamp/kubecamp-blue"}),
    ),
    TeamAccessUnavailable("team access is off", reason=Message("team.access_off")),
    TeamAccessUnavailable("KUBECAMP_KUBE_TEAM_SERVER is not set", reason=Message("team.access_no_server")),
    NotInstructor(),
    NotInTeam(),
    KubeconfigInvalid(
        "the kubeconfig file blue.yaml does not exist",
        message=Message("kubeconfig.missing_file", {"path": "blue.yaml"}),
    ),
    ConditionInvalid("docker-node-ls", "ready: Input should be greater than 0"),
    RepositoryCheckFailed(Message("repo.timeout", {"seconds": "30"}), "no answer within 30 s"),
    RepositoryRefused(
        Message("repo.scheme_refused", {"scheme": "ssh", "allowed": "git://, https://"}),
        "ssh://git@github.com/x/y: scheme ssh is not one of git://, https://",
    ),
]


def _own_subclasses(cls: type[KubecampError]) -> set[type[KubecampError]]:
    found: set[type[KubecampError]] = set()
    for sub in cls.__subclasses__():
        if sub.__module__.split(".")[0] in {"bot", "cogs"}:
            found |= {sub} | _own_subclasses(sub)
    return found


def test_the_samples_cover_every_error_type_of_the_project() -> None:
    for package in (bot, cogs):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module.name != "bot.store.migrations.env":  # alembic's script, run only by alembic
                importlib.import_module(module.name)
    assert _own_subclasses(KubecampError) == {type(error) for error in SAMPLES}


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_renders_its_message_in_both_languages(error: KubecampError) -> None:
    for lang in LANGS:
        text = render(error.message, lang)
        assert text and not re.search(r"\{\w*\}", text), text
        if lang == "ko":
            assert not korean.problems(text), text
    assert explain(error) == error.message


def test_an_error_the_handler_never_heard_of_is_answered_with_its_own_message() -> None:
    class Unlisted(KubecampError):
        def __init__(self, team: str) -> None:
            super().__init__(f"team {team!r} is on a break")
            self.message = Message("err.unknown_team", {"team": team})

    assert explain(Unlisted("blue")) == Message("err.unknown_team", {"team": "blue"})
    assert explain(ValueError("a bug")) is None  # answered as unexpected, with an id to quote
