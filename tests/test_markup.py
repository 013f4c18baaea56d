"""`bot.markup`'s inert text: what a member or the cluster wrote reads as written in Discord, and gets no
link, mention, heading, list, quote, emphasis, spoiler or code fence into the bot's posts.

`active` is a small model of how Discord parses a message (simple-markdown's rules, in its order: a code
block, then an escape or a code span, then the rest on what is left): it lists the markup a text has, so
a test can say that a rendered post has the same markup with any text in a field as with a plain word.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot import markup
from bot.i18n import Message

#: Characters that mean something to Discord, and the controls and separators that break lines.
MARKDOWNY = st.lists(
    st.sampled_from(
        [
            *"[]()*_~|`\\<>#@-+.:/=! \n\r\t1aZhtps가\u2028\u2029\x85\u202e\u200b\x00\x1b",
            *("https://", "@everyone", "@here", "<@123>", "<#9>", "<t:1:R>", "```", "||", "~~", "__", "-# ", "> "),
        ]
    ),
    max_size=40,
).map("".join)
#: Any text: what a member may type, what a label or an Event message may hold.
TEXT = st.one_of(MARKDOWNY, st.text(max_size=80))
INJECTIONS = [
    "[Grafana](https://evil.example)",
    "@everyone look",
    "<@123456789012345678> said so",
    "# Heading\n- list\n1. numbered\n> quote\n-# subtext",
    "||spoiler|| ~~strike~~ __underline__ *em* _em_ **strong**",
    "```\nclosed the fence```",
    "`code` and \\[escaped\\]",
    "https://evil.example/login",
    "<https://evil.example>",
]

_CODE_BLOCK = re.compile(r"```([\s\S]*?)```")
_CODE_SPAN = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_LINE_MARKUP = {
    "heading": re.compile(r"^#{1,3}\s"),
    "subtext": re.compile(r"^-#\s"),
    "quote": re.compile(r"^>"),
    "list": re.compile(r"^\s*(?:[-*+]|[0-9]+[.)])\s"),
}
_INLINE_MARKUP = {
    "masked link": re.compile(r"\[[^\[\]]*\]\([^)\s]*\)"),
    "autolink": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<]+"),
    # Mentions, channels, commands, emoji, <https://…>; not a timestamp, which shows a time and nothing else.
    "angle": re.compile(r"<(?!t:-?[0-9]+(?::[tTdDfFR])?>)[^\s<>]+>"),
    "mass mention": re.compile(r"@(?:everyone|here)"),
}


def _escapable(char: str) -> bool:
    """simple-markdown's escape: a backslash before anything but an ASCII letter, digit or space."""
    return not (char.isascii() and char.isalnum()) and not char.isspace()


def active(text: str) -> Counter[str]:
    """The markup Discord finds in `text`, counted by kind (code content and escaped characters are text)."""
    found: Counter[str] = Counter()
    rest: list[str] = []
    i = 0
    while i < len(text):
        block = _CODE_BLOCK.match(text, i)
        if block:
            found["code block"] += 1
            rest.append("\0")
            i = block.end()
        elif text[i] == "\\" and i + 1 < len(text) and _escapable(text[i + 1]):
            rest.append("\0")
            i += 2
        elif text[i] == "`" and (span := _CODE_SPAN.match(text, i)):
            found["code span"] += 1
            rest.append("\0")
            i = span.end()
        else:
            rest.append(text[i])
            i += 1
    skeleton = "".join(rest)
    for line in skeleton.split("\n"):
        found.update(kind for kind, pattern in _LINE_MARKUP.items() if pattern.match(line))
    for kind, pattern in _INLINE_MARKUP.items():
        found[kind] += len(pattern.findall(skeleton))
        if kind in ("masked link", "autolink"):  # a link's target is not Markdown
            skeleton = pattern.sub("\0", skeleton)
    # A backtick outside a code span shows as itself; these pair up with any other of their kind.
    found.update(f"marker {c}" for c in skeleton if c in "*_~|")
    return +found


