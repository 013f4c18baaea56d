"""Kubernetes API faults during `/challenge start` and `/challenge verify`, as a team meets them in Discord.

Each kind of fault — 403, 404 on a kind (its API not served), 500, no answer (a timeout) and connection
refused — first hits a start of challenge 2 in the middle of applying its manifests, then a verification
of a namespace the team has fixed in full. The team must be told what went wrong, naming the request it can
name (the request and the HTTP status; a timeout or an unreachable server as such); a
check that cannot read its kind must say "could not check", never pass; a failed start must leave nothing
in the cluster that the store does not record; and once the API is back the team starts again and every
check passes. A cluster without the CRDs a challenge needs refuses its start before anything is applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.challenges.catalog import Scenario
from bot.challenges.checks import CheckSpec
from bot.cluster import Cluster
from bot.store import Run
from tests.discord.live import Class, answer, open_class, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.discord_emulator.state import Message
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student

pytestmark = pytest.mark.reliability

NAMESPACE = "kubecamp-blue"
CHALLENGE = CATALOG.get(2)
#: Seconds the bot waits for each API request: a request that hangs fails within the test's patience, and one
#: that a loaded machine answers slowly (a start's apply settles the whole namespace) still gets its answer.
KUBE_TIMEOUT = 1.5
#: The start fails on this manifest, the third of challenge 2's: two scenarios' objects went in before it.
FAILING_APPLY = ("Deployment", "api-server")
#: The verification cannot list this kind, which two of the four scenarios' checks read.
UNLISTABLE = "EndpointSlice"
#: The kinds of object challenge 2 applies, as the emulator names their resources.
APPLIED_RESOURCES = ("deployments", "services")

Inject = Callable[[KubeCluster, str, str, str | None], Awaitable[None]]


async def forbid(kube: KubeCluster, verb: str, kind: str, name: str | None) -> None:
    kube.fail(403, verb=verb, resource=kind, name=name)


async def unserve(kube: KubeCluster, verb: str, kind: str, name: str | None) -> None:
    # What an API server answers for anything under a resource it does not serve.
    kube.fail(404, verb=verb, resource=kind, name=name, message="the server could not find the requested resource")


async def break_down(kube: KubeCluster, verb: str, kind: str, name: str | None) -> None:
    kube.fail(500, verb=verb, resource=kind, name=name)


async def hang(kube: KubeCluster, verb: str, kind: str, name: str | None) -> None:
    kube.hang(verb=verb, resource=kind, name=name)


async def refuse(kube: KubeCluster, verb: str, kind: str, name: str | None) -> None:
    await kube.stop()  # every request, whichever it is


@dataclass(frozen=True)
class Fault:
    inject: Inject
    #: What the team is told when its start fails: the request and the API server's status, in the catalogue's
    #: words (never the client library's text).
    start_says: str
    #: Why a check could not read its kind ("could not check: …").
    verify_says: str
    #: Whether the whole API fails (else only the requests the fault names).
    whole_api: bool = False


PATCH = "`PATCH /apis/apps/v1/namespaces/kubecamp-blue/deployments/api-server`"
LIST = "`GET /apis/discovery.k8s.io/v1/namespaces/kubecamp-blue/endpointslices`"
FAULTS = {
    "403": Fault(
        forbid,
        f"the bot's RBAC does not allow this request ({PATCH}: HTTP 403)",
        "the bot's RBAC does not allow reading EndpointSlice (403)",
    ),
    "404 kind": Fault(
        unserve,
        f"the Kubernetes API server answered with an error ({PATCH}: HTTP 404)",
        f"the Kubernetes API server answered with an error ({LIST}: HTTP 404)",
    ),
    "500": Fault(
        break_down,
        f"the Kubernetes API server answered with an error ({PATCH}: HTTP 500)",
        f"the Kubernetes API server answered with an error ({LIST}: HTTP 500)",
    ),
    "timeout": Fault(
        hang,
        f"the Kubernetes API did not answer within {KUBE_TIMEOUT:g}s",
        f"the Kubernetes API did not answer within {KUBE_TIMEOUT:g}s",
    ),
    "refused": Fault(
        refuse,
        "the Kubernetes API server cannot be reached",
        "the Kubernetes API server cannot be reached",
        whole_api=True,
    ),
}


@pytest.fixture
async def live(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> AsyncIterator[Class]:
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, kube_timeout=KUBE_TIMEOUT
    ) as opened:
        yield opened


async def recover(kube: KubeCluster) -> None:
    kube.clear_faults()  # hung requests get their answer too
    await kube.start()  # after a stop: same address


async def blue_runs(live: Class) -> list[Run]:
    team = await live.app.store.teams.get("blue")
    assert team is not None
    return await live.app.store.runs.of_team(team.id)


def deployed(kube: KubeCluster) -> set[tuple[str, str]]:
    """What the challenge's manifests create, found in the team's namespace: (kind, name)."""
    return {(o["kind"], o["metadata"]["name"]) for r in APPLIED_RESOURCES for o in kube.objects(r, NAMESPACE)}


def applied_before(kind: str, name: str) -> set[tuple[str, str]]:
    """The objects of challenge 2 applied before its manifest `kind`/`name`, in the catalogue's order."""
    refs = [(m.body["kind"], m.body["metadata"]["name"]) for s in CHALLENGE.scenarios for m in s.manifests]
    return set(refs[: refs.index((kind, name))])


