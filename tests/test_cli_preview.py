"""`kubecamp scenarios show` as an author runs it from a checkout: a real process, no cluster, no database; and its
briefing against what Discord receives when a team starts the same challenge."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli_preview import briefing, posts, start_report
from bot.store import Team
from tests.discord.live import Class, answer, quiet, slash, thread_of
from tests.scenarios.test_catalogue_behaviour import CATALOG
from tests.test_cli import Result, forkserver, fresh_env, kubecamp  # noqa: F401 - fixtures: the command's environment, its processes

#: The commands' tests, on one worker: it starts one forkserver for them all (`forkserver`, tests/test_cli.py).
pytestmark = pytest.mark.xdist_group("kubecamp-commands")

#: The start of a post in the text preview: its time after the start of the run.
MARK = re.compile(r"^━━ \+(\d+:\d\d) · ", re.MULTILINE)


@pytest.fixture
def environment(request: pytest.FixtureRequest) -> dict[str, str]:
    """test_cli's environment for `kubecamp`, with a data folder that must stay empty."""
    value: dict[str, str] = request.getfixturevalue("fresh_env")
    return value


async def show(environment: dict[str, str], *args: str) -> Result:
    result = await kubecamp(environment, "scenarios", "show", *args)
    assert result.code == 0, result.err
    data = Path(environment["KUBECAMP_DATA_DIR"])
    assert not await asyncio.to_thread(data.exists), "the preview needs no database"
    return result


def times(text: str) -> list[str]:
    return MARK.findall(text)


async def test_a_break_fix_challenge_shows_its_briefing_hints_and_timeline(environment: dict[str, str]) -> None:
    text = (await show(environment, "2")).out
    assert text.startswith("Challenge 2: Deployment disaster, as team blue (namespace kubecamp-blue) will see it\n")
    # The thread, its briefing with every scenario's symptoms, and its times after the start.
    assert "🧵 Challenge 2 · blue · Deployment disaster\n" in text
    assert "Team **blue**, you're on! Deadline [+90:00] ([+90:00]). At [+20:00] the bot verifies" in text
    assert "<t:" not in text
    assert '│ ▸ 1. Image deployment failure - "The new version won\'t start!" (20 min, 25 pts)' in text
    assert "│   # frontend-xxx                0/1     ImagePullBackOff   0          5m" in text
    # The 20-minute mark: the automatic verification with every first hint; the later hints one by one.
    assert times(text) == ["0:00", "20:00"] + ["30:00"] * 4 + ["40:00"] * 4 + ["90:00"]
    mark = text.split("━━ +20:00 · ")[1].split("━━ +30:00")[0]
    assert mark.startswith("the automatic verification: first its results per item (as the cluster stands then), ")
    assert "  • Outage during a rolling update\n" in mark
    assert mark.count("💡 Hint 1/3 — ") == 4
    assert "│ There may be a typo in the image name or tag." in mark
    assert "💡 Hint 3/3 — Outage during a rolling update" in text.split("━━ +40:00", 1)[1]
    # The last hint says that the diagnosis comes with the verifications from then on (feedback: symptom).
    assert text.count("│ — This scenario's last hint: from now on its verification results show the diagnosis") == 4


def test_a_drill_shows_no_briefing_but_the_call_its_alert_brings() -> None:
    team = Team(name="blue", namespace="kubecamp-blue")
    report = start_report(CATALOG.get(91), team, datetime(2026, 11, 23, 9, 0, tzinfo=UTC), own_cluster=False)
    timeline = posts(report, "en")
    assert [(p.event, p.after) for p in timeline] == [
        ("alert", timedelta(0)),
        ("automatic", timedelta(minutes=10)),
        ("final", timedelta(minutes=20)),
    ]
    (call,) = timeline[0].messages
    assert timeline[0].thread_name is None and "KubecampImagePullFailing" in timeline[0].note
    assert str(call["content"]).startswith("🚨 This is an incident drill")
    assert "frontend" not in str(call) and "image" not in str(call).lower()


async def test_korean_english_or_both(environment: dict[str, str]) -> None:
    korean = (await show(environment, "2", "--lang", "ko")).out
    assert korean.startswith("챌린지 2: 배포 재해 시나리오 — blue 팀(네임스페이스 kubecamp-blue)에게 보이는 내용\n")
    assert "│   # Pod 상태 확인" in korean and "💡 힌트 1/3 — 이미지 배포 실패" in korean
    assert "Deployment disaster" not in korean
    both = (await show(environment, "2", "--lang", "both", "--team", "Red")).out
    ko, en = both.split("\n\nChallenge 2: Deployment disaster, as team red (namespace kubecamp-red)")
    assert ko.startswith("챌린지 2: 배포 재해 시나리오 — red 팀") and "Hint 1/3" not in ko
    assert times(ko) == times(en)
    bad = await kubecamp(environment, "scenarios", "show", "2", "--team", "no such team")
    assert bad.code == 2 and "'no such team': use 1–" in bad.err


