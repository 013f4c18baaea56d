"""bot.limits: every part within every limit of Discord, and no text lost without a visible marker."""

from __future__ import annotations

import itertools
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.limits import (
    BLANK,
    CONTENT_MAX,
    ELLIPSIS,
    EMBED_DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    THREAD_NAME_MAX,
    _cut_index,
    embed_size,
    fit_embed,
    fit_lines,
    fit_message,
    fit_thread_name,
    split_chunks,
    split_content,
    text_size,
    truncate,
    within_limits,
)

MARKER = re.compile(r"\n\((\d+)/(\d+)\)\Z")

# -- examples ---------------------------------------------------------------------------------------


def test_what_fits_is_left_alone() -> None:
    payload = {"content": "x" * CONTENT_MAX, "embeds": [{"title": "t", "description": "d"}], "tts": False}
    assert fit_message(payload) == [payload]
    assert fit_message(payload) is not payload


def test_long_content_is_split_at_lines_and_marked() -> None:
    text = "\n".join(f"line {i:03} " + "x" * 90 for i in range(50))
    parts = split_content(text)
    assert len(parts) == 3
    for i, part in enumerate(parts, 1):
        assert len(part) <= CONTENT_MAX
        assert part.endswith(f"\n({i}/3)")
        body = part.rsplit("\n", 1)[0]
        assert body.startswith("line ") and body.endswith("x")  # whole lines only
    assert "\n".join(p.rsplit("\n", 1)[0] for p in parts) == text


def test_a_code_block_is_closed_and_reopened_with_its_language() -> None:
    lines = ["Apply this:", "```yaml", *(f"  key{i}: " + "v" * 60 for i in range(60)), "```", "Then verify."]
    parts = split_content("\n".join(lines))
    assert len(parts) >= 2
    for i, part in enumerate(parts):
        body = MARKER.sub("", part)
        assert body.count("```") % 2 == 0, part
        if i > 0:
            assert body.startswith("```yaml\n")
    assert parts[0].rsplit("\n", 1)[0].endswith("\n```")
    assert parts[-1].rsplit("\n", 1)[0].endswith("Then verify.")


def test_a_long_line_without_spaces_or_newlines_is_broken_anywhere() -> None:
    text = "가" * 5000
    parts = split_content(text)
    assert [MARKER.search(p).group(0) for p in parts] == ["\n(1/3)", "\n(2/3)", "\n(3/3)"]  # type: ignore[union-attr]
    assert "".join(MARKER.sub("", p) for p in parts) == text


def test_a_long_line_is_broken_at_a_space_when_there_is_one() -> None:
    text = " ".join(["word"] * 1000)
    parts = [MARKER.sub("", p) for p in split_content(text)]
    assert all(p.endswith(" ") or p.endswith("word") for p in parts)
    assert all(not p.startswith(" ") for p in parts)
    assert "".join(parts) == text


def test_emoji_count_twice_and_are_never_cut_apart() -> None:
    assert text_size("👍") == 2 and text_size("가") == 1
    text = "👍🏽" * 1000  # thumbs up with a skin tone: 4 UTF-16 units each
    parts = split_content(text)
    for part in parts:
        assert text_size(part) <= CONTENT_MAX
        assert MARKER.sub("", part).startswith("👍🏽") and MARKER.sub("", part).endswith("👍🏽")
    flags = "🇰🇷🇯🇵" * 600
    for part in split_content(flags):
        assert len(MARKER.sub("", part)) % 2 == 0  # regional indicators stay in pairs


def test_cuts_keep_graphemes_whole() -> None:
    assert _cut_index("e\u0301e\u0301", 3) == 2  # e + combining acute
    assert _cut_index("👨\u200d👩\u200d👧x", 5) < 5  # not inside the family
    assert _cut_index("x👍🏽", 4) == 1  # not between the thumb and its skin tone
    assert _cut_index("x\u1100\u1161\u11a8", 3) == 1  # conjoining jamo: one syllable
    assert _cut_index("🇰🇷🇯🇵", 6) == 2  # flags stay whole: one flag (two regional indicators)
    assert _cut_index("👍🏽", 2) == 1  # when the room is a single grapheme, it is cut anyway


def test_embed_texts_are_cut_with_a_marker() -> None:
    embed = fit_embed(
        {
            "title": "T" * 300,
            "description": "D" * 5000,
            "footer": {"text": "F" * 3000},
            "author": {"name": "A" * 300},
            "fields": [{"name": "N" * 300, "value": "V" * 2000, "inline": True}, {"name": "", "value": None}],
        }
    )
    assert embed["title"] == "T" * 255 + ELLIPSIS
    assert embed["author"]["name"] == "A" * 255 + ELLIPSIS
    assert embed["fields"][0]["name"] == "N" * 255 + ELLIPSIS
    assert embed["fields"][0]["value"] == "V" * 1023 + ELLIPSIS
    assert embed["fields"][0]["inline"] is True
    assert embed["fields"][1] == {"name": BLANK, "value": BLANK}
    assert embed_size(embed) <= EMBED_TOTAL_MAX
    assert within_limits({"embeds": [embed]}) == []


