"""The `kubecamp` command: run the bot, check the catalogue, rehearse a class from the shell.

Exit codes (also in the README):
  0  success; for `challenge verify`, every scenario passes; for `preflight`, every scenario behaved;
     for `repo check`, every path of the layout is there; for `evidence check`, the condition is met
  1  `challenge verify` ran and some scenario fails or could not be checked; `preflight` ran and some
     scenario did not break, did not heal, could not run, or a scratch namespace could not be deleted;
     `repo check` found paths missing; `evidence check` found the condition unmet
  2  bad input: unknown team, challenge or scenario, invalid scenario files, a bad setting, a repository URL
     the bot does not fetch, an invalid layout or evidence condition
  3  the run is not in a state for this (a second start, no active run)
  4  the cluster: unreachable, forbidden, a manifest rejected, a CRD missing, an unmanaged namespace
  5  the store: the database cannot be opened or written
  6  `repo check`: the repository could not be read (unreachable, private, too big, not git, the time limit)
  143  `preflight` was stopped by SIGTERM (its scratch namespaces deleted on the way out)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import io
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from bot import cli_checks, cli_preview, logs
from bot.awards import AwardService
from bot.challenges.catalog import Catalog, load_catalog
from bot.challenges.cluster_fit import ChallengeUnavailable
from bot.challenges.preflight import PreflightService
from bot.challenges.runs import RunService, utcnow
from bot.cli_output import Output
from bot.cli_parser import parser
from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.config import Settings, load_settings
from bot.errors import (
    ClusterError,
    ConfigInvalid,
    KubecampError,
    MessageError,
    NoActiveRun,
    RunConflict,
    StoreUnavailable,
)
from bot.i18n import Lang, render, t
from bot.repository_check import RepositoryCheckFailed, RepositoryRefused
from bot.store import Store, StoreConflict, Team, upgrade
from bot.submissions import SubmissionService
from bot.team_access import AccessSetup, TeamAccess
from bot.team_clusters import TeamClusters
from bot.teams import TeamService

EXIT_OK, EXIT_FAILING, EXIT_INPUT, EXIT_STATE, EXIT_CLUSTER, EXIT_STORE, EXIT_REPOSITORY = 0, 1, 2, 3, 4, 5, 6
EXIT_TERMINATED = 128 + signal.SIGTERM

#: The exit code of an error by its type; any other of the project's errors is bad input (EXIT_INPUT).
_EXIT_FOR: tuple[tuple[type[KubecampError], int], ...] = (
    (StoreConflict, EXIT_STATE),
    (RunConflict, EXIT_STATE),
    (NoActiveRun, EXIT_STATE),
    (ChallengeUnavailable, EXIT_CLUSTER),
    (ClusterError, EXIT_CLUSTER),
    (StoreUnavailable, EXIT_STORE),
    (RepositoryRefused, EXIT_INPUT),
    (RepositoryCheckFailed, EXIT_REPOSITORY),
)


def main(argv: Sequence[str] | None = None) -> int:
    # What is loaded by now, the modules, lives as long as the process: kept out of the cycle collector's sight,
    # a full collection scans only what the command makes (`scenarios list`: 117 ms of CPU before, 43 ms after).
    gc.freeze()
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigInvalid as exc:
        print(f"kubecamp: {exc}", file=sys.stderr)
        return EXIT_INPUT
    logs.configure(level=settings.log.level, fmt=settings.log.format, secrets=settings.secrets())
    lang: Lang = settings.catalog.language
    out = Output(json_mode=getattr(args, "json", False), lang=lang, stream=sys.stdout)
    try:
        return asyncio.run(_dispatch(args, settings, out))
    except KubecampError as exc:
        print(f"kubecamp: {_explain(exc, lang)}", file=sys.stderr)
        return next((code for cls, code in _EXIT_FOR if isinstance(exc, cls)), EXIT_INPUT)
    except KeyboardInterrupt:
        return 130


def _explain(exc: KubecampError, lang: Lang) -> str:
    """The operator reads the error's English text, which names the file, the field or the server's answer;
    an error that is nothing but its message has only that to say."""
    return render(exc.message, lang) if isinstance(exc, MessageError) else str(exc)


async def _dispatch(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    if args.command in cli_checks.COMMANDS:
        met = await cli_checks.run(args, settings, json_mode=out.json_mode, lang=out.lang, stream=out.stream)
        return EXIT_OK if met else EXIT_FAILING
    if args.command == "scenarios":
        return _scenarios(args, settings, out)
    if args.command == "db":
        await upgrade(settings.store.url)
        out.line("database is at the newest revision", {"upgraded": True})
        return EXIT_OK
    if args.command == "run":
        return await _run(settings)
    if args.command == "preflight":
        return await _preflight(args, settings, out)
    async with AsyncExitStack() as stack:
        await upgrade(settings.store.url)
        store = await Store.open(settings.store.url)
        stack.push_async_callback(store.close)
        if args.command == "team" and args.action == "cluster":
            cluster = await _connect(settings)
            stack.push_async_callback(cluster.close)
            return await _team_cluster(
                args,
                TeamClusters(
                    store=store,
                    shared=cluster,
                    namespace=settings.kube.bot_namespace,
                    setup=settings.kube.namespace_setup,
                ),
                out,
            )
        if args.command == "team":
            return await _team(args, settings, store, out)
        catalog = load_catalog(settings.catalog.scenarios_dir)
        if args.command == "submissions":
            return await _export_submissions(args, settings, store, catalog, out)
        if args.command == "grade":
            return await _grade(args, AwardService(store=store, catalog=catalog), out)
        cluster = await _connect(settings)
        stack.push_async_callback(cluster.close)
        clusters = ClusterRegistry(
            shared=cluster,
            namespace=settings.kube.bot_namespace,
            request_timeout=settings.kube.timeout_seconds,
            setup=settings.kube.namespace_setup,
        )
        stack.push_async_callback(clusters.close)
        service = RunService(catalog=catalog, store=store, cluster=cluster, clusters=clusters)
        return await _challenge(args, service, catalog, out)
    raise AssertionError(args.command)  # pragma: no cover - argparse allows only the commands above


async def _grade(args: argparse.Namespace, awards: AwardService, out: Output) -> int:
    by = f"cli:{cli_checks.operator()}"
    if args.action == "list":
        rows = await awards.awards(args.team, args.challenge)
        out.rows(
            [
                f"#{a.id}  {a.challenge_id}/{a.item}  {a.points}  {a.awarded_at.isoformat()}  {a.awarded_by}  "
                f"{a.reason}" + (f"  (undone {a.undone_at.isoformat()} by {a.undone_by})" if a.undone_at else "")
                for a in rows
            ],
            [a.model_dump(mode="json") for a in rows],
        )
        return EXIT_OK
    if args.action == "add":
        graded = await awards.grade(args.team, args.item, args.points, args.reason, by=by)
    else:
        graded = await awards.undo(args.team, item=args.item, award_id=args.award_id, by=by)
    award = graded.award
    verb = "undone" if award.undone_at else "awarded"
    out.line(
        f"award #{award.id} {verb}: team {graded.team.name}, {graded.challenge.id}/{award.item} {award.points} points; "
        f"the item now stands at {graded.total}",
        {"award": award.model_dump(mode="json"), "total": graded.total},
    )
    return EXIT_OK


async def _connect(settings: Settings) -> Cluster:
    return await Cluster.connect(
        kubeconfig=settings.kube.config,
        context=settings.kube.context,
        request_timeout=settings.kube.timeout_seconds,
        setup=settings.kube.namespace_setup,
    )


async def _preflight(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    """No store: the preflight touches only the cluster, in scratch namespaces it deletes again."""
    catalog = load_catalog(settings.catalog.scenarios_dir, solutions=not args.broken_only)
    cluster = await _connect(settings)
    service = PreflightService(
        catalog=catalog,
        cluster=cluster,
        namespace_prefix=settings.kube.namespace_prefix,
        timeout=args.timeout,
        settle=args.settle,
        broken_only=args.broken_only,
    )
    # `helm test` and `kubectl delete pod` stop the process with SIGTERM: cancel, so the scratch namespace
    # of the scenario under way is deleted on the way out (Ctrl-C does the same through asyncio.run).
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    if main_task is None:  # asyncio.run runs this coroutine as a task
        raise RuntimeError("the preflight runs outside a task")
    terminated: list[signal.Signals] = []

    def terminate() -> None:
        terminated.append(signal.SIGTERM)
        main_task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        report = await service.run(args.challenge, args.scenario)
    except asyncio.CancelledError:
        if not terminated:
            raise
        print(f"kubecamp: {t('preflight.interrupted', out.lang)}", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await cluster.close()
    out.preflight(report)
    return EXIT_OK if report.all_behaved else EXIT_FAILING


async def _run(settings: Settings) -> int:
    from bot import app  # the Discord side is imported only by the command that runs it

    await app.run(settings)
    return EXIT_OK


def _scenarios(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    root: Path = args.dir or settings.catalog.scenarios_dir
    if args.action == "show":
        team = Team(name=args.team, namespace=f"{settings.kube.namespace_prefix}{args.team}")
        cli_preview.show(
            load_catalog(root).get(args.challenge),
            cli_preview.LANGUAGES if args.lang == "both" else (args.lang or out.lang,),
            team=team,
            started_at=utcnow(),
            own_cluster=args.own_cluster,
            json_mode=out.json_mode,
            stream=out.stream,
        )
        return EXIT_OK
    # Validation from a checkout proves the solutions too; the bot and `list` never read them.
    checks_solutions = args.action == "validate" and not args.without_solutions
    catalog = load_catalog(root, solutions=checks_solutions)
    if args.action == "validate":
        count = sum(len(c.scenarios) for c in catalog)
        out.line(
            f"{root}: {len(catalog.challenges)} challenges, {count} scenarios, all valid",
            {"valid": True, "challenges": len(catalog.challenges), "scenarios": count},
        )
        return EXIT_OK
    out.catalog(catalog)
    return EXIT_OK


async def _team(args: argparse.Namespace, settings: Settings, store: Store, out: Output) -> int:
    if args.action == "list":
        listed = await TeamService(store=store, namespace_prefix=settings.kube.namespace_prefix).all()
        rows = [{"team": t.name, "namespace": t.namespace} for t in listed]
        out.rows([f"{t.name}\t{t.namespace}" for t in listed], rows)
        return EXIT_OK
    cluster = await _connect(settings)
    clusters = ClusterRegistry(
        shared=cluster,
        namespace=settings.kube.bot_namespace,
        request_timeout=settings.kube.timeout_seconds,
        setup=settings.kube.namespace_setup,
    )
    try:
        access = TeamAccess(
            cluster=cluster, setup=AccessSetup.of(settings.kube), namespaces=settings.kube.namespace_setup
        )
        teams = TeamService(
            store=store, namespace_prefix=settings.kube.namespace_prefix, access=access, clusters=clusters
        )
        if args.action == "add":
            team = await teams.create(args.name, namespace=args.namespace, adopt=args.adopt)
            out.line(f"team {team.name}: namespace {team.namespace}", {"team": team.name, "namespace": team.namespace})
            return EXIT_OK
        return await _team_kubeconfig(args, teams, out)
    finally:
        await clusters.close()
        await cluster.close()


async def _team_kubeconfig(args: argparse.Namespace, teams: TeamService, out: Output) -> int:
    """The file goes to --out (mode 0600, made so before the token is written) or to stdout; the report of it
    to stderr then, so that `kubecamp team kubeconfig --team blue > blue.kubeconfig` holds the file alone."""
    kubeconfig = await teams.kubeconfig(await teams.get(args.team), rotate=args.rotate)
    report = {"team": kubeconfig.team, "namespace": kubeconfig.namespace, "expires_at": kubeconfig.expires_at}
    human = (
        f"kubeconfig of team {kubeconfig.team} (namespace {kubeconfig.namespace}), valid until {kubeconfig.expires_at}"
    )
    if args.rotate:
        human += "; earlier kubeconfigs of the team no longer work"
    if args.out is None:
        out.stream.write(kubeconfig.text)
        print(json.dumps(report) if out.json_mode else human, file=sys.stderr)
        return EXIT_OK
    _write_private(args.out, kubeconfig.text)
    out.line(f"{human}: {args.out}", {**report, "file": str(args.out)})
    return EXIT_OK


async def _team_cluster(args: argparse.Namespace, clusters: TeamClusters, out: Output) -> int:
    if args.cluster_action == "unset":
        deleted = await clusters.unset(args.team)
        gone = ", ".join(deleted) or "no Secret was there"
        out.line(f"team {args.team}: back on the shared cluster ({gone})", {"team": args.team, "deleted": deleted})
        return EXIT_OK
    registered = await clusters.set(args.team, args.kubeconfig, context=args.context)
    answer = (
        "it answers"
        if registered.unreachable is None
        else f"it does not answer now: {render(registered.unreachable, out.lang)}"
    )
    if registered.unreachable is None:
        answer += (
            f"; namespace {registered.namespace} is there"
            if registered.namespace_problem is None
            else f"; namespace {registered.namespace} not made: {render(registered.namespace_problem, out.lang)}"
        )
    out.line(
        f"team {registered.team}: own cluster {registered.server}, kept in Secret {registered.secret}; {answer}",
        {
            "team": registered.team,
            "server": registered.server,
            "secret": registered.secret,
            "reachable": registered.unreachable is None,
            "namespace": registered.namespace,
            "namespace_ready": registered.unreachable is None and registered.namespace_problem is None,
        },
    )
    return EXIT_OK


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, whatever the umask: created 0600, or narrowed before it is rewritten."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


async def _export_submissions(
    args: argparse.Namespace, settings: Settings, store: Store, catalog: Catalog, out: Output
) -> int:
    service = SubmissionService(store=store, catalog=catalog, clock=utcnow, timezone=settings.catalog.timezone)
    data = await service.csv(args.challenge)
    if args.output is None:
        text = data.decode("utf-8-sig")
        if out.json_mode:
            out.line("", list(csv.DictReader(io.StringIO(text))))
        else:
            out.stream.write(text)
        return EXIT_OK
    args.output.write_bytes(data)
    count = await store.submissions.count(args.challenge)
    out.line(f"{count} submissions written to {args.output}", {"submissions": count, "file": str(args.output)})
    return EXIT_OK


async def _challenge(args: argparse.Namespace, service: RunService, catalog: Catalog, out: Output) -> int:
    actions: dict[str, Callable[[], Awaitable[int]]] = {
        "start": lambda: _start(service, args.team, args.challenge, out),
        "verify": lambda: _verify(service, catalog, args.team, args.challenge, args.scenario, out),
        "status": lambda: _status(service, args.team, args.challenge, out),
        "stop": lambda: _stop(service, args.team, args.challenge, out),
    }
    return await actions[args.action]()


async def _start(service: RunService, team: str, challenge: int, out: Output) -> int:
    out.start(await service.start(team, challenge))
    return EXIT_OK


async def _verify(
    service: RunService, catalog: Catalog, team: str, challenge: int | None, scenario: str | None, out: Output
) -> int:
    report = await service.verify(team, challenge, scenario_id=scenario)
    out.verify(report, catalog.get(report.run.challenge_id))
    return EXIT_OK if report.all_passed else EXIT_FAILING


async def _status(service: RunService, team: str, challenge: int | None, out: Output) -> int:
    out.status(await service.status(team, challenge))
    return EXIT_OK


async def _stop(service: RunService, team: str, challenge: int | None, out: Output) -> int:
    stopped = await service.stop(team, challenge)
    run = stopped.run
    done = (
        f"namespace {stopped.namespace} was already deleted, nothing to delete"
        if stopped.namespace_gone
        else f"{stopped.deleted} objects deleted"
    )
    out.line(
        f"run {run.id} stopped; {done}",
        {"run": run.id, "status": run.status, "deleted": stopped.deleted, "namespace_gone": stopped.namespace_gone},
    )
    return EXIT_OK


__all__ = ["main"]