async def test_a_build_shows_its_namespaces_rubric_and_phase_reminders(environment: dict[str, str]) -> None:
    text = (await show(environment, "4")).out
    assert "│   streaming: `kubecamp-blue-streaming`" in text
    assert "│ ▸ 🎬 Services (streaming)\n│   • Video API: Deployment and Service video-api — 3 pts, verified" in text
    assert "│   • A service mesh (Istio) — 5 pts, graded by an instructor · bonus" in text
    assert times(text) == ["0:00", "15:00", "20:00", "30:00", "30:00", "30:00", "50:00", "75:00", "85:00", "90:00"]
    second = text.split("━━ +15:00 · ")[1]
    assert second.startswith("the next phase begins\n")
    assert "│ **⏰ Phase 2/5: Monitoring (Prometheus + Grafana, custom metrics, dashboards)**" in second
    mark = text.split("━━ +20:00 · ")[1].split("━━ +30:00")[0]
    assert "💡 Hint 1/1 — Prometheus: Deployment and Service prometheus in monitoring" in mark
    assert "  • Prometheus: Deployment and Service prometheus in monitoring\n" in mark
    assert "  • The operations analysis report" not in mark, "a graded criterion is not verified"
    # A build is built, not fixed, and its deadline's verification is its rubric.
    assert (
        "│ — Namespace kubecamp-blue · build, then check with /challenge verify · progress: /challenge progress" in text
    )
    assert "Deadline [+90:00] ([+90:00]): the rubric is verified a last time then" in text
    assert "━━ +90:00 · the deadline: the final verification is the rubric: the items verified on the cluster" in text


async def test_a_break_fix_challenge_shows_its_graded_bonus_items(environment: dict[str, str]) -> None:
    text = (await show(environment, "1", "--lang", "ko")).out
    bonus = text.split("│ ▸ 🏆 도전 과제 (보너스)\n")[1]
    assert bonus.startswith("│   • 고급 기능 구현: 카나리 배포(트래픽 10%로 새 버전 테스트), ")
    assert "— 20점, 강사 채점 · 보너스\n│   • 창의적 해결책: " in bonus and "— 10점, 강사 채점 · 보너스" in bonus


async def test_cluster_scope_scenarios_are_skipped_unless_on_a_teams_own_cluster(environment: dict[str, str]) -> None:
    shared = (await show(environment, "21")).out
    assert "│ ▸ 5. Taint set by mistake" in shared
    assert "Deadline [+90:00]" in shared and times(shared)[-1] == "90:00"
    assert "Taint set by mistake" not in shared.split("━━ +20:00")[1], "no hint or check of a skipped scenario"
    own = (await show(environment, "21", "--own-cluster")).out
    assert "Deadline [+135:00]" in own and times(own)[-1] == "135:00"
    assert "💡 Hint 1/3 — Taint set by mistake" in own.split("━━ +20:00")[1]
    assert "│   # Warning  FailedScheduling  ...  0/4 nodes are available" in own
    data = (await kubecamp(environment, "--json", "scenarios", "show", "21")).json()
    assert isinstance(data, dict) and data["skipped"] == ["node-exhausted", "node-taint"]


async def test_json_gives_the_discord_messages_at_their_times(environment: dict[str, str]) -> None:
    result = await kubecamp(environment, "scenarios", "show", "2", "--json", "--lang", "both")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict) and sorted(data["languages"]) == ["en", "ko"]
    en = data["languages"]["en"]
    assert [p["event"] for p in en] == ["thread", "automatic"] + ["hint"] * 8 + ["final"]
    assert [p["after_seconds"] for p in en][:3] == [0, 1200, 1800]
    started = int(datetime.fromisoformat(data["started_at"]).timestamp())
    [message] = en[0]["messages"]
    assert f"Deadline <t:{started + 5400}:t>" in message["content"]
    assert message["embeds"][0]["title"] == "🚨 Challenge 2: Deployment disaster"
    assert en[1]["items"][0] == 'Image deployment failure - "The new version won\'t start!"'
    assert en[1]["messages"][0]["embeds"][0]["title"].startswith("💡 Hint 1/3 — ")
    assert en[-1]["messages"] == []


async def test_an_unknown_challenge_names_those_there_are(environment: dict[str, str]) -> None:
    result = await kubecamp(environment, "scenarios", "show", "7")
    assert (result.code, result.out) == (2, "")
    assert result.err == "kubecamp: no challenge 7; the catalogue has 1, 2, 3, 4, 5, 21, 51, 52, 53, 91\n"


def test_every_post_keeps_discords_limits() -> None:
    """What the outbox would cut is cut in the preview too: every post is its `fit_message` parts."""
    team = Team(name="blue", namespace="kubecamp-blue")
    started = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for challenge in CATALOG:
        report = start_report(challenge, team, started, own_cluster=True)
        for post in posts(report, "ko"):
            for message in post.messages:
                assert len(message.get("embeds", [])) <= 10
                assert all(len(e.get("description", "")) <= 4096 for e in message.get("embeds", []))
            assert timedelta(0) <= post.after <= report.run.deadline - started


@pytest.mark.parametrize("challenge_id", [2, 4])
async def test_the_preview_briefing_is_what_discord_receives(live_class: Class, challenge_id: int) -> None:
    live = live_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=challenge_id))
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the run's thread")
    await quiet(live)
    thread = thread_of(live, "blue")
    starter = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
    received = [_as_sent(m) for m in [*starter, *live.discord.messages(thread)]]
    team = await live.app.store.teams.get("blue")
    assert team is not None
    run = await live.app.store.runs.active(team.id, challenge_id)
    assert run is not None
    preview = briefing(start_report(CATALOG.get(challenge_id), team, run.started_at, own_cluster=False), "en")
    assert received and received[0][1][0]["title"] == f"🚨 Challenge {challenge_id}: {run_title(challenge_id)}"
    assert thread.name == preview.thread_name
    assert received == [_as_sent(m) for m in preview.messages]


def run_title(challenge_id: int) -> str:
    return CATALOG.get(challenge_id).spec.title.en


def _as_sent(message: Any) -> tuple[str, list[dict[str, Any]]]:
    """A message's content and embeds, from the emulator's record of it or a payload, without what Discord adds."""
    if isinstance(message, dict):
        content, embeds = message.get("content") or "", message.get("embeds") or []
    else:
        content, embeds = message.content, message.embeds
    return content, [{k: v for k, v in e.items() if k != "type"} for e in embeds]
