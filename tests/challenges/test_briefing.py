"""The briefing: each scenario's situation and symptoms, then the seed's diagnosis steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.challenges import render
from bot.challenges.cluster_fit import runnable
from bot.challenges.reports import StartReport
from bot.limits import ELLIPSIS, fit_message
from bot.store import Run, Team
from tests.scenarios.test_catalogue_behaviour import CATALOG

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def start_report(challenge_id: int) -> StartReport:
    challenge = CATALOG.get(challenge_id)
    _, skipped = runnable(challenge)
    run = Run(id=1, team_id=1, challenge_id=challenge_id, started_at=T0, deadline=T0 + timedelta(minutes=90))
    team = Team(id=1, name="blue", namespace="kubecamp-blue")
    return StartReport(run=run, team=team, challenge=challenge, applied=(), skipped=skipped)


def test_each_scenario_with_seed_diagnostics_gets_its_steps_after_its_symptoms() -> None:
    fields = render.briefing(start_report(2), "ko")["embeds"][0]["fields"]
    names = [f["name"] for f in fields]
    assert names[1] == names[3] == names[5] == names[7] == "🔍 진단 과정"
    assert (
        fields[1]["value"] == "1. Pod 상세 정보 확인\n2. 이벤트 로그 분석\n3. 이미지 태그 검증\n4. 배포 히스토리 확인"
    )


def test_a_skipped_scenario_shows_why_and_no_diagnosis() -> None:
    fields = render.briefing(start_report(1), "en")["embeds"][0]["fields"]
    assert "cannot be built in a team's namespace" in fields[0]["value"]
    assert fields[1]["name"].startswith("2. ")  # straight on to the next scenario
    assert fields[2] == {
        "name": "🔍 Diagnosis steps",
        "value": "1. Pod status: `kubectl get pods`\n2. Service "
        "connections: `kubectl get svc`, `kubectl get endpoints`",
    }


def test_a_scenario_without_seed_diagnostics_has_no_diagnosis_field() -> None:
    fields = render.briefing(start_report(5), "en")["embeds"][0]["fields"]
    assert len(fields) == 4 and all(not f["name"].startswith("🔍") for f in fields)


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("challenge_id", [c.id for c in CATALOG])
def test_every_briefing_fits_discord_without_a_cut(challenge_id: int, lang: str) -> None:
    payload = render.briefing(start_report(challenge_id), lang)  # type: ignore[arg-type]
    (fitted,) = fit_message(payload)
    assert fitted["embeds"] == payload["embeds"]
    assert not any(ELLIPSIS in f["value"] for f in fitted["embeds"][0]["fields"])
