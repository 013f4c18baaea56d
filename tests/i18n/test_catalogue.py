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