def test_the_model_sees_what_discord_renders() -> None:
    assert active("[Grafana](https://evil.example) https://evil.example/*a*") == {"masked link": 1, "autolink": 1}
    assert active("# a\n- b\n> c\n-# d") == {"heading": 1, "list": 1, "quote": 1, "subtext": 1}
    assert active("@everyone <@1> ||x||") == {"mass mention": 1, "angle": 1, "marker |": 4}
    assert active("```\n[a](b)\n``` `*x*`") == {"code block": 1, "code span": 1}
    assert active("\\[a\\](https\\://x) \\*b\\*") == {}


@pytest.mark.parametrize("typed", INJECTIONS)
def test_escape_leaves_no_markup_and_reads_the_same(typed: str) -> None:
    shown = markup.escape(typed, multiline=True)
    assert active(shown) == {}
    # What Discord shows: each escaped character as itself, the mass mention with a zero-width space.
    assert re.sub(r"\\(.)", r"\1", shown).replace("\u200b", "") == typed


@given(TEXT)
@example("[Grafana](https://evil.example)")
@example("a\\")
def test_escaped_text_has_no_markup_wherever_it_is_put(text: str) -> None:
    for shown in (markup.escape(text), markup.escape(text, multiline=True)):
        assert active(shown) == {}
        for before, after in (("**", "**"), ("x ", " y"), ("", "\n- item")):
            assert active(before + shown + after) == active(before + "x" + after)
    assert "\n" not in markup.escape(text)


@given(TEXT)
def test_code_text_never_ends_its_code_span_or_block(text: str) -> None:
    assert active(f"`{markup.code(text)}` and `a`") == {"code span": 2}
    assert active(f"```\n{markup.code(text, multiline=True)}\n```") == {"code block": 1}
    assert "\n" not in markup.code(text)


@given(TEXT)
def test_plain_text_is_one_line_without_controls(text: str) -> None:
    shown = markup.plain(text)
    assert len(shown.splitlines()) <= 1
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", shown)


def test_controls_and_bidirectional_overrides_go_and_line_breaks_are_newlines() -> None:
    assert markup.plain("evil\u202etxt.exe\x00\x1b[2K") == "eviltxt.exe[2K"
    assert markup.escape("a\r\nb\u2028c", multiline=True) == "a\nb\nc"
    assert markup.escape("a\r\nb\u2028c") == "a b c"


def test_a_link_target_is_http_and_cannot_leave_its_parentheses() -> None:
    assert markup.link_target("https://runbooks.example/a b)(c") == "https://runbooks.example/a%20b%29%28c"
    assert markup.link_target("http://x/y?q=1#top") == "http://x/y?q=1#top"
    assert markup.link_target("javascript:alert(1)") is None
    assert markup.link_target("/relative") is None


def test_a_message_escapes_each_text_parameter_for_where_its_template_puts_it() -> None:
    rejected = Message(
        "cluster.rejected",
        {"request": "PATCH `x`", "status": 422, "answer": "[Grafana](https://evil.example) ``` `"},
    )
    assert markup.message(rejected, "en") == (
        "the Kubernetes API server refused the request (`PATCH ˋxˋ`: HTTP 422)"
        " — `[Grafana](https://evil.example) ˋˋˋ ˋ`"
    )
    moment = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    nested = Message("render.verify_unknown", {"count": 1, "reason": rejected.to_json()})
    assert active(markup.message(nested, "en")) == {"code span": 2}
    hint_at = Message("flow.next_hint_at", {"at": markup.stamp(moment), "relative": markup.stamp(moment, "R")})
    assert f"<t:{int(moment.timestamp())}:R>" in markup.message(hint_at, "en")  # a timestamp shows a time
    forged = Message("flow.next_hint_at", {"at": "<@1>", "relative": "@everyone"})
    assert active(markup.message(forged, "en")) == {}


def test_a_parameter_escapes_its_list_marker_only_where_a_line_can_start_with_it() -> None:
    assert markup.escape("- a\n- b") == "\\- a - b"  # on one line the second is a dash
    assert markup.escape("- a\n- b", multiline=True, line_start=False) == "- a\n\\- b"
    placeholder = Message(
        "check.deployment_available.fail", {"name": "idle", "available": 0, "wanted": 1, "problems": "-"}
    )
    assert markup.message(placeholder, "en").endswith("Pods: -")  # mid-line: "-" is a dash
    revealed = Message("render.diagnosis_revealed", {"who": "-"})
    assert markup.message(revealed, "en").startswith("\\- revealed")  # first on its line: it would be a list