def test_more_than_25_fields_become_24_and_a_count() -> None:
    embed = fit_embed({"fields": [{"name": f"f{i}", "value": "v"} for i in range(40)]})
    assert len(embed["fields"]) == 25
    assert [f["name"] for f in embed["fields"][:24]] == [f"f{i}" for i in range(24)]
    assert embed["fields"][24]["name"] == f"{ELLIPSIS} 16 more"


def test_the_longest_texts_are_shrunk_first() -> None:
    embed = fit_embed(
        {
            "title": "short title",
            "description": "d" * EMBED_DESCRIPTION_MAX,
            "fields": [{"name": "n", "value": "v" * 1024} for _ in range(3)],
        }
    )
    assert embed["title"] == "short title"
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [("n", "v" * 1024)] * 3
    assert embed_size(embed) == EMBED_TOTAL_MAX
    assert embed["description"] == "d" * (EMBED_TOTAL_MAX - 3 * 1024 - 14 - 1) + ELLIPSIS
    two = fit_embed({"description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1024}] * 2, "title": "x" * 256})
    assert embed_size(two) == EMBED_TOTAL_MAX
    assert two["title"] == "x" * 256  # cut only the longest: the description
    many = fit_embed({"description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1024}] * 5})
    assert {len(many["description"])} | {len(f["value"]) for f in many["fields"]} == {999}  # cut to one length


def test_lines_too_long_together_lose_the_tails_of_the_longest() -> None:
    short = "❌ deployment analytics: cpu request 64 is too large (at most 500m)"
    long_ = "❌ pods app=analytics: 2 Pending — " + "0/3 nodes are available: 2 Insufficient cpu. " * 40
    assert fit_lines([short, "✅ ok"], 100) == short + "\n✅ ok"
    fitted = fit_lines([long_, short, long_, "✅ ok"], 1024)
    lines = fitted.split("\n")
    assert text_size(fitted) <= 1024
    assert lines[1:4:2] == [short, "✅ ok"]  # the short lines whole
    assert all(line.endswith(ELLIPSIS) and line.startswith("❌ pods app=analytics: 2 Pending") for line in lines[::2])


def test_embeds_are_packed_into_messages_in_order() -> None:
    small = [{"title": f"e{i}"} for i in range(12)]
    parts = fit_message({"content": "results", "embeds": small})
    assert [len(p.get("embeds", [])) for p in parts] == [10, 2]
    assert parts[0]["content"] == "results" and "content" not in parts[1]
    big = [{"title": f"b{i}", "description": "d" * 4000} for i in range(3)]
    parts = fit_message({"embeds": big})
    assert [[e["title"] for e in p["embeds"]] for p in parts] == [["b0"], ["b1"], ["b2"]]
    assert all(within_limits(p) == [] for p in parts)


def test_keys_go_with_the_right_part() -> None:
    payload = {
        "content": "z" * 4500,
        "embeds": [{"title": "last"}],
        "allowed_mentions": {"parse": []},
        "components": [{"type": 1, "components": []}],
        "message_reference": {"message_id": "1"},
        "files": [{"filename": f"{i}.txt", "text": "x"} for i in range(12)],
    }
    parts = fit_message(payload)
    assert len(parts) == 4  # three content parts (the last with the embed and ten files), two more files
    assert all(p["allowed_mentions"] == {"parse": []} for p in parts)
    assert "message_reference" in parts[0] and all("message_reference" not in p for p in parts[1:])
    assert "components" in parts[-1] and all("components" not in p for p in parts[:-1])
    assert parts[2]["embeds"] == [{"title": "last"}] and len(parts[2]["files"]) == 10
    assert [f["filename"] for f in parts[3]["files"]] == ["10.txt", "11.txt"]


def test_an_edit_is_one_message() -> None:
    [edit] = fit_message(
        {"content": "e" * 3000, "embeds": [{"title": f"t{i}", "description": "d" * 1000} for i in range(14)]},
        split=False,
    )
    assert edit["content"] == "e" * (CONTENT_MAX - 1) + ELLIPSIS
    assert len(edit["embeds"]) == 10 and edit["embeds"][-1]["description"] == f"{ELLIPSIS} 5 more"
    assert within_limits(edit) == []
    assert fit_message({"content": None, "embeds": []}, split=False) == [{"content": None, "embeds": []}]


def test_thread_names() -> None:
    assert fit_thread_name("Run 7 · Blue Whales") == "Run 7 · Blue Whales"
    assert fit_thread_name("a\nb\t c") == "a b c"
    long = fit_thread_name("챌린지 " * 50)
    assert len(long) == THREAD_NAME_MAX and long.endswith(ELLIPSIS)


# -- properties -------------------------------------------------------------------------------------

#: Letters, Korean, emoji with modifiers and joiners, flags, combining marks, backticks and whitespace.
ALPHABET = st.sampled_from(
    [
        *"abc xyz",
        "가",
        "나",
        "한",
        "\u1100",
        "\u1161",
        "e\u0301",
        "👍",
        "🏽",
        "\u200d",
        "🇰",
        "🇷",
        "`",
        "```",
        "\n",
        "\t",
        "🚀",
        "ß",
    ]
)
TEXT = st.lists(ALPHABET, max_size=800).map("".join)
LONG_LINE = st.builds(lambda s, n: s * n, st.sampled_from(["가", "👍", "x", "ab "]), st.integers(0, 3000))
#: Any code point, lone surrogates included (JSON can carry them).
ANY_TEXT = st.one_of(TEXT, LONG_LINE, st.text(alphabet=st.characters(), max_size=600))
LINES = st.lists(
    st.one_of(st.sampled_from(["```", "```yaml", "```bash", ""]), st.text(alphabet="ab 가👍", max_size=120)),
    max_size=80,
).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(ANY_TEXT, LINES), limit=st.integers(60, 400))
def test_split_parts_keep_the_limit_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_content(text, limit)
    if text_size(text) <= limit:
        assert parts == [text]
        return
    chunks = split_chunks(text, limit)
    assert len(parts) == len(chunks) >= 2
    assert "".join(c.body + c.sep for c in chunks) == text
    for i, (part, chunk) in enumerate(zip(parts, chunks, strict=True), 1):
        assert text_size(part) <= limit and len(part) <= limit
        assert part == f"{chunk.text}\n({i}/{len(parts)})"
        assert chunk.sep in ("", "\n")
    for before, after in itertools.pairwise(chunks):
        assert bool(before.close) == bool(after.reopen)  # a code block closed is reopened


@settings(max_examples=200, deadline=None)
@given(text=LINES.filter(lambda t: t.count("```") % 2 == 0 and all(line.count("```") <= 1 for line in t.split("\n"))))
def test_balanced_code_blocks_stay_balanced_in_every_part(text: str) -> None:
    for part in split_content(text, 200):
        assert MARKER.sub("", part).count("```") % 2 == 0


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, limit=st.integers(1, 300))
def test_truncate_keeps_a_prefix_and_marks_the_cut(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert text_size(cut) <= limit
    if cut != text:
        assert cut.endswith(ELLIPSIS)
        assert text.startswith(cut[: -len(ELLIPSIS)])


@settings(max_examples=200, deadline=None)
@given(name=ANY_TEXT)
def test_thread_names_always_fit(name: str) -> None:
    fitted = fit_thread_name(name)
    assert text_size(fitted) <= THREAD_NAME_MAX
    assert "\n" not in fitted
    assert bool(fitted) == bool(name.split())


FIELD = st.fixed_dictionaries({"name": ANY_TEXT, "value": ANY_TEXT}, optional={"inline": st.booleans()})
EMBED = st.fixed_dictionaries(
    {},
    optional={
        "title": ANY_TEXT,
        "description": st.one_of(ANY_TEXT, st.builds(lambda n: "d" * n, st.integers(0, 6000))),
        "fields": st.lists(FIELD, max_size=30),
        "footer": st.fixed_dictionaries({"text": ANY_TEXT}),
        "author": st.fixed_dictionaries({"name": ANY_TEXT}),
        "color": st.integers(0, 0xFFFFFF),
    },
)


def _embed_texts(embed: dict[str, Any]) -> list[str]:
    texts = [embed.get("title"), embed.get("description")]
    texts += [(embed.get("footer") or {}).get("text"), (embed.get("author") or {}).get("name")]
    return [t for t in texts if isinstance(t, str)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=st.one_of(st.none(), ANY_TEXT), embeds=st.lists(EMBED, max_size=14), split=st.booleans())
def test_every_part_of_any_message_keeps_every_limit(
    content: str | None, embeds: list[dict[str, Any]], split: bool
) -> None:
    payload: dict[str, Any] = {"embeds": embeds, "allowed_mentions": {"parse": []}}
    if content is not None:
        payload["content"] = content
    parts = fit_message(payload, split=split)
    assert len(parts) >= 1
    if not split:
        assert len(parts) == 1
    for part in parts:
        assert within_limits(part) == [], part
        assert part["allowed_mentions"] == {"parse": []}
    out_embeds = [e for p in parts for e in p.get("embeds", [])]
    if split:
        # Nothing is dropped: every embed is there, in order; every text whole or cut with a marker.
        assert len(out_embeds) == len(embeds)
        for original, fitted in zip(embeds, out_embeds, strict=True):
            assert fitted.get("color") == original.get("color")
            for before, after in zip(_embed_texts(original), _embed_texts(fitted), strict=True):
                assert after == before or (after.endswith(ELLIPSIS) and before.startswith(after[: -len(ELLIPSIS)]))
            fields = original.get("fields", [])
            kept = fitted.get("fields", [])
            assert len(kept) == min(len(fields), 25)
            if len(fields) > 25:
                assert kept[-1]["name"] == f"{ELLIPSIS} {len(fields) - 24} more"
        if content:
            texts = [p["content"] for p in parts if "content" in p]
            if len(texts) == 1:
                assert texts == [content]
            else:
                chunks = split_chunks(content)
                assert [MARKER.sub("", t) for t in texts] == [c.text for c in chunks]
    else:
        assert len(out_embeds) == min(len(embeds), 10)
