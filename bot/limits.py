"""Discord's size limits, applied to message JSON before it is sent: split or cut, never rejected.

`fit_message` takes a message payload as Discord's REST API expects it (``content``, ``embeds``,
``components``, ``allowed_mentions``, … plus the outbox's own ``files``) and returns one or more
payloads that each keep every limit:

* content over 2000 is split at line boundaries (a line longer than a whole message at the last
  space, else anywhere that does not break a character apart); a part that ends inside a ```` ``` ````
  code block closes it and the next part reopens it with the same language; every part of a split
  text ends with a line ``(i/n)``;
* each embed's texts are cut to their limits with a visible "…"; more than 25 fields become 24 and a
  last field "… N more"; an embed whose texts add up to more than 6000 has its longest texts cut
  first (every text is cut to the same length, the shorter ones are kept whole);
* embeds are packed into messages of at most 10 embeds and 6000 embed characters, the first group
  with the last part of the content, the others as further messages; with ``split=False`` (an edit,
  which is one message) the 10th embed says how many more there were and the longest texts of all
  embeds are cut to fit 6000 together; content is cut with "…".

Lengths are counted in UTF-16 code units, which is what Discord's clients count and never less than
the number of code points: an emoji outside the Basic Multilingual Plane counts twice. Korean text
(Hangul syllables) counts one per character. Cuts never fall inside a combining sequence, an emoji
joined with ZWJ or a flag.

Pure functions, no discord.py: the outbox applies them (`bot.outbox`).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

CONTENT_MAX = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
FILES_PER_MESSAGE = 10
THREAD_NAME_MAX = 100
#: The most a modal's text input takes (a paragraph answer, a pasted command output).
TEXT_INPUT_MAX = 4000

#: Marks every cut text.
ELLIPSIS = "…"
#: Discord refuses an empty field name or value; this (zero-width space) is the usual stand-in.
BLANK = "\u200b"

FENCE = "```"
_LANGUAGE = re.compile(r"[\w+#.-]{1,20}")
_ZWJ = "\u200d"

#: Keys repeated on every part of a split message; `components` and `files` go with the last part,
#: every other key (message_reference, sticker_ids, poll, …) with the first.
_EVERY_PART = ("allowed_mentions", "flags", "tts")
_LAST_PART = ("components",)
_SPLIT_KEYS = frozenset({"content", "embeds", "files", *_EVERY_PART, *_LAST_PART})


def text_size(text: str) -> int:
    """The length Discord counts: UTF-16 code units."""
    if text.isascii():
        return len(text)
    # surrogatepass: a lone surrogate (JSON can carry one) counts as the one unit it is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def truncate(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` if it fits in `limit`, else as much of it as fits with `marker` appended."""
    if text_size(text) <= limit:
        return text
    room = limit - text_size(marker)
    if room <= 0:
        return marker[: max(limit, 0)]
    return text[: _cut_index(text, room)].rstrip() + marker


