"""The `submission:` section of challenge.yaml: a form Discord can show, or one clear error naming the
file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.challenges.catalog import load_catalog
from tests.challenges.test_catalog import challenge_doc, expect_error, write_tree
from tests.scenarios.test_catalogue_behaviour import CATALOG


def field(field_id: str, **overrides: Any) -> dict[str, Any]:
    return {"id": field_id, "label": {"ko": "항목", "en": "Item"}, **overrides}


def write_form(tmp_path: Path, *fields: dict[str, Any]) -> None:
    write_tree(tmp_path, challenge_doc(submission={"fields": list(fields)}))


def test_a_form_loads_with_defaults_and_a_challenge_may_have_none(tmp_path: Path) -> None:
    write_form(tmp_path, field("completion_time", auto="completion_time"), field("notes"))
    form = load_catalog(tmp_path).get(7).spec.submission
    assert form is not None
    notes = form.fields[1]
    assert (notes.required, notes.max_length, notes.style, notes.format, notes.placeholder) == (
        True,
        1000,
        "short",
        None,
        None,
    )
    assert [f.id for f in form.inputs] == ["notes"]

    write_tree(tmp_path / "other", challenge_doc())
    assert load_catalog(tmp_path / "other").get(7).spec.submission is None


def test_the_shipped_challenges_have_forms_discord_can_show() -> None:
    for challenge in CATALOG:
        if challenge.id == 53:  # the daily checkpoints hand nothing in: the seed's week has its final project
            assert challenge.spec.submission is None
            continue
        form = challenge.spec.submission
        assert form is not None, challenge.id
        assert 1 <= len(form.inputs) <= 5
        assert [f.id for f in form.fields if f.auto] == ["completion_time"]
        assert [f.id for f in form.fields if f.format == "github_url"] == ["github_url"]


def test_six_inputs_do_not_fit_a_modal(tmp_path: Path) -> None:
    write_form(tmp_path, *(field(f"item_{n}") for n in range(6)))
    expect_error(tmp_path, "submission", "6 fields to type in; a Discord modal holds at most 5")


def test_an_auto_field_does_not_count_as_an_input(tmp_path: Path) -> None:
    write_form(tmp_path, field("completion_time", auto="completion_time"), *(field(f"item_{n}") for n in range(5)))
    assert load_catalog(tmp_path).get(7).spec.submission is not None


def test_a_label_longer_than_discord_shows(tmp_path: Path) -> None:
    write_form(tmp_path, field("notes", label={"ko": "항목", "en": "x" * 46}))
    expect_error(tmp_path, "submission.fields[0](id=notes)", "label.en is 46 characters; Discord shows at most 45")


def test_a_placeholder_longer_than_discord_shows(tmp_path: Path) -> None:
    write_form(tmp_path, field("notes", placeholder={"ko": "가" * 101, "en": "ok"}))
    expect_error(tmp_path, "submission.fields[0](id=notes)", "placeholder.ko is 101 characters")


@pytest.mark.parametrize(
    ("overrides", "where", "problem"),
    [
        ({"style": "long"}, "submission.fields[0](id=notes).style", "'short' or 'paragraph'"),
        ({"format": "url"}, "submission.fields[0](id=notes).format", "'github_url' or 'hhmm'"),
        ({"max_length": 4001}, "submission.fields[0](id=notes).max_length", "4000"),
        ({"auto": "team"}, "submission.fields[0](id=notes).auto", "'completion_time'"),
        ({"id": "Notes"}, "submission.fields[0](id=Notes).id", "pattern"),
        ({"lable": {"ko": "a", "en": "b"}}, "submission.fields[0](id=notes).lable", "unknown key"),
        ({"auto": "completion_time", "format": "hhmm"}, "submission.fields[0](id=notes)", "takes no placeholder"),
        ({"id": "team"}, "submission.fields[0](id=team)", "common columns"),
    ],
)
def test_a_field_with_a_bad_setting(tmp_path: Path, overrides: dict[str, Any], where: str, problem: str) -> None:
    write_form(tmp_path, field("notes", **overrides), field("other"))
    expect_error(tmp_path, where, problem)


def test_duplicate_field_ids(tmp_path: Path) -> None:
    write_form(tmp_path, field("notes"), field("notes"))
    expect_error(tmp_path, "submission", "duplicate field ids: notes")


def test_a_form_of_auto_fields_only(tmp_path: Path) -> None:
    write_form(tmp_path, field("completion_time", auto="completion_time"))
    expect_error(tmp_path, "submission", "no field the team types in")


def test_an_empty_form(tmp_path: Path) -> None:
    write_tree(tmp_path, challenge_doc(submission={"fields": []}))
    expect_error(tmp_path, "submission.fields", "at least 1")
