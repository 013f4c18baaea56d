"""Evidence: the output of a command a team ran where the bot cannot look (their Docker host, their own
cluster), pasted in a modal and judged by a parser of that command's table.

A checkpoint names a parser from `PARSERS` and a condition over its rows, e.g.
`docker-service-ls: {service: web-service, replicas: "3/3"}`. `validate_condition` checks the condition
when the catalogue loads; `evaluate` judges a paste and always answers with a `Verdict` whose messages
say what the table showed and what is missing. docs/scenarios.md lists the parsers and their conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.evidence.docker import DockerNodeLs, DockerServiceLs, DockerServicePs
from bot.evidence.kubectl import KubectlGetNodes, KubectlGetPods
from bot.evidence.parser import Condition, ConditionInvalid, Parser, Verdict

PARSERS: dict[str, Parser[Any, Any]] = {
    parser.name: parser
    for parser in (DockerNodeLs(), DockerServiceLs(), DockerServicePs(), KubectlGetNodes(), KubectlGetPods())
}


def parser_of(name: str) -> Parser[Any, Any]:
    try:
        return PARSERS[name]
    except KeyError:
        raise ConditionInvalid(name, f"no such evidence parser; there are {', '.join(sorted(PARSERS))}") from None


def validate_condition(parser: str, params: Mapping[str, Any]) -> Condition:
    """The checkpoint's condition for `parser`; ConditionInvalid names the parser, the field and the problem."""
    condition: Condition = parser_of(parser).condition_of(params)
    return condition


def evaluate(parser: str, params: Mapping[str, Any], text: str) -> Verdict:
    """The verdict of `parser` on a team's paste `text` under the condition `params` (validated again: a
    catalogue that loaded has valid ones, so ConditionInvalid here is a programming error)."""
    judge = parser_of(parser)
    return judge.evaluate(judge.condition_of(params), text)


__all__ = [
    "PARSERS",
    "Condition",
    "ConditionInvalid",
    "Parser",
    "Verdict",
    "evaluate",
    "parser_of",
    "validate_condition",
]
