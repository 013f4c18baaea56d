"""Every Korean message reads as a Korean instructor would write it (rules in tests/i18n/korean.py), and so do
the Korean texts of the scenario catalogue."""

from __future__ import annotations

import functools
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.i18n import Message, _catalogue, render
from tests.i18n import korean

ROOT = Path(__file__).parents[2]
#: Stands for a parameter's value in the prose checks: not ASCII, not Hangul, so it neither joins an English
#: run nor ends a word. What a value does to the particle after it is judged with korean.SAMPLES.
VALUE = "○"


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_korean_message_reads_naturally() -> None:
    """(One test for the whole catalogue, not one per message: the runner spent more on each of those 592 tests than
    the check did. A failure names every message that fails, what it rendered and why.)"""
    failing = {}
    for key, texts in sorted(_catalogue().items()):
        template = texts["ko"]
        for sample in (VALUE, *korean.SAMPLES):
            render(Message(key, {name: sample for name in fields(template)}), "ko")  # renders with any value
        rendered = render(Message(key, {name: VALUE for name in fields(template)}), "ko")
        found = korean.problems(rendered, template=template)
        if found:
            failing[key] = (rendered, found)
    assert not failing, failing


# the rules catch what they are meant to catch


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{kind} {name}이(가) 없습니다", "bracketed particle"),
        ("봇의 권한으로 {kind}을(를) 읽을 수 없습니다", "bracketed particle"),
        ("{path}(으)로 이동하세요", "bracketed particle"),
        ("Pod {selector}가 대기 중입니다", "particle after a parameter reads '주문가"),
        ("Pod {selector}이 대기 중입니다", "particle after a parameter reads 'api이"),
        ("힌트 {level}를 올렸습니다", "particle after a parameter reads '1를"),
        ("{path}으로 옮기세요", "particle after a parameter reads '서울으로"),
        ("{path}로 옮기세요", "particle after a parameter reads '주문로"),
        ("확인할 수 없음: could not reach the server", "English sentence 'could not reach the server'"),
        ("Kubernetes API 오류: GET /api/v1/pods: connection refused by host", "English sentence"),
        ("{kind} was not listed", "English sentence"),
        ("비슷한 Pod의 라벨: {near}", "term 라벨"),
        ("경보 {total}개 중 {firing}개 발생 중", "term 경보"),
        ("파드가 재시작됩니다", "term 파드"),
        ("디플로이먼트를 확인하세요", "term 디플로이먼트"),
        ("deployment {name}: 롤아웃 완료", "term deployment"),
        ("service {name}: Pod {count}개 선택", "term service"),
        ("Pod가 준비되지 않았다.", "not 합니다/하세요 '않았다'"),
        ("다시 시도해요.", "not 합니다/하세요 '시도해요'"),
    ],
)
def test_the_rules_catch_a_planted_mistake(text: str, problem: str) -> None:
    rendered = text.format(**{name: VALUE for name in fields(text)})
    found = korean.problems(rendered, template=text)
    assert any(p.startswith(problem) for p in found), found


@pytest.mark.parametrize(
    "text",
    [
        "Deployment {name}: {available}/{wanted} 사용 가능",
        "{kind} {name}: 없습니다",
        "{kind} {name} 없음",
        "Pod {selector}: 대기 중인 컨테이너 없음",
        "인시던트 #{id}의 무음을 해제했습니다.",
        "고친 뒤 /challenge verify 로 확인하세요",
        "먼저 `kubectl -n team-a describe pod web-0` 으로 이벤트를 확인하세요.",
        "Recreate 전략은 업데이트 중 모든 Pod를 내립니다",
        "GitHub Repository URL",
        "🔕 {by} 님이 {until}까지 무음 처리 (silence `{silence}`)",
        "런북: https://github.com/kubecamp/kubecamp-bot/blob/main/alert_rules/README.md#kubecamppodcrashlooping",
        "{count}개 시나리오는 확인하지 못했습니다 ({reason}). 다시 검증하세요.",
        "최근 {minutes}분 동안 다시 시작한 Pod가 없습니다",
    ],
)
def test_the_rules_let_good_korean_pass(text: str) -> None:
    rendered = text.format(**{name: VALUE for name in fields(text)})
    assert korean.problems(rendered, template=text) == []


@pytest.mark.parametrize(
    ("word", "particle", "fits"),
    [
        ("주문", "이", True),
        ("결제", "가", True),
        ("결제", "이", False),
        ("서울", "로", True),
        ("서울", "으로", False),
        ("주문", "으로", True),
        ("1", "로", True),  # 일: ㄹ takes 로
        ("1", "을", True),
        ("2", "를", True),
        ("3", "은", True),
        ("10", "이", True),  # 십
        ("pod", "가", False),  # Latin: the reading is not known, rephrase instead
    ],
)
def test_particle_fits_the_final_consonant(word: str, particle: str, fits: bool) -> None:
    assert korean.particle_fits(word, particle) is fits


# the scenario catalogue: seed texts, so only brackets and terms are judged


def _korean_texts(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ko" and isinstance(value, str):
                yield where, value
            else:
                yield from _korean_texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _korean_texts(value, f"{where}[{index}]")


@functools.cache
def scenario_texts() -> list[tuple[str, str]]:
    """Read when a test asks, not at import: parsing the catalogue took a seventh of a second of every test
    process's collection."""
    return [
        (f"{path.parent.name}{where}", text)
        for path in sorted((ROOT / "scenarios").glob("*/challenge.yaml"))
        for where, text in _korean_texts(yaml.safe_load(path.read_text(encoding="utf-8")), "")
    ]


def test_scenario_catalogue_has_korean_texts() -> None:
    assert len(scenario_texts()) > 50


def test_scenario_korean_texts_use_no_bracketed_particle_and_the_course_terms() -> None:
    wrong = [
        (where, found)
        for where, text in scenario_texts()
        for found in [
            *korean.bracketed_particles(text),
            *(t for t in korean.wrong_terms(text) if "write the kind" not in t),
        ]
    ]
    assert not wrong, wrong
