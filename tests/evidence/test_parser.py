"""Every paste gets a verdict, never an exception: garbage, cut-off, oversized and hostile text; and a
checkpoint's condition is refused with the parser, the field and the problem named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.evidence import PARSERS, ConditionInvalid, evaluate, validate_condition
from bot.i18n import keys, render
from bot.limits import TEXT_INPUT_MAX
from bot.markup import message as markup
from tests.evidence.test_docker import sample, unmet_keys
from tests.evidence.test_table import layout

#: A condition for every parser, and a sample its table passes.
PASSING: dict[str, tuple[dict[str, Any], str]] = {
    "docker-node-ls": ({"ready": 3, "managers": 1, "leader": True}, "docker-node-ls.txt"),
    "docker-service-ls": ({"service": "web-service", "replicas": "3/3"}, "docker-service-ls.txt"),
    "docker-service-ps": (
        {"service": "web-service", "running": 3, "replaced_failure": True},
        "docker-service-ps-recovered.txt",
    ),
    "kubectl-get-nodes": ({"ready": 4, "control_planes": 3}, "kubectl-get-nodes.txt"),
    "kubectl-get-pods": ({"prefix": "video-api", "all_ready": True}, "kubectl-get-pods.txt"),
}


def test_every_parser_has_a_passing_sample() -> None:
    assert set(PASSING) == set(PARSERS)
    for parser, (params, file) in PASSING.items():
        assert evaluate(parser, params, sample(file)).passed, parser


@pytest.mark.parametrize("parser", sorted(PASSING))
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "evidence.no_table"),
        ("   \n\n\t  \n", "evidence.no_table"),
        ("it works on my machine", "evidence.no_table"),
        ("Error response from daemon: This node is not a swarm manager.", "evidence.no_table"),
        ("A" * TEXT_INPUT_MAX, "evidence.no_table"),
        ("A" * (TEXT_INPUT_MAX + 1), "evidence.too_long"),
        ("\x00\x01\x1b[2J\x1b]0;title\x07\u202e\ufeff", "evidence.no_table"),
    ],
)
def test_garbage_is_answered_with_what_is_wrong(parser: str, text: str, key: str) -> None:
    verdict = evaluate(parser, PASSING[parser][0], text)
    assert not verdict.passed
    assert verdict.message.key == key
    assert render(verdict.message, "ko") and render(verdict.message, "en")


def test_too_long_says_how_long_and_the_limit() -> None:
    verdict = evaluate("docker-node-ls", {"ready": 1}, "x" * 5000)
    assert render(verdict.message, "en") == "the pasted text is too long: 5000 characters (at most 4000)"


@pytest.mark.parametrize("parser", sorted(PASSING))
def test_a_header_alone_has_no_rows(parser: str) -> None:
    params, file = PASSING[parser]
    header = next(line for line in sample(file).splitlines() if not line.startswith("$"))
    verdict = evaluate(parser, params, header + "\n")
    assert (verdict.passed, verdict.message.key) == (False, "evidence.no_rows")


def test_a_table_cut_off_counts_only_the_rows_it_has() -> None:
    text = sample("docker-node-ls.txt")
    cut = text[: text.index("e216jshn25ckzbvm") + 16]  # the last node's row, cut inside its id
    assert unmet_keys("docker-node-ls", {"ready": 3}, cut) == ["evidence.at_least"]
    assert unmet_keys("docker-node-ls", {"ready": 2}, cut) == []


def test_a_header_cut_off_is_no_table() -> None:
    verdict = evaluate("docker-node-ls", {"ready": 1}, sample("docker-node-ls.txt")[:40])
    assert verdict.message.key == "evidence.no_table"


def test_another_commands_table_is_not_read_as_this_one() -> None:
    verdict = evaluate("docker-service-ps", {"service": "web-service", "running": 1}, sample("docker-service-ls.txt"))
    assert render(verdict.message, "en") == (
        "no `docker service ps` table in the pasted text: paste its output as printed, header line "
        "(CURRENT STATE, NAME) included."
    )


def test_look_alike_letters_are_not_the_words_they_imitate() -> None:
    cyrillic = sample("docker-node-ls.txt").replace("manager1   Ready", "manager1   Rеady")  # U+0435
    assert unmet_keys("docker-node-ls", {"ready": 3}, cyrillic) == ["evidence.at_least"]
    fullwidth = sample("docker-service-ls.txt").replace("3/3", "３/３")
    assert unmet_keys("docker-service-ls", {"service": "web-service", "replicas": "3/3"}, fullwidth) == [
        "evidence.replicas_differ"
    ]
    greek_header = sample("kubectl-get-pods.txt").replace("NAME", "ΝAME")  # U+039D
    assert evaluate("kubectl-get-pods", {"running": 1}, greek_header).message.key == "evidence.no_table"


def test_mentions_backticks_and_markup_from_the_paste_stay_inert_when_posted() -> None:
    text = layout(
        [
            ["ID ", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"],
            [
                "1bcef6utixb0l0ca7gxuivsj0 *",
                "@everyone`<@1234>**[x](https://evil)",
                "Ready",
                "Active",
                "Leader",
                "27.3.1",
            ],
        ]
    )
    verdict = evaluate("docker-node-ls", {"leader": True}, text)
    assert verdict.passed
    posted = markup(verdict.message, "en")
    assert posted.endswith("Leader: @\u200beveryone\\`\\<@1234\\>\\*\\*\\[x\\](https\\://evil)")


def test_a_long_name_from_the_paste_is_cut_when_repeated() -> None:
    text = layout([["ID", "NAME", "MODE", "REPLICAS"], ["9mnpnzenvg8p", "s" * 200, "replicated", "1/3"]])
    verdict = evaluate("docker-service-ls", {"service": "web-service", "replicas": "3/3"}, text)
    listed = verdict.unmet[0].params["listed"]
    assert len(listed) == 60 and listed.endswith("…")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=TEXT_INPUT_MAX + 50), parser=st.sampled_from(sorted(PASSING)))
def test_no_text_raises(text: str, parser: str) -> None:
    verdict = evaluate(parser, PASSING[parser][0], text)
    assert verdict.message.key in keys() and all(m.key in keys() for m in verdict.unmet)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), parser=st.sampled_from(sorted(PASSING)))
def test_no_mangled_sample_raises(data: st.DataObject, parser: str) -> None:
    """The real tables with characters cut out and odd ones put in, where a terminal or a person slips."""
    params, file = PASSING[parser]
    text = sample(file)
    for _ in range(data.draw(st.integers(0, 5))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 20))
        text = (
            text[:at]
            + data.draw(st.sampled_from(["", " ", "\t", "\n", "\\_ ", "*", "\x1b[31m", "\u200b", "é"]))
            + text[at + cut :]
        )
    verdict = evaluate(parser, params, text)
    assert verdict.message.key in keys() and all(m.key in keys() for m in verdict.unmet)
    assert verdict.passed == (not verdict.unmet and verdict.message.key.endswith(".found"))


@pytest.mark.parametrize(
    ("parser", "params", "problem"),
    [
        (
            "docker-swarm-ls",
            {},
            "docker-swarm-ls: no such evidence parser; there are docker-node-ls, docker-service-ls, "
            "docker-service-ps, kubectl-get-nodes, kubectl-get-pods",
        ),
        ("docker-node-ls", {}, "docker-node-ls: asks for nothing: give at least one of leader, managers, ready"),
        (
            "docker-node-ls",
            {"redy": 3},
            "docker-node-ls: redy: unknown parameter (this parser knows leader, managers, ready)",
        ),
        ("docker-node-ls", {"ready": "3"}, "docker-node-ls: ready: Input should be a valid integer"),
        ("docker-node-ls", {"ready": 0}, "docker-node-ls: ready: Input should be greater than 0"),
        ("docker-node-ls", {"leader": False}, "docker-node-ls: leader: Input should be True"),
        (
            "docker-service-ls",
            {"service": "web-service"},
            "docker-service-ls: asks for nothing: give at least one of image, published_port, replicas",
        ),
        ("docker-service-ls", {"replicas": "3/3"}, "docker-service-ls: service: Field required"),
        (
            "docker-service-ls",
            {"service": "web-service", "replicas": "3"},
            "docker-service-ls: replicas: String should match pattern '^[0-9]{1,4}/[0-9]{1,4}$'",
        ),
        (
            "docker-service-ps",
            {"service": "web service", "running": 1},
            "docker-service-ps: service: String should match pattern '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$'",
        ),
        ("kubectl-get-pods", ["running", 1], "kubectl-get-pods: must be a mapping of parameters, not list"),
    ],
)
def test_a_condition_that_does_not_fit_its_parser_is_refused(parser: str, params: Any, problem: str) -> None:
    with pytest.raises(ConditionInvalid) as refused:
        validate_condition(parser, params)
    assert str(refused.value) == problem
    assert render(refused.value.message, "ko") == f"체크포인트의 증거 조건이 올바르지 않습니다: {parser}"


def test_a_valid_condition_is_returned_typed() -> None:
    condition = validate_condition("docker-service-ps", {"service": "web-service", "replaced_failure": True})
    assert condition.model_dump(exclude_none=True) == {"service": "web-service", "replaced_failure": True}