def shorten(text: str, limit: int = 200) -> str:
    """A message from the cluster on one line, cut to `limit` characters with "…" (inside a longer text)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_thread_name(name: str) -> str:
    """A thread name Discord accepts: one line, at most 100 characters (cut with "…")."""
    return truncate(" ".join(name.split()), THREAD_NAME_MAX)


def fit_message(payload: Mapping[str, Any], *, split: bool = True) -> list[dict[str, Any]]:
    """The payload as one or more message payloads that each keep Discord's limits (see module doc).

    With ``split=False`` the result is always one payload (an edit replaces one message).
    The input is not modified.
    """
    if not split:
        return [_fit_single(payload)]

    content = payload.get("content")
    chunks: list[str] = []
    if isinstance(content, str) and content:
        chunks = split_content(content)
    elif content is not None and not isinstance(content, str):
        chunks = split_content(str(content))

    parts: list[dict[str, Any]] = [{"content": c} for c in chunks]
    embeds = payload.get("embeds")
    if isinstance(embeds, list):
        groups = pack_embeds([fit_embed(e) if isinstance(e, Mapping) else e for e in embeds])
        if groups and parts:
            parts[-1]["embeds"] = groups[0]
            groups = groups[1:]
        elif not groups and not parts:
            parts.append({"embeds": []})  # as asked: an explicit empty list
        parts.extend({"embeds": g} for g in groups)

    files = payload.get("files")
    if isinstance(files, list) and files:
        file_groups = [files[i : i + FILES_PER_MESSAGE] for i in range(0, len(files), FILES_PER_MESSAGE)]
        if not parts:
            parts.append({})
        parts[-1]["files"] = copy.deepcopy(file_groups[0])
        parts.extend({"files": copy.deepcopy(g)} for g in file_groups[1:])
    elif "files" in payload and parts:
        parts[-1]["files"] = copy.deepcopy(files)

    if not parts:
        parts.append({} if content is None else {"content": content})
    for key, value in payload.items():
        if key in _SPLIT_KEYS:
            continue
        parts[0][key] = copy.deepcopy(value)
    for key in _LAST_PART:
        if key in payload:
            parts[-1][key] = copy.deepcopy(payload[key])
    for key in _EVERY_PART:
        if key in payload:
            for part in parts:
                part[key] = copy.deepcopy(payload[key])
    return parts


def _fit_single(payload: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(payload))
    content = out.get("content")
    if content is not None:
        out["content"] = truncate(content if isinstance(content, str) else str(content), CONTENT_MAX)
    embeds = out.get("embeds")
    if isinstance(embeds, list):
        fitted = [fit_embed(e) if isinstance(e, Mapping) else e for e in embeds]
        if len(fitted) > EMBEDS_PER_MESSAGE:
            more = len(fitted) - (EMBEDS_PER_MESSAGE - 1)
            fitted = [*fitted[: EMBEDS_PER_MESSAGE - 1], {"description": f"{ELLIPSIS} {more} more"}]
        _shrink_texts([t for e in fitted if isinstance(e, dict) for t in _texts(e)], EMBED_TOTAL_MAX)
        out["embeds"] = fitted
    files = out.get("files")
    if isinstance(files, list) and len(files) > FILES_PER_MESSAGE:
        out["files"] = files[:FILES_PER_MESSAGE]
    return out


# -- content ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One part of a split text: ``reopen + body + close`` is what is sent (before the part marker).

    `body` is a slice of the original text and `sep` what was dropped after it (the line break the
    message boundary replaces, or nothing where a long line was broken), so that
    ``"".join(c.body + c.sep for c in chunks)`` is the original text.
    """

    reopen: str
    body: str
    close: str
    sep: str

    @property
    def text(self) -> str:
        return self.reopen + self.body + self.close


def split_content(text: str, limit: int = CONTENT_MAX) -> list[str]:
    """`text` as message contents of at most `limit`; more than one → each ends with a line ``(i/n)``."""
    if text_size(text) <= limit:
        return [text]
    chunks = split_chunks(text, limit)
    return [f"{c.text}\n{_marker(i, len(chunks))}" for i, c in enumerate(chunks, 1)]


def split_chunks(text: str, limit: int = CONTENT_MAX) -> list[Chunk]:
    """The chunks `split_content` marks: as many as the budget left by the ``(i/n)`` marker needs."""
    count = 2
    while True:
        chunks = _split(text, limit - _marker_size(count))
        if _marker_size(len(chunks)) <= _marker_size(count):
            return chunks
        count = len(chunks)


def _marker(i: int, n: int) -> str:
    return f"({i}/{n})"


def _marker_size(n: int) -> int:
    return 1 + len(_marker(n, n))  # "\n(n/n)"


def _fence_after(fence: str | None, line: str) -> str | None:
    """The code block open after `line` (its opening fence), or None."""
    if line.count(FENCE) % 2 == 0:
        return fence
    if fence is not None:
        return None
    stripped = line.lstrip()
    if stripped.startswith(FENCE):
        language = stripped[len(FENCE) :].strip()
        if _LANGUAGE.fullmatch(language):
            return FENCE + language
    return FENCE


_CLOSE = "\n" + FENCE


def _split(text: str, budget: int) -> list[Chunk]:
    if budget < 40:
        raise ValueError(f"a budget of {budget} is too small to split text into")
    chunks: list[Chunk] = []
    reopen = ""
    body = ""
    started = False
    fence: str | None = None  # the code block open at the end of `body`

    def reserve(open_fence: str | None) -> int:
        return len(_CLOSE) if open_fence is not None else 0

    def flush(sep: str) -> None:
        nonlocal reopen, body, started
        chunks.append(Chunk(reopen, body, _CLOSE if fence is not None else "", sep))
        reopen = fence + "\n" if fence is not None else ""
        body = ""
        started = False

    for line in text.split("\n"):
        after = _fence_after(fence, line)
        candidate = body + "\n" + line if started else line
        if text_size(reopen) + text_size(candidate) + reserve(after) <= budget:
            body, started, fence = candidate, True, after
            continue
        if started:
            flush("\n")
            if text_size(reopen) + text_size(line) + reserve(after) <= budget:
                body, started, fence = line, True, after
                continue
        # The line alone does not fit in a message: break it. The code block state is the one
        # before the line until its last piece.
        rest = line
        while text_size(reopen) + text_size(rest) + reserve(after) > budget:
            room = budget - text_size(reopen) - reserve(fence)
            cut = _break_index(rest, room)
            body, started = rest[:cut], True
            rest = rest[cut:]
            flush("")
        body, started, fence = rest, True, after
    chunks.append(Chunk(reopen, body, _CLOSE if fence is not None else "", ""))
    return chunks


