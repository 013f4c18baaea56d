"""The message catalogue: both languages of every message take the same parameters and render."""

from __future__ import annotations

import string

import pytest

from bot.i18n import LANGS, Message, _catalogue, render


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(_catalogue()))
def test_both_languages_take_the_same_parameters_and_render(key: str) -> None:
    texts = _catalogue()[key]
    assert set(texts) == set(LANGS)
    assert fields(texts["ko"]) == fields(texts["en"]), key
    params = {name: f"<{name}>" for name in fields(texts["en"])}
    for lang in LANGS:
        rendered = render(Message(key, params), lang)
        assert rendered.strip(), key
        assert all(f"<{name}>" in rendered for name in params), (key, lang)


def test_a_parameter_may_be_a_nested_message_or_a_text_in_both_languages() -> None:
    label = {"ko": "운영 인사이트", "en": "Operations insight"}
    message = Message(
        "err.submission_invalid", {"field": label, "problem": Message("submit.problem_required").to_json()}
    )
    assert render(message, "ko") == "제출 내용을 확인하세요 — 운영 인사이트: 비어 있으면 안 됩니다"
    assert render(message, "en") == "Please check the submission — Operations insight: must not be empty"
