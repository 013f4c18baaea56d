"""Submissions on each challenge's own form, over a real SQLite store: which form, what is checked,
what the bot fills in, what is kept, and what instructors list and export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.submission_form import SubmissionSpec
from bot.errors import NoActiveRun, UnknownChallenge
from bot.i18n import Message
from bot.metrics import Metrics
from bot.store import Store, Team
from bot.submissions import (
    PAGE_SIZE,
    NoSubmissionForm,
    SubmissionInvalid,
    SubmissionService,
)
from tests.scenarios.test_catalogue_behaviour import CATALOG

DOCS = Path(__file__).parents[1] / "docs" / "scenarios.md"
#: 14:35 in Seoul, where the class is.
T0 = datetime(2026, 11, 23, 5, 35, tzinfo=UTC)


def streaming_ops_form() -> SubmissionSpec:
    """The worked example of docs/scenarios.md: the course's streaming-ops hand-in, word for word."""
    match = re.search(r"<!-- submission-example:start -->\n```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert match, "docs/scenarios.md: the submission example between its markers is gone"
    return SubmissionSpec.model_validate(yaml.safe_load(match.group(1))["submission"])


TYPED_HHMM = SubmissionSpec.model_validate(
    {
        "fields": [
            {"id": "detected_at", "label": {"ko": "장애 감지 시각", "en": "Detected at"}, "format": "hhmm"},
            {"id": "notes", "label": {"ko": "메모", "en": "Notes"}, "required": False, "max_length": 10},
        ]
    }
)


def catalog_with(forms: dict[int, SubmissionSpec | None]) -> Catalog:
    """Challenge 2's scenarios under each id, with the given form (or none)."""
    base = CATALOG.get(2)
    return Catalog(
        {
            cid: Challenge(
                spec=base.spec.model_copy(update={"id": cid, "submission": form}),
                folder=base.folder,
                scenarios=base.scenarios,
            )
            for cid, form in forms.items()
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def team(store: Store) -> Team:
    return await store.teams.create("blue", "kubecamp-blue")


def service(store: Store, clock: Clock | None = None, metrics: Metrics | None = None) -> SubmissionService:
    return SubmissionService(
        store=store,
        catalog=catalog_with({2: streaming_ops_form(), 3: TYPED_HHMM, 5: None}),
        clock=clock or Clock(),
        timezone="Asia/Seoul",
        metrics=metrics,
    )


STREAMING: dict[str, str] = {
    "github_url": "https://github.com/blue/w3d5-streaming-ops-platform.git",
    "monitoring": "ServiceMonitor마다 Grafana 대시보드",
    "automation": "HPA CPU 70%, 동시 시청자 1000명",
    "advanced": "StreamingService CRD",
    "insight": "알림이 스레드가 됩니다",
}


def test_the_streaming_ops_form_is_the_course_format() -> None:
    """The seed's Discord format: 팀명 (the bot), then GitHub, 완료 시간, 모니터링 특징, 자동화 특징,
    고급 기능, 운영 인사이트, the bracketed hints as placeholders; five inputs, the time filled in."""
    form = streaming_ops_form()
    assert [f.label.ko for f in form.fields] == [
        "GitHub",
        "완료 시간",
        "모니터링 특징",
        "자동화 특징",
        "고급 기능",
        "운영 인사이트",
    ]
    assert [f.placeholder.ko if f.placeholder else None for f in form.fields[2:]] == [
        "Prometheus/Grafana 구성 포인트",
        "HPA/VPA 설정 포인트",
        "CRD/Operator 구현 여부",
        "가장 인상적인 운영 기능",
    ]
    assert [f.id for f in form.inputs] == ["github_url", "monitoring", "automation", "advanced", "insight"]


async def stop(store: Store, run_id: int, at: datetime) -> None:
    await store.runs.finish(run_id, status="stopped", finished_at=at, elapsed_seconds=None, tier_percent=None, points=0)


async def test_the_form_is_the_named_challenges_else_the_active_runs_else_the_latest(store: Store, team: Team) -> None:
    submissions = service(store)
    with pytest.raises(NoActiveRun):
        await submissions.form(team)
    assert (await submissions.form(team, 3)).spec == TYPED_HHMM
    with pytest.raises(UnknownChallenge):
        await submissions.form(team, 9)
    with pytest.raises(NoSubmissionForm) as refused:
        await submissions.form(team, 5)
    assert refused.value.challenge_id == 5

    older = await store.runs.create(team.id, 3, T0, T0 + timedelta(minutes=90), ["a"], {})
    await stop(store, older.id, T0 + timedelta(minutes=5))
    assert (await submissions.form(team)).challenge.id == 3  # the most recent run
    later = await store.runs.create(team.id, 2, T0 + timedelta(hours=1), T0 + timedelta(hours=3), ["a"], {})
    assert (await submissions.form(team)).challenge.id == 2  # the active one
    await stop(store, later.id, T0 + timedelta(hours=2))
    await store.runs.create(team.id, 3, T0 + timedelta(minutes=30), T0 + timedelta(hours=2), ["a"], {})
    assert (await submissions.form(team)).challenge.id == 3  # active beats a later start that ended


async def test_a_submission_keeps_the_answers_by_field_id_with_the_time_filled_in(store: Store, team: Team) -> None:
    clock, metrics = Clock(), Metrics()
    submissions = service(store, clock, metrics)
    run = await store.runs.create(team.id, 2, T0 - timedelta(minutes=50), T0 + timedelta(minutes=40), ["a"], {})
    clock.now = T0 + timedelta(minutes=3)  # submitting while the run is still on: the time is now

    first, replaced = await submissions.submit(team, 2, STREAMING, by="blue-1")
    assert replaced == 0
    assert first.answers == {
        **STREAMING,
        "github_url": "https://github.com/blue/w3d5-streaming-ops-platform",
        "completion_time": "14:38",
    }
    assert (first.run_id, first.submitted_by, first.submitted_at) == (run.id, "blue-1", clock.now)

    await store.runs.finish(run.id, status="finished", finished_at=T0, elapsed_seconds=3000, tier_percent=100, points=1)
    clock.now = T0 + timedelta(hours=2)  # later: the time is still when the run finished
    second, replaced = await submissions.submit(team, 2, {**STREAMING, "insight": "  더 나은 설명  "}, by=None)
    assert replaced == 1
    assert (second.answers["completion_time"], second.answers["insight"]) == ("14:35", "더 나은 설명")
    assert [s.id for s in await store.submissions.of_team(team.id, 2)] == [second.id, first.id]
    assert metrics.registry.get_sample_value("kubecamp_submissions_total", {"challenge": "2"}) == 2


@pytest.mark.parametrize(
    ("challenge", "answers", "field", "problem"),
    [
        (
            2,
            {**STREAMING, "github_url": "https://gitlab.com/blue/ops"},
            "github_url",
            Message("submit.problem_github_url"),
        ),
        (2, {**STREAMING, "insight": "   "}, "insight", Message("submit.problem_required")),
        (2, {**STREAMING, "advanced": "x" * 1001}, "advanced", Message("submit.problem_too_long", {"max": 1000})),
        (3, {"detected_at": "25:00"}, "detected_at", Message("submit.problem_hhmm")),
        (3, {"detected_at": "9:05"}, "detected_at", Message("submit.problem_hhmm")),
        (3, {"detected_at": "29:59"}, "detected_at", Message("submit.problem_hhmm")),
        (3, {"detected_at": "0٩:05"}, "detected_at", Message("submit.problem_hhmm")),
        (3, {"detected_at": "09:05", "notes": "x" * 11}, "notes", Message("submit.problem_too_long", {"max": 10})),
    ],
)
async def test_a_bad_answer_is_named_and_nothing_is_kept(
    store: Store, team: Team, challenge: int, answers: dict[str, str], field: str, problem: Message
) -> None:
    with pytest.raises(SubmissionInvalid) as refused:
        await service(store).submit(team, challenge, answers, by=None)
    assert (refused.value.field, refused.value.problem) == (field, problem)
    form = streaming_ops_form() if challenge == 2 else TYPED_HHMM
    assert refused.value.label == next(f.label for f in form.fields if f.id == field)
    assert await store.submissions.count() == 0


async def test_an_optional_answer_may_be_empty_and_an_unknown_one_is_refused(store: Store, team: Team) -> None:
    submissions = service(store)
    kept, _ = await submissions.submit(team, 3, {"detected_at": " 09:05 "}, by=None)
    assert kept.answers == {"detected_at": "09:05", "notes": ""}
    assert kept.run_id is None
    with pytest.raises(ValueError, match="no input"):
        await submissions.submit(team, 3, {"detected_at": "09:05", "completion_time": "10:00"}, by=None)
    with pytest.raises(NoSubmissionForm):
        await submissions.submit(team, 5, {"anything": "x"}, by=None)
    assert await store.submissions.count() == 1


async def add(store: Store, team: Team, challenge: int, answers: dict[str, str], minutes: int) -> int:
    kept = await store.submissions.add(
        team.id, challenge, answers=answers, submitted_at=T0 + timedelta(minutes=minutes)
    )
    return kept.id


def rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # Excel reads the Korean right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_the_export_has_a_column_per_field_of_the_challenges_form(store: Store, team: Team) -> None:
    red = await store.teams.create("red", "kubecamp-red")
    first = await add(store, team, 3, {"detected_at": "09:05", "notes": "첫 제출"}, 1)
    second = await add(store, team, 3, {"detected_at": "09:10", "notes": "고침"}, 2)
    other = await add(store, red, 3, {"detected_at": "09:20", "notes": "", "insight": "예전 양식"}, 3)
    elsewhere = await add(store, team, 2, {"monitoring": "m"}, 4)
    exported = rows(await service(store).csv(3))
    common = ["submission", "challenge", "team", "submitted_at", "submitted_by", "run", "current"]
    assert exported[0] == [*common, "detected_at", "notes", "other_answers"]
    assert [(r[0], r[2], r[6], r[7:]) for r in exported[1:]] == [
        (str(other), "red", "yes", ["09:20", "", '{"insight": "예전 양식"}']),
        (str(second), "blue", "yes", ["09:10", "고침", ""]),
        (str(first), "blue", "no", ["09:05", "첫 제출", ""]),
    ]
    assert exported[1][3] == (T0 + timedelta(minutes=3)).isoformat()

    everything = rows(await service(store).csv())
    assert everything[0] == [*common, "answers"]
    assert [(r[0], r[1], r[6], r[7]) for r in everything[1:]][:2] == [
        (str(elsewhere), "2", "yes", '{"monitoring": "m"}'),
        (str(other), "3", "yes", '{"detected_at": "09:20", "insight": "예전 양식", "notes": ""}'),
    ]
    assert len(everything) == 5
    assert rows(await service(store).csv(5)) == [common]  # a challenge without a form: the common columns


async def test_a_cell_a_spreadsheet_would_take_for_a_formula_is_exported_as_text(store: Store, team: Team) -> None:
    formula = '=HYPERLINK("https://evil.example/grades","open the grades")'
    typed = {
        "github_url": "https://github.com/blue/ops",
        "monitoring": formula,
        "automation": "-2+3",
        "advanced": "@SUM(1+1)*cmd|' /C calc'!A0",
        "insight": "+ scaled to 3 replicas",
    }
    kept, _ = await service(store).submit(team, 2, typed, by="=1+1")
    [header, row] = rows(await service(store).csv(2))
    exported = dict(zip(header, row, strict=True))
    assert exported["monitoring"] == "'" + formula  # OWASP: a leading quote makes it text
    assert exported["automation"] == "'-2+3"
    assert exported["advanced"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert exported["insight"] == "'+ scaled to 3 replicas"
    assert exported["submitted_by"] == "'=1+1"
    assert (exported["submission"], exported["github_url"]) == (str(kept.id), "https://github.com/blue/ops")
    assert kept.answers["monitoring"] == formula  # kept as typed; only the export makes it text


async def test_pages_hold_a_few_submissions_newest_first(store: Store, team: Team) -> None:
    ids = [await add(store, team, 3, {"detected_at": "09:05"}, minute) for minute in range(PAGE_SIZE * 2 + 1)]
    submissions = service(store)
    first = await submissions.page(3)
    assert (first.page, first.pages, first.total) == (1, 3, PAGE_SIZE * 2 + 1)
    assert [s.id for s, _ in first.entries] == ids[::-1][:PAGE_SIZE]
    last = await submissions.page(3, 99)  # past the end: the last page
    assert (last.page, [s.id for s, _ in last.entries]) == (3, [ids[0]])
    empty = await submissions.page(2)
    assert (empty.entries, empty.page, empty.pages, empty.total) == ([], 1, 1, 0)
    with pytest.raises(UnknownChallenge):
        await submissions.page(9)