async def fix_everything(kube: KubeCluster) -> None:
    """The team applies every scenario's solution with kubectl."""
    student = Cluster.for_host(kube.url, token="student")
    try:
        for scenario in CHALLENGE.scenarios:
            await apply_like_a_student(student, scenario)
    finally:
        await student.close()


async def latest_results(live: Class, kind: str = "Verification") -> Message:
    """The last verification results (of `kind`: "Verification", "Automatic verification") in the run's thread."""

    def posted() -> list[Message]:
        thread = thread_of(live, "blue")
        return [m for m in live.discord.messages(thread) if m.embeds and f" {kind} (" in m.embeds[0]["title"]]

    await live.discord.wait_until(lambda: thread_of(live, "blue") and posted(), 10, "the verification results")
    return posted()[-1]


def title(scenario: Scenario) -> str:
    return scenario.spec.title.get("en")


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
async def test_a_fault_in_start_or_verify_is_explained_and_never_passes(live: Class, fault: Fault) -> None:
    kind, name = FAILING_APPLY
    await fault.inject(live.kube, "patch", kind, name)
    failed = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    said = await answer(failed)
    assert said.startswith("The cluster has a problem: ") and fault.start_says in said, said

    # Nothing of the start is left in the cluster that its run does not record; the record names exactly what
    # went in (none of it, when the namespace could not even be read).
    runs = await blue_runs(live)
    assert [r.status for r in runs] == ([] if fault.whole_api else ["stopped"])
    recorded = {(a["kind"], a["name"]) for r in runs for a in r.applied or []}
    assert recorded == (set() if fault.whole_api else applied_before(kind, name))
    assert deployed(live.kube) <= recorded
    assert thread_of(live, "blue") is None  # no briefing for a run that did not start

    await recover(live.kube)
    started = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    assert "Challenge 2 started" in await answer(started)
    await fix_everything(live.kube)

    await fault.inject(live.kube, "list", UNLISTABLE, None)
    checked = await slash(live, "blue-2", "team-blue", "challenge", "verify")
    summary = await answer(checked)
    cut_off = [s for s in CHALLENGE.scenarios if fault.whole_api or UNLISTABLE in s.kinds]
    for scenario in CHALLENGE.scenarios:
        assert f"{'⚠️' if scenario in cut_off else '✅'} {title(scenario)}" in summary, summary
    assert f"⚠️ {len(cut_off)} could not be checked: the bot could not read the cluster (" in summary, summary
    assert fault.verify_says in summary, summary

    # In the thread, each check that reads the kind could not check, each other one passes: nothing fails.
    results = (await latest_results(live)).embeds[0]["fields"]
    assert [field["name"] for field in results] == [
        f"{'⚠️' if s in cut_off else '✅'} {title(s)}" for s in CHALLENGE.scenarios
    ]
    for scenario, field in zip(CHALLENGE.scenarios, results, strict=True):
        assert_could_not_check(field["value"], scenario.checks, fault)
    (run,) = [r for r in await blue_runs(live) if r.status == "active"]
    states = {s.scenario_id: s.status for s in await live.app.store.runs.scenario_states(run.id)}
    assert states == {s.id: "pending" if s in cut_off else "solved" for s in CHALLENGE.scenarios}

    await recover(live.kube)
    live.clock.offset += timedelta(seconds=15)  # the team waits out its verification cooldown
    again = await slash(live, "blue-2", "team-blue", "challenge", "verify")
    assert "4 of 4 pass" in await answer(again)
    assert [r.status for r in await blue_runs(live) if r.id == run.id] == ["finished"]


