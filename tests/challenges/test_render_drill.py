"""A drill's results as posted: what broke, both times and the points of each; a stopped drill is not scored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.challenges import render_drill
from bot.store import Run
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def ended(status: str, points: int, tier: int, drill: dict[str, object] | None) -> Run:
    return Run(
        id=3,
        team_id=1,
        challenge_id=91,
        status=status,
        started_at=T0,
        deadline=T0 + timedelta(minutes=20),
        finished_at=T0 + timedelta(minutes=20),
        elapsed_seconds=1200,
        tier_percent=tier,
        points=points,
        notes={"drill": drill} if drill is not None else None,
    )


def fields(payload: dict[str, object]) -> dict[str, str]:
    (embed,) = payload["embeds"]  # type: ignore[misc]
    return {f["name"]: f["value"] for f in embed["fields"]}


def test_an_expired_drill_keeps_its_acknowledgement() -> None:
    kept = {"incident": 4, "acknowledge_seconds": 150, "acknowledged_by": "Blue *1*", "acknowledge_points": 5}
    payload = render_drill.results(ended("expired", 5, 60, kept), CATALOG.get(91), "en")
    assert payload["embeds"][0]["title"] == "⌛ Incident drill 91: time is up (Incident drill: deployment disaster)"
    assert fields(payload) == {
        "What broke": '• Image deployment failure - "The new version won\'t start!"',
        "Time to acknowledge (from the alert)": "2:30 · by Blue \\*1\\*",
        "Time to fix (from the failure)": "not fixed within the time limit",
        "Points": "fix 0 (tier 60%) + acknowledge 5 = 5/35 points",
    }
    korean = fields(render_drill.results(ended("expired", 5, 60, kept), CATALOG.get(91), "ko"))
    assert korean["점수"] == "복구 0점 (등급 60%) + 확인 5점 = 5/35점"


def test_an_unanswered_and_a_stopped_drill() -> None:
    silent = fields(render_drill.results(ended("expired", 0, 60, {"incident": None}), CATALOG.get(91), "en"))
    assert silent["Time to acknowledge (from the alert)"] == "no alert came"
    unacknowledged = fields(render_drill.results(ended("expired", 0, 60, {"incident": 2}), CATALOG.get(91), "en"))
    assert unacknowledged["Time to acknowledge (from the alert)"] == "not acknowledged"
    stopped = render_drill.results(ended("stopped", 0, 0, None), CATALOG.get(91), "en")
    assert list(fields(stopped)) == ["What broke"]
    assert stopped["embeds"][0]["title"].startswith("⏹️ Incident drill 91 stopped")
