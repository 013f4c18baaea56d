"""The answer a user gets for a known error: the catalogue's words in the guild's language, never the text an
exception carries for the log (English, with the library's own details)."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from bot.discord.errors import explain
from bot.errors import ClusterUnavailable, KubecampError
from bot.i18n import Message, render
from bot.store import Store, StoreConflict
from bot.teams import TeamInvalid, TeamService
from tests.i18n import korean


async def _refusal(attempt: Awaitable[object]) -> KubecampError:
    with pytest.raises(KubecampError) as raised:
        await attempt
    return raised.value


async def test_conflicts_and_invalid_team_input_are_answered_in_the_catalogues_words(store: Store) -> None:
    teams = TeamService(store=store, namespace_prefix="kubecamp-")
    long_prefixed = TeamService(store=store, namespace_prefix="kubecamp-class-of-november-2026-seoul-")
    await teams.create("blue", role_id=11)
    errors = [
        await _refusal(teams.create("Blue Team")),
        await _refusal(long_prefixed.create("streaming-platform-operations")),
        await _refusal(teams.create("blue")),
        await _refusal(teams.create("green", namespace="kubecamp-blue")),
        await _refusal(teams.create("red", role_id=11)),
    ]
    assert [type(e) for e in errors] == [TeamInvalid, TeamInvalid, StoreConflict, StoreConflict, StoreConflict]
    answers = [explain(error) for error in errors]
    assert [a.params["detail"]["key"] for a in answers if a is not None] == [
        "team.invalid_name",
        "team.namespace_too_long",
        "conflict.team_exists",
        "conflict.namespace_taken",
        "conflict.role_taken",
    ]
    for error, answer in zip(errors, answers, strict=True):
        assert answer is not None
        text = render(answer, "ko")
        assert str(error) not in text
        assert not korean.problems(text), text


def test_a_conflict_only_the_database_knows_is_still_answered_in_korean() -> None:
    answer = explain(StoreConflict("refused by the database: UNIQUE constraint failed: run.team_id"))
    assert answer == Message("err.conflict", {"detail": Message("conflict.stored").to_json()})
    assert "UNIQUE" not in render(answer, "ko")


def test_a_cluster_error_is_answered_with_its_reason_not_the_client_library_text() -> None:
    error = ClusterUnavailable(
        "GET /version: Cannot connect to host 10.0.0.1:6443 ssl:default [Connect call failed ('10.0.0.1', 6443)]"
    )
    answer = explain(error)
    assert answer == Message("err.cluster", {"detail": Message("cluster.unavailable").to_json()})
    text = render(answer, "ko")
    assert text == (
        "클러스터에 문제가 있습니다: Kubernetes API 서버에 연결할 수 없습니다. "
        "잠시 후 다시 시도하거나 강사에게 알려주세요."
    )
    assert not korean.problems(text)
