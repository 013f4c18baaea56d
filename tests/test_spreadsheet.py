"""CSV exports as a spreadsheet opens them: no text a user wrote starts a formula, what the bot writes stays."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from bot.spreadsheet import FORMULA_START, cell, csv_file


def read(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_texts_that_start_a_formula_become_text_and_the_bots_own_cells_stay() -> None:
    typed = ['=HYPERLINK("https://evil.example","x")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "blue", ""]
    [row] = read(csv_file([[-3, 0, "-", *map(cell, typed)]]))
    assert row[:3] == ["-3", "0", "-"]  # numbers stay numbers, the bot's "-" for none stays
    assert row[3:] == ["'" + t for t in typed[:6]] + ["blue", ""]


@given(st.lists(st.lists(st.text(), min_size=1, max_size=5), min_size=1, max_size=5))
def test_no_text_cell_starts_a_formula_and_every_cell_reads_back(rows: list[list[str]]) -> None:
    written = read(csv_file([[cell(text) for text in row] for row in rows]))
    assert len(written) == len(rows)
    for row, read_row in zip(rows, written, strict=True):
        for typed, text in zip(row, read_row, strict=True):
            assert not text.startswith(FORMULA_START)
            assert text in (typed, "'" + typed)