def _break_index(text: str, room: int) -> int:
    """Where to break a line that is longer than `room`: after the last space in the second half
    of what fits, else where it fits (never inside a character sequence)."""
    cut = _cut_index(text, room)
    space = max(text.rfind(" ", 0, cut), text.rfind("\t", 0, cut))
    if space + 1 > cut // 2:
        return space + 1
    return max(cut, 1)


def _cut_index(text: str, room: int) -> int:
    """The largest i such that text[:i] fits in `room` UTF-16 units and does not end inside a
    grapheme (combining mark, ZWJ sequence, variation selector, skin tone, flag pair); when the whole
    room is one grapheme, it is cut anyway."""
    if room <= 0:
        return 0
    size = text_size(text)
    if size <= room:
        return len(text)
    if size == len(text):  # no character outside the Basic Multilingual Plane: one unit each
        cut = room
    else:
        cut = used = 0
        for char in text:
            used += 2 if ord(char) > 0xFFFF else 1
            if used > room:
                break
            cut += 1
    safe = cut
    while 0 < safe < len(text) and _joined(text, safe):
        safe -= 1
    return safe if safe > 0 else cut


def _joined(text: str, i: int) -> bool:
    """Whether text[i - 1] and text[i] belong to the same grapheme (a cut at i would break it)."""
    nxt, prev = text[i], text[i - 1]
    if nxt == _ZWJ or prev == _ZWJ or unicodedata.combining(nxt):
        return True
    code = ord(nxt)
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True  # variation selector, skin tone modifier, tag (subdivision flags)
    if 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF:
        return True  # conjoining Hangul vowel or final consonant
    if unicodedata.category(nxt) in ("Mn", "Me", "Mc"):
        return True
    if _regional(nxt) and _regional(prev):
        run = 0
        while i - 1 - run >= 0 and _regional(text[i - 1 - run]):
            run += 1
        return run % 2 == 1  # an odd number before: nxt completes a flag
    return False


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


# -- embeds ----------------------------------------------------------------------------------------


@dataclass
class _Text:
    """A text inside an embed, with a way to write it back."""

    value: str
    write: Callable[[str], None]


def embed_size(embed: Mapping[str, Any]) -> int:
    """What the embed counts towards the 6000 of a message: title, description, field names and
    values, footer text and author name."""
    return sum(text_size(t.value) for t in _texts(embed))


def _texts(embed: Mapping[str, Any]) -> Iterator[_Text]:
    # Only called on dicts this module built (deep copies); writing back is then safe.
    target: Any = embed

    def setter(obj: Any, key: str) -> Callable[[str], None]:
        def write(value: str) -> None:
            obj[key] = value

        return write

    for key in ("title", "description"):
        if isinstance(target.get(key), str):
            yield _Text(target[key], setter(target, key))
    for key in ("footer", "author"):
        sub = target.get(key)
        text_key = "text" if key == "footer" else "name"
        if isinstance(sub, dict) and isinstance(sub.get(text_key), str):
            yield _Text(sub[text_key], setter(sub, text_key))
    fields = target.get("fields")
    if isinstance(fields, list):
        for field in fields:
            if isinstance(field, dict):
                for key in ("name", "value"):
                    if isinstance(field.get(key), str):
                        yield _Text(field[key], setter(field, key))


T = TypeVar("T")


def capped_fields(items: Sequence[T], field: Callable[[T], Any]) -> list[Any]:
    """The fields of `items` an embed can hold: all of them up to 25, else the first 24 and "… N more".
    Only the fields shown are built."""
    if len(items) <= EMBED_FIELDS_MAX:
        return [field(item) for item in items]
    shown = EMBED_FIELDS_MAX - 1
    return [*map(field, items[:shown]), {"name": f"{ELLIPSIS} {len(items) - shown} more", "value": BLANK}]


