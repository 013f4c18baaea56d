"""`kubecamp repo check` and `kubecamp evidence check|submit`: a build's repository against its layout, and a
pasted command output against a checkpoint's condition, from the shell, as the bot will judge them in a class;
`evidence submit` pastes it for a team's rubric item, as `/challenge evidence` does (kept when it passes).

    kubecamp repo check https://github.com/team1/streaming-ops-platform --layout layout.yaml
    docker node ls | kubecamp evidence check docker-node-ls --params '{"ready": 3, "leader": true}'
    kubecamp evidence submit blue 9/swarm-scaled --file service-ls.txt

Each returns whether everything asked for is there; errors are the project's (`RepositoryRefused` is bad
input, the other `RepositoryCheckFailed` the repository's server; `ConditionInvalid` bad input).
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.challenges.catalog import load_catalog
from bot.config import Settings
from bot.errors import MessageError, UnknownTeam
from bot.evidence import PARSERS, Verdict, evaluate, validate_condition
from bot.evidence_submissions import EvidenceService
from bot.i18n import Lang, Message, render
from bot.repository_check import FetchLimits, HostPolicy, check_repository, load_layout
from bot.store import Store, upgrade

COMMANDS = frozenset({"repo", "evidence"})
PASSED, FAILED = "✅", "❌"

#: Adds a subcommand, with the common flags, to a group of subcommands.
AddCommand = Callable[..., argparse.ArgumentParser]


def add_commands(commands: Any, add: AddCommand) -> None:
    repo = add(commands, "repo", help="a build's repository").add_subparsers(dest="action", required=True)
    check = add(repo, "check", help="fetch a repository's tree and report which paths of a layout are missing")
    check.add_argument("url", help="the repository's https:// or git:// URL")
    check.add_argument("--layout", type=Path, required=True, help="YAML: paths: [README.md, docs/, …], root: …")
    check.add_argument(
        "--allow-private-hosts",
        action="store_true",
        help="also http:// and loopback or private addresses (an in-house git server); the bot never allows them",
    )
    evidence = add(commands, "evidence", help="a command's output as a checkpoint's evidence").add_subparsers(
        dest="action", required=True
    )
    judge = add(evidence, "check", help="judge a command's output as a checkpoint does")
    judge.add_argument("parser", choices=sorted(PARSERS), help="the command's table")
    judge.add_argument("--params", type=_json_object, required=True, help='the condition as JSON, e.g. {"ready": 3}')
    judge.add_argument(
        "--file",
        type=argparse.FileType("r", encoding="utf-8"),
        default="-",
        help="the command's output (default: standard input)",
    )
    paste = add(evidence, "submit", help="paste a command's output for a team's rubric item, as the team would")
    paste.add_argument("team")
    paste.add_argument("item", help="an evidence criterion's id (swarm-scaled), or challenge/id (9/swarm-scaled)")
    paste.add_argument(
        "--file",
        type=argparse.FileType("r", encoding="utf-8"),
        default="-",
        help="the command's output (default: standard input)",
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('the condition is a JSON object, e.g. {"ready": 3}')
    return value


async def run(args: argparse.Namespace, settings: Settings, *, json_mode: bool, lang: Lang, stream: TextIO) -> bool:
    """The command; whether everything asked for is there."""
    write = _Writer(json_mode=json_mode, lang=lang, stream=stream)
    if args.command == "repo":
        return await _repo_check(args, settings, write)
    if args.action == "submit":
        return await _evidence_submit(args, settings, write)
    return _evidence_check(args, write)


async def _repo_check(args: argparse.Namespace, settings: Settings, write: _Writer) -> bool:
    try:
        layout = load_layout(args.layout.read_text(encoding="utf-8"), source=str(args.layout))
    except OSError as exc:
        raise MessageError(Message("cli.file_unreadable", {"file": str(args.layout), "reason": exc.strerror})) from exc
    except ValueError as exc:
        raise MessageError(Message("cli.layout_invalid", {"problem": str(exc)})) from exc
    policy = (
        HostPolicy(schemes=frozenset({"https", "git", "http"}), allow_private=True)
        if args.allow_private_hosts
        else HostPolicy()
    )
    config = settings.repository
    limits = FetchLimits(
        timeout=config.timeout_seconds, max_bytes=int(config.max_mib * 1024 * 1024), max_paths=config.max_paths
    )
    report = await check_repository(args.url, layout, policy=policy, limits=limits)
    lines = [render(report.summary(), write.lang)]
    if report.base:
        lines.append(render(Message("repo.base", {"base": report.base}), write.lang))
    lines += [f"  {PASSED} {path}" for path in report.present] + [f"  {FAILED} {path}" for path in report.missing]
    write.emit(
        lines,
        {
            "url": report.url,
            "branch": report.branch,
            "commit": report.commit,
            "base": report.base,
            "present": list(report.present),
            "missing": list(report.missing),
            "complete": report.complete,
            "fetched_bytes": report.fetched_bytes,
        },
    )
    return report.complete


def _evidence_check(args: argparse.Namespace, write: _Writer) -> bool:
    validate_condition(args.parser, args.params)  # before reading a paste that could never be judged
    with args.file:
        text = args.file.read()
    verdict = evaluate(args.parser, args.params, text)
    _verdict(verdict, write, {"parser": args.parser})
    return verdict.passed


async def _evidence_submit(args: argparse.Namespace, settings: Settings, write: _Writer) -> bool:
    """An instructor's paste for a team: taken for any run of the build, kept when it passes."""
    with args.file:
        text = args.file.read()
    catalog = load_catalog(settings.catalog.scenarios_dir)
    await upgrade(settings.store.url)
    store = await Store.open(settings.store.url)
    try:
        team = await store.teams.get(args.team)
        if team is None:
            raise UnknownTeam(args.team)
        service = EvidenceService(store=store, catalog=catalog)
        pasted = await service.paste(team, args.item, text, by=f"cli:{operator()}", any_run=True)
    finally:
        await store.close()
    item = f"{pasted.item.challenge.id}/{pasted.item.criterion.id}"
    kept = pasted.evidence
    _verdict(pasted.verdict, write, {"team": team.name, "item": item, "evidence": kept.id if kept else None})
    return pasted.verdict.passed


def _verdict(verdict: Verdict, write: _Writer, data: dict[str, Any]) -> None:
    found = render(verdict.message, write.lang)
    unmet = [render(m, write.lang) for m in verdict.unmet]
    write.emit(
        [f"{PASSED if verdict.passed else FAILED} {found}", *(f"    {FAILED} {line}" for line in unmet)],
        {**data, "passed": verdict.passed, "found": found, "unmet": unmet},
    )


def operator() -> str:
    """Who runs the command, for the record of what it changes (a container may have no user name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class _Writer:
    def __init__(self, *, json_mode: bool, lang: Lang, stream: TextIO) -> None:
        self.json_mode = json_mode
        self.lang = lang
        self.stream = stream

    def emit(self, lines: list[str], data: dict[str, Any]) -> None:
        text = json.dumps(data, ensure_ascii=False) if self.json_mode else "\n".join(lines)
        self.stream.write(text + "\n")
