"""Discord's text markup that every feature writes: timestamps readers see in their own time zone,
elapsed times as a class counts them, and text a user or the cluster controls made inert.

Nicknames, label and annotation values, Event messages, submitted answers: whoever wrote them must not
get a link, a mention, a heading or a fence into what the bot posts. Each place Discord shows text
wants its own treatment:

* `escape` — where Discord renders Markdown (content, embed descriptions, field names and values,
  titles): every character that could start markup is escaped with a backslash, which Discord shows
  as the character itself; a link's `://` and `@everyone` lose their effect too;
* `code` — inside a code span or block the escapes would show, and only a backtick can end it: each
  becomes a look-alike;
* `plain` — where Discord renders no Markdown (thread names, embed footers): one line, nothing else;
* `message` — a catalogue message whose parameters are all such text, each escaped for where its
  template puts it (in a code span or not, at the start of a line or not); a Discord timestamp, which
  shows a time and nothing else, stays one.

Control characters go in every case: they are invisible, and some (the bidirectional overrides) make
a name read as something else.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from bot.i18n import Lang, Message, Place, render

#: C0 and C1 controls, DEL, and the bidirectional marks and overrides; tab and newline are dealt with apart.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What ends a line besides LF: CRLF, CR, NEL and Unicode's line and paragraph separators.
_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
#: Characters that start markup anywhere in a line: emphasis, underline, strike, spoiler, code, masked
#: links, mentions and channels (`<@…>`, `<#…>`, `</…>`, `<https://…>`), quotes, headings, escapes.
_ANYWHERE = re.compile(r"([\\*_~|`\[\]<>#])")
#: Markup only at the start of a line: list items (`- `, `+ `, `1. `; the space may be the template's);
#: subtext (`-# `) has its `#` escaped.
_LINE_START = re.compile(r"^([ \t]*)([-+](?=\s|$)|[0-9]+(?=[.)](?:\s|$)))", re.MULTILINE)
#: An autolink: Discord links `scheme://…` in plain text; an escaped colon ends the scheme.
_SCHEME = re.compile(r":(?=//)")
_MASS_MENTION = re.compile(r"@(everyone|here)")
#: A Discord timestamp shows a time and nothing else; `message` leaves one as it is.
_TIMESTAMP = re.compile(r"<t:-?[0-9]{1,15}(?::[tTdDfFR])?>")
#: A look-alike of the backtick (MODIFIER LETTER GRAVE ACCENT): reads the same, ends no code span.
BACKTICK_LOOKALIKE = "\u02cb"


def clock(delta: timedelta) -> str:
    """An elapsed time as M:SS (minutes may exceed 59: a class counts in minutes)."""
    seconds = max(int(delta.total_seconds()), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


def stamp(moment: datetime, style: str = "t") -> str:
    """A Discord timestamp: `t` a clock time, `R` relative ("in 5 minutes"), `f` date and time."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def _lines(text: object, *, multiline: bool) -> str:
    """The text without controls, its line breaks LF (or spaces, on one line)."""
    value = _BREAKS.sub("\n", _CONTROLS.sub("", str(text))).replace("\t", " ")
    return value if multiline else value.replace("\n", " ")


def escape(text: object, *, multiline: bool = False, line_start: bool = True) -> str:
    """`text` as Discord Markdown that shows it as it is; on one line unless `multiline`. `line_start`:
    whether the text may begin a line (else only its later lines can start a list)."""
    value = _ANYWHERE.sub(r"\\\1", _lines(text, multiline=multiline))
    if line_start:
        value = _LINE_START.sub(_line_start, value)
    else:
        first, newline, rest = value.partition("\n")
        value = first + newline + _LINE_START.sub(_line_start, rest)
    value = _SCHEME.sub(r"\\:", value)
    return _MASS_MENTION.sub("@\u200b\\1", value)


def _line_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    return f"{indent}\\{marker}" if marker in "-+" else f"{indent}{marker}\\"


def code(text: object, *, multiline: bool = False) -> str:
    """`text` for inside a code span (or, `multiline`, a code block): no backtick can end it. An empty
    text is a space: an empty span is two backticks, which would pair with the next span's."""
    return _lines(text, multiline=multiline).replace("`", BACKTICK_LOOKALIKE) or " "


def plain(text: object) -> str:
    """`text` for where Discord shows no Markdown (a thread name, an embed footer): one line."""
    return _lines(text, multiline=False)


def link_target(url: object) -> str | None:
    """`url` for the target of a masked link `[…](url)`: http(s) only, with nothing that could end the
    parentheses or the line; None for anything else."""
    value = str(url).strip()
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:  # a host that is no host, such as "[x"
        return None
    if scheme not in ("http", "https") or not value[len(scheme) :].startswith("://"):
        return None
    return quote(value, safe="/:?#@!$&',;=%+")


def message(msg: Message, lang: Lang) -> str:
    """The message in `lang` with every text parameter (nested messages' too) escaped for where its
    template puts it. Texts given in both languages come from the catalogue and stay as they are."""
    return render(msg, lang, escape=_parameter)


def _parameter(value: str, place: Place) -> str:
    if place.in_code:
        return code(value)
    return value if _TIMESTAMP.fullmatch(value) else escape(value, multiline=True, line_start=place.line_start)