def fit_embed(embed: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the embed with every text within its limit and at most 6000 in all."""
    out: dict[str, Any] = copy.deepcopy(dict(embed))
    for key, limit in (("title", EMBED_TITLE_MAX), ("description", EMBED_DESCRIPTION_MAX)):
        if isinstance(out.get(key), str):
            out[key] = truncate(out[key], limit)
    for key, text_key, limit in (("footer", "text", EMBED_FOOTER_MAX), ("author", "name", EMBED_AUTHOR_MAX)):
        sub = out.get(key)
        if isinstance(sub, dict) and isinstance(sub.get(text_key), str):
            sub[text_key] = truncate(sub[text_key], limit)
    fields = out.get("fields")
    if isinstance(fields, list):
        out["fields"] = [_fit_field(f) if isinstance(f, dict) else f for f in capped_fields(fields, lambda f: f)]
    _shrink_texts(list(_texts(out)), EMBED_TOTAL_MAX)
    return out


def _fit_field(field: dict[str, Any]) -> dict[str, Any]:
    out = dict(field)
    for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
        value = out.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            out[key] = BLANK
        elif isinstance(value, str):
            out[key] = truncate(value, limit)
        else:
            out[key] = truncate(str(value), limit)
    return out


def _shrink_texts(texts: Sequence[_Text], total: int) -> None:
    """Cut the longest texts first until they add up to at most `total`: find the largest length L
    with sum(min(size, L)) <= total and cut every text longer than L to L (with its marker)."""
    sizes = [text_size(t.value) for t in texts]
    if sum(sizes) <= total:
        return
    low = _longest_kept(sizes, total)
    for t, size in zip(texts, sizes, strict=True):
        if size > low:
            t.write(truncate(t.value, low))


def _longest_kept(sizes: Sequence[int], total: int) -> int:
    """The largest length L with sum(min(size, L)) <= total (at least 1)."""
    low, high = 1, max(sizes)  # sum(min(size, 1)) <= number of texts, far below any total used here
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(s, mid) for s in sizes) <= total:
            low = mid
        else:
            high = mid - 1
    return low


def fit_lines(lines: Sequence[str], limit: int) -> str:
    """The lines joined by newlines within `limit`: when they are too long together, the longest lines are
    cut first (each with "…"), so that every line keeps its beginning and the short ones stay whole."""
    text = "\n".join(lines)
    if text_size(text) <= limit or not lines:
        return text
    sizes = [text_size(line) for line in lines]
    longest = _longest_kept(sizes, limit - (len(lines) - 1))
    cut = (truncate(line, longest) if size > longest else line for line, size in zip(lines, sizes, strict=True))
    return "\n".join(cut)


def pack_embeds(embeds: Sequence[Any]) -> list[list[Any]]:
    """Group fitted embeds, in order, into messages of at most 10 embeds and 6000 characters."""
    groups: list[list[Any]] = []
    current: list[Any] = []
    current_size = 0
    for embed in embeds:
        size = embed_size(embed) if isinstance(embed, Mapping) else 0
        if current and (len(current) >= EMBEDS_PER_MESSAGE or current_size + size > EMBED_TOTAL_MAX):
            groups.append(current)
            current, current_size = [], 0
        current.append(embed)
        current_size += size
    if current:
        groups.append(current)
    return groups


def within_limits(payload: Mapping[str, Any]) -> list[str]:
    """What in one message payload breaks a limit (empty when it keeps them all); for tests and logs."""
    problems: list[str] = []
    content = payload.get("content")
    if isinstance(content, str) and text_size(content) > CONTENT_MAX:
        problems.append(f"content has {text_size(content)} > {CONTENT_MAX}")
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = 0
    for n, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            continue
        total += embed_size(embed)
        checks: list[tuple[str, Any, int]] = [
            ("title", embed.get("title"), EMBED_TITLE_MAX),
            ("description", embed.get("description"), EMBED_DESCRIPTION_MAX),
            ("footer.text", (embed.get("footer") or {}).get("text"), EMBED_FOOTER_MAX),
            ("author.name", (embed.get("author") or {}).get("name"), EMBED_AUTHOR_MAX),
        ]
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"embed {n} has {len(fields)} fields > {EMBED_FIELDS_MAX}")
        for i, field in enumerate(fields):
            checks.append((f"fields[{i}].name", field.get("name"), EMBED_FIELD_NAME_MAX))
            checks.append((f"fields[{i}].value", field.get("value"), EMBED_FIELD_VALUE_MAX))
            for key in ("name", "value"):
                if not isinstance(field.get(key), str) or not field[key]:
                    problems.append(f"embed {n} fields[{i}].{key} is empty")
        for name, value, limit in checks:
            if isinstance(value, str) and text_size(value) > limit:
                problems.append(f"embed {n} {name} has {text_size(value)} > {limit}")
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds have {total} characters > {EMBED_TOTAL_MAX}")
    files = payload.get("files") or []
    if len(files) > FILES_PER_MESSAGE:
        problems.append(f"{len(files)} files > {FILES_PER_MESSAGE}")
    return problems