def assert_could_not_check(value: str, checks: Sequence[CheckSpec], fault: Fault) -> None:
    """Each check that reads a kind the fault cut off could not check, each other one passes. A post names
    a reason once: the checks that could not check for the same reason share one line (a guard's keeps its
    marker), so the lines are the passes plus one per distinct unchecked line."""
    lines = value.splitlines()
    cut = [c for c in checks if fault.whole_api or UNLISTABLE in c.kinds]
    passes = [line for line in lines if line.startswith("✅ ")]
    unchecked = [line for line in lines if not line.startswith("✅ ")]
    assert len(passes) == len(checks) - len(cut), value
    assert len(unchecked) == len({c.guard for c in cut}), value
    for line in unchecked:
        assert line.startswith(("⚠️ could not check: ", "⚠️ 🛡️ could not check: ")), line
        assert fault.verify_says in line, line


async def test_the_api_going_away_mid_start_leaves_only_recorded_objects_which_a_new_run_adopts(live: Class) -> None:
    kind, name = FAILING_APPLY
    stuck = live.kube.hang(verb="patch", resource=kind, name=name)
    failed = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    await live.discord.wait_until(lambda: stuck.hits, 10, f"the apply of {kind}/{name}")
    await live.kube.stop()  # and the removal of what went in before it is refused too
    said = await answer(failed)
    assert f"`PATCH /apis/apps/v1/namespaces/kubecamp-blue/deployments/{name}`: HTTP " in said, said

    (run,) = await blue_runs(live)
    recorded = {(a["kind"], a["name"]) for a in run.applied or []}
    assert run.status == "stopped" and recorded == applied_before(kind, name)
    assert deployed(live.kube) <= recorded

    # The next start applies every manifest over what is left, records it all, and its stop removes it all.
    await recover(live.kube)
    started = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    assert "Challenge 2 started" in await answer(started)
    stopped = await slash(live, "blue-1", "team-blue", "challenge", "stop")
    assert "gave up" in await answer(stopped)
    assert deployed(live.kube) == set()


async def test_the_automatic_verification_without_the_api_could_not_check_and_still_gives_the_hints(
    live: Class,
) -> None:
    # The team started 20 minutes minus a few seconds ago: the automatic verification comes within the test.
    live.clock.offset = -timedelta(minutes=20) + timedelta(seconds=5)
    started = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    assert "Challenge 2 started" in await answer(started)
    live.clock.offset = timedelta(0)
    fault = FAULTS["refused"]
    await fault.inject(live.kube, "list", UNLISTABLE, None)  # before the mark: the whole API refuses

    results = (await latest_results(live, "Automatic verification")).embeds[0]["fields"]
    assert [field["name"] for field in results] == [f"⚠️ {title(s)}" for s in CHALLENGE.scenarios]
    for scenario, field in zip(CHALLENGE.scenarios, results, strict=True):
        assert_could_not_check(field["value"], scenario.checks, fault)

    def first_hints() -> list[dict[str, Any]]:  # posted with the results, as embeds of the mark's one post
        thread = thread_of(live, "blue")
        return [e for m in live.discord.messages(thread) for e in m.embeds if "Hint 1/" in e.get("title", "")]

    await live.discord.wait_until(lambda: len(first_hints()) == len(CHALLENGE.scenarios), 10, "a first hint each")
    (run,) = await blue_runs(live)
    assert run.status == "active"
    assert {s.status for s in await live.app.store.runs.scenario_states(run.id)} == {"pending"}


async def test_a_cluster_without_the_crds_refuses_the_start_before_applying_anything(
    discord_emulator: DiscordEmulator,
    discord_classroom: Classroom,
    kube_cluster_without_crds: KubeCluster,
    class_folder: Path,
) -> None:
    async with open_class(discord_emulator, discord_classroom, kube_cluster_without_crds, class_folder) as live:
        refused = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=5)
        said = await answer(refused)
        assert "challenge 5 needs CRDs this cluster does not have: " in said, said
        assert "Prometheus (monitoring.coreos.com/v1)" in said and "VerticalPodAutoscaler" in said, said
        assert await blue_runs(live) == []
        assert kube_cluster_without_crds.get("namespaces", None, NAMESPACE) is None
        assert [r for r in kube_cluster_without_crds.requests if r.method != "GET"] == []  # discovery only
