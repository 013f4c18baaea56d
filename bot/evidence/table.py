"""Reading the table a command printed, from text a team pasted.

docker and kubectl print their tables through Go's tabwriter: every cell of a column starts where the
column's header starts, cells are left-aligned and at least three spaces apart (docker's and kubectl's
padding), and an empty cell is spaces. So the header line gives the columns' start offsets and each row
is cut at them; splitting on runs of spaces would lose empty cells (a worker's MANAGER STATUS, a task's
ERROR) and shift every cell after them.

The paste is whatever a terminal, a chat client or a person made of it: ANSI colours, carriage returns,
a Markdown code fence around it, the shell prompt and the command line above it, the next prompt below.
What is not the table is skipped; nothing in it is trusted beyond being text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

#: ANSI escape sequences: CSI (colours, cursor moves) and OSC (titles, hyperlinks), then any other ESC pair.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
#: Controls that are not layout, and the bidirectional marks and overrides (which make text read as other text).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
#: A header cell: words with single spaces between them ("MANAGER STATUS"); cells are 2+ spaces apart.
_HEADER_CELL = re.compile(r"\S+(?: \S+)*")
#: A Markdown code fence line, with or without a language.
_FENCE = re.compile(r"^\s*(```|~~~)")


def clean(text: str) -> list[str]:
    """The pasted text's lines, without escape sequences, controls, code fences or trailing spaces; tabs
    expanded (a terminal shows them at every 8th column)."""
    text = _BREAKS.sub("\n", _ANSI.sub("", text))
    lines = []
    for line in _CONTROLS.sub("", text).split("\n"):
        if _FENCE.match(line):
            continue
        lines.append(line.expandtabs(8).rstrip())
    return lines


@dataclass(frozen=True)
class Table:
    """The first table in the text whose header has the columns asked for: each row as header → cell."""

    headers: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


def read_table(lines: Sequence[str], *, known: Collection[str], required: Collection[str]) -> Table | None:
    """The table whose header line has only `known` column names and every one of `required`; its rows
    run to the first blank line or the first line that does not line up with the header (the next prompt,
    a line of another table). None when no line is such a header."""
    for index, line in enumerate(lines):
        cells = [(m.start(), m.group()) for m in _HEADER_CELL.finditer(line)]
        names = [name for _, name in cells]
        if not cells or not set(names) <= set(known) or not set(required) <= set(names) or len(set(names)) < len(names):
            continue
        starts = [start for start, _ in cells]
        rows = []
        for row in lines[index + 1 :]:
            cut = _cut(row, starts)
            if cut is None:
                break
            rows.append(dict(zip(names, cut, strict=True)))
        return Table(headers=tuple(names), rows=tuple(rows))
    return None


def _cut(line: str, starts: Sequence[int]) -> list[str] | None:
    """The line's cells at the columns' start offsets, or None when it is not a row of this table: text
    before the first column or running across a column's start, or nothing in the first column. (A cell
    may begin with spaces: `docker service ps` indents a slot's previous tasks with ` \\_ `.)"""
    if line[: starts[0]].strip():
        return None
    for start in starts[1:]:
        if start < len(line) and line[start - 1] != " ":
            return None
    bounds = [*starts, max(len(line), starts[-1])]
    cells = [line[begin:end].strip() for begin, end in itertools.pairwise(bounds)]
    return cells if cells[0] else None
