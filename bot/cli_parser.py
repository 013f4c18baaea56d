"""What the `kubecamp` command accepts: its command groups, their arguments and the checks of their values."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot import cli_checks, cli_preview
from bot.values import dns1123_label


def parser() -> argparse.ArgumentParser:
    # --json is accepted before or after the command (`kubecamp --json challenge verify` or
    # `kubecamp challenge verify --json`); SUPPRESS keeps a subcommand from resetting the top-level one.
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    command = argparse.ArgumentParser(
        prog="kubecamp", description="Kubernetes bootcamp challenges and incidents", parents=[json_flag]
    )
    commands = command.add_subparsers(dest="command", required=True)

    def add(group: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, parents=[json_flag], **kwargs)
        return sub

    add(commands, "run", help="run the bot: store, scheduler, web hook and Discord")

    scenarios = add(commands, "scenarios", help="the scenario catalogue").add_subparsers(dest="action", required=True)
    for action in ("list", "validate"):
        sub = add(scenarios, action, help=f"{action} the catalogue")
        sub.add_argument("dir", nargs="?", type=Path, help="catalogue folder (default KUBECAMP_SCENARIOS_DIR)")
        if action == "validate":
            sub.add_argument(
                "--without-solutions",
                action="store_true",
                help="check it as the bot loads it, without solution/ folders (a deployed catalogue has none)",
            )
    cli_preview.add_command(scenarios, add)

    team = add(commands, "team", help="teams").add_subparsers(dest="action", required=True)
    team_add = add(team, "add", help="add a team")
    team_add.add_argument("name")
    team_add.add_argument("--namespace", type=_namespace, help="its namespace (default: prefix + name)")
    team_add.add_argument(
        "--adopt",
        action="store_true",
        help="make an existing namespace the team's (labels it; needs a kubeconfig that may patch namespaces)",
    )
    add(team, "list", help="list the teams")
    cluster = add(team, "cluster", help="a team's own cluster").add_subparsers(dest="cluster_action", required=True)
    cluster_set = add(cluster, "set", help="register a kubeconfig as the team's own cluster (kept as a Secret)")
    cluster_set.add_argument("--team", required=True)
    cluster_set.add_argument("--kubeconfig", type=Path, required=True, help="the kubeconfig file of the team's cluster")
    cluster_set.add_argument("--context", help="its context to use (default: its current context)")
    add(cluster, "unset", help="put the team back on the shared cluster").add_argument("--team", required=True)
    team_kubeconfig = add(team, "kubeconfig", help="a kubeconfig for a team's namespace, with a token that expires")
    team_kubeconfig.add_argument("--team", required=True)
    team_kubeconfig.add_argument(
        "--out", type=Path, help="write it to this file, readable by you only (default: stdout)"
    )
    team_kubeconfig.add_argument(
        "--rotate", action="store_true", help="first revoke every kubeconfig made for the team before"
    )

    challenge = add(commands, "challenge", help="rehearse a challenge run").add_subparsers(dest="action", required=True)
    for action, help_text in (
        ("start", "deploy the broken manifests and start the clock"),
        ("verify", "check the team's namespace now"),
        ("status", "elapsed, remaining and per-scenario state"),
        ("stop", "end the run and delete what it applied"),
    ):
        sub = add(challenge, action, help=help_text)
        sub.add_argument("--team", required=True)
        sub.add_argument("--challenge", type=int, required=action == "start")
        if action == "verify":
            sub.add_argument("--scenario", help="check only this scenario (default: all)")

    submissions = add(commands, "submissions", help="the teams' submissions").add_subparsers(
        dest="action", required=True
    )
    export = add(submissions, "export", help="the submissions as CSV, newest first")
    export.add_argument("--challenge", type=int, help="one challenge: a column per field of its form")
    export.add_argument("--output", type=Path, help="write the CSV (with a BOM for Excel) here, not to stdout")
    preflight = add(
        commands, "preflight", help="prove on this cluster that every scenario breaks and heals (scratch namespaces)"
    )
    preflight.add_argument(
        "--challenge", type=int, action="append", default=[], help="only this challenge (repeatable; default: all)"
    )
    preflight.add_argument("--scenario", help="only the scenario with this id")
    preflight.add_argument(
        "--timeout", type=_seconds, default=180.0, help="seconds each state may take to settle (default 180)"
    )
    preflight.add_argument(
        "--settle",
        type=_seconds,
        default=15.0,
        help="seconds the checks must stay unchanged before a state is judged (default 15)",
    )
    preflight.add_argument(
        "--broken-only",
        action="store_true",
        help="prove only that every scenario breaks, applying no solution (a deployed catalogue has none)",
    )

    grade = add(commands, "grade", help="an instructor's points for a build's graded items").add_subparsers(
        dest="action", required=True
    )
    grade_add = add(grade, "add", help="give a team points for an item, with the reason")
    grade_add.add_argument("team")
    grade_add.add_argument("item", help="a graded criterion's id (report), or challenge/id (4/report)")
    grade_add.add_argument("points", type=int)
    grade_add.add_argument("reason")
    grade_undo = add(grade, "undo", help="take back the team's latest award for an item, or one by its id")
    grade_undo.add_argument("team")
    which = grade_undo.add_mutually_exclusive_group(required=True)
    which.add_argument("--item")
    which.add_argument("--id", type=int, dest="award_id")
    grade_list = add(grade, "list", help="a team's awards, undone ones too")
    grade_list.add_argument("team")
    grade_list.add_argument("--challenge", type=int)

    db = add(commands, "db", help="the database").add_subparsers(dest="action", required=True)
    add(db, "upgrade", help="apply the migrations")
    cli_checks.add_commands(commands, add)
    return command


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 86400")
    return value


def _namespace(text: str) -> str:
    try:
        return dns1123_label(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}") from None
