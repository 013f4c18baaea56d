"""The message catalogue: both languages of every message take the same parameters and render."""

from __future__ import annotations

import string

from bot.i18n import LANGS, Message, _catalogue, render


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_takes_the_same_parameters_in_both_languages_and_renders() -> None:
    """(One test for the whole catalogue, not one per message: the runner spent more on each of those 592 tests than
    the check did. A failure names every message that fails and why.)"""
    failing = {key: found for key, texts in sorted(_catalogue().items()) if (found := problems(key, texts))}
    assert not failing, failing


def problems(key: str, texts: dict[str, str]) -> list[str]:
    if set(texts) != set(LANGS):
        return [f"languages {sorted(texts)}, not {sorted(LANGS)}"]
    if fields(texts["ko"]) != fields(texts["en"]):
        return [f"parameters {sorted(fields(texts['ko']))} in ko, {sorted(fields(texts['en']))} in en"]
    params = {name: f"<{name}>" for name in fields(texts["en"])}
    found = []
    for lang in LANGS:
        rendered = render(Message(key, params), lang)
        if not rendered.strip():
            found.append(f"{lang}: renders empty")
        found += [f"{lang}: leaves out {name}" for name in params if f"<{name}>" not in rendered]
    return found


def test_a_parameter_may_be_a_nested_message_or_a_text_in_both_languages() -> None:
    label = {"ko": "운영 인사이트", "en": "Operations insight"}
    message = Message(
        "err.submission_invalid", {"field": label, "problem": Message("submit.problem_required").to_json()}
    )
    assert render(message, "ko") == "제출 내용을 확인하세요 — 운영 인사이트: 비어 있으면 안 됩니다"
    assert render(message, "en") == "Please check the submission — Operations insight: must not be empty"
