"""The CSV files instructors export, as a spreadsheet will open them.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (OWASP's "CSV injection"): a team's answer `=HYPERLINK("https://evil.example","grades")`
would be a live link in the instructor's sheet. Such a text gets a leading `'`, which makes it text:
`cell` for every text a user or the cluster wrote. What the bot writes itself (numbers, a negative one
too, times, its "-" for none) is written as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A byte-order mark, so that Excel, which instructors open these in, reads the Korean right.
BOM = "\ufeff"


def cell(text: str) -> str:
    """A text a user or the cluster wrote, for a cell: made text if a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_file(rows: Iterable[Sequence[object]]) -> bytes:
    """`rows` (the header first) as a UTF-8 CSV file with a byte-order mark."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return (BOM + buffer.getvalue()).encode("utf-8")
