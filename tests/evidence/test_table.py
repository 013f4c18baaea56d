"""Reading a tabwriter table from a paste: columns from the header, empty cells kept, the rest skipped."""

from __future__ import annotations

from bot.evidence.table import clean, read_table
from tests.evidence.test_docker import sample


def layout(rows: list[list[str]]) -> str:
    """Rows as Go's tabwriter lays them out for docker and kubectl (minimum width 10, padding 3): every
    cell but the last padded to its column's width."""
    widths = [max(max(len(row[i]) for row in rows) + 3, 10) for i in range(len(rows[0]) - 1)]
    return "".join("".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + row[-1] + "\n" for row in rows)


PS = frozenset({"ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"})


def test_empty_cells_keep_the_cells_after_them_in_their_columns() -> None:
    table = read_table(clean(sample("docker-service-ps-recovered.txt")), known=PS, required={"NAME"})
    assert table is not None
    assert table.headers == ("ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS")
    assert [row["ERROR"] for row in table.rows] == ["", "", '"task: non-zero exit (137)"', ""]
    assert table.rows[2]["NAME"] == "\\_ web-service.2"
    assert table.rows[2]["CURRENT STATE"] == "Failed 18 seconds ago"


def test_the_prompt_and_the_command_around_the_table_are_not_rows() -> None:
    text = "user@manager1:~$ docker service ps web-service\n" + sample("docker-service-ps-fresh.txt")
    text += "user@manager1:~$ docker service ls\nID   NAME\n"
    table = read_table(clean(text), known=PS, required={"NAME"})
    assert table is not None
    assert [row["NAME"] for row in table.rows] == ["web-service.1", "web-service.2", "web-service.3"]


def test_a_code_fence_ansi_colours_and_crlf_are_taken_off() -> None:
    pasted = (
        "```text\r\n\x1b[1mNAME\x1b[0m            CURRENT STATE\r\n"
        "web-service.1   \x1b[32mRunning\x1b[0m 1 second ago\r\n```"
    )
    table = read_table(clean(pasted), known=PS, required={"NAME", "CURRENT STATE"})
    assert table is not None
    assert table.rows == ({"NAME": "web-service.1", "CURRENT STATE": "Running 1 second ago"},)


def test_a_row_that_does_not_line_up_ends_the_table() -> None:
    text = "NAME            CURRENT STATE\nweb-service.1   Running 1 second ago\nweb-service.2 Running 1 second ago\n"
    table = read_table(clean(text), known=PS, required={"NAME"})
    assert table is not None
    assert [row["NAME"] for row in table.rows] == ["web-service.1"]


def test_a_header_with_a_column_the_command_never_prints_is_not_its_table() -> None:
    assert read_table(["NAME   READY   STATUS"], known=PS, required={"NAME"}) is None
    assert read_table(["ID   IMAGE"], known=PS, required={"NAME"}) is None
    assert read_table(["NAME   NAME"], known=PS, required={"NAME"}) is None
