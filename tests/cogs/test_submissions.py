"""/challenge submit on the challenge's own form, and /submissions list|export for instructors, in a
Korean class whose challenge 2 takes the course's streaming-ops hand-in and whose challenge 5 takes none."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.discord.live import REPO, Class, answer, open_class, slash
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.test_submissions import DOCS

ANSWERS = {
    "github_url": "https://github.com/blue/w3d5-streaming-ops-platform",
    "monitoring": "ServiceMonitor마다 Grafana 대시보드",
    "automation": "HPA CPU 70%",
    "advanced": "StreamingService CRD",
    "insight": "알림이 스레드가 됩니다",
}


def _catalogue(root: Path) -> Path:
    """The shipped scenarios; challenge 2 with the docs' streaming-ops form, challenge 5 with no form."""
    scenarios = root / "catalogue"
    shutil.copytree(REPO / "scenarios", scenarios)
    example = re.search(r"<!-- submission-example:start -->\n```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert example
    for folder, form in (("challenge-2", yaml.safe_load(example.group(1))["submission"]), ("challenge-5", None)):
        path = scenarios / folder / "challenge.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["submission"] = form
        if form is None:
            del doc["submission"]
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return scenarios


@pytest.fixture
async def korean_class(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> AsyncIterator[Class]:
    async with open_class(
        discord_emulator,
        discord_classroom,
        kube_cluster,
        class_folder,
        scenarios_dir=_catalogue(class_folder),
        language="ko",
    ) as live:
        yield live


def _inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for top in modal["components"]:
        found += top.get("components") or ([top["component"]] if "component" in top else [])
    return found


def _seoul(live: Class, later: timedelta = timedelta(0)) -> str:
    return (live.clock() + later).astimezone(ZoneInfo("Asia/Seoul")).strftime("%H:%M")


async def test_the_active_runs_challenge_takes_its_form_word_for_word(korean_class: Class) -> None:
    live = korean_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    form = await slash(live, "blue-1", "team-blue", "challenge", "submit")
    assert form.modal is not None and form.modal["title"] == "Challenge 2 제출"
    assert [(i["custom_id"], i["label"], i.get("placeholder"), i["style"]) for i in _inputs(form.modal)] == [
        ("github_url", "GitHub", "https://github.com/<팀>/w3d5-streaming-ops-platform", 1),
        ("monitoring", "모니터링 특징", "Prometheus/Grafana 구성 포인트", 2),
        ("automation", "자동화 특징", "HPA/VPA 설정 포인트", 2),
        ("advanced", "고급 기능", "CRD/Operator 구현 여부", 2),
        ("insight", "운영 인사이트", "가장 인상적인 운영 기능", 2),
    ]

    before = _seoul(live)
    echoed = await live.discord.submit_modal(form, {**ANSWERS, "github_url": ANSWERS["github_url"] + ".git"})
    after = _seoul(live)

    def course_format(time: str) -> str:  # the seed's Discord 제출 형식, filled in
        return "\n".join(
            [
                "📝 **Challenge 2 제출**",
                "**팀명**: blue",
                f"**GitHub**: {ANSWERS['github_url']}",
                f"**완료 시간**: {time}",
                f"**모니터링 특징**: {ANSWERS['monitoring']}",
                f"**자동화 특징**: {ANSWERS['automation']}",
                f"**고급 기능**: {ANSWERS['advanced']}",
                f"**운영 인사이트**: {ANSWERS['insight']}",
            ]
        )

    assert echoed.text() in {course_format(before), course_format(after)}
    assert not echoed.ephemeral  # the team's channel sees what was handed in
    blue = await live.app.store.teams.get("blue")
    assert blue is not None
    [kept] = await live.app.store.submissions.of_team(blue.id, 2)
    assert kept.answers["github_url"] == ANSWERS["github_url"] and kept.run_id is not None

    again = await slash(live, "blue-2", "team-blue", "challenge", "submit", challenge=2)
    bad = await live.discord.submit_modal(again, {**ANSWERS, "github_url": "https://gitlab.com/blue/ops"})
    assert bad.ephemeral
    assert (
        bad.text() == "제출 내용을 확인하세요 — GitHub: https://github.com/팀/저장소 형식의 Repository URL이어야 합니다"
    )
    assert len(await live.app.store.submissions.of_team(blue.id, 2)) == 1

    none = await slash(live, "blue-1", "team-blue", "challenge", "submit", challenge=5)
    assert none.ephemeral and none.modal is None
    assert none.text() == (
        "제출 양식이 없는 챌린지입니다 (Challenge 5). 이 챌린지는 제출을 받지 않으니 제출할 내용은 강사에게 문의하세요."
    )
    choices = await live.discord.autocomplete(
        live.room.guild,
        "team-blue",
        "blue-1",
        "challenge",
        {"challenge": "5"},
        focused="challenge",
        subcommand="submit",
    )
    assert [c["value"] for c in choices] == [5, 51, 52, 53]  # every challenge whose id holds a 5


async def test_instructors_list_and_export_the_submissions(korean_class: Class) -> None:
    live = korean_class
    for user, channel in (("blue-1", "team-blue"), ("red-1", "team-red")):
        form = await slash(live, user, channel, "challenge", "submit", challenge=2)
        team = channel.removeprefix("team-")
        await live.discord.submit_modal(form, {**ANSWERS, "github_url": f"https://github.com/{team}/ops"})

    with pytest.raises(PermissionError, match="does not offer it"):  # Discord hides the group from students
        await slash(live, "blue-1", "team-blue", "submissions", "list")

    owner = await slash(live, "server-owner", "alerts", "submissions", "export")  # no instructor role
    assert owner.text() == "강사만 사용할 수 있습니다."
    listed = await slash(live, "instructor", "alerts", "submissions", "list")
    assert listed.ephemeral
    [embed] = listed.messages[0].embeds
    assert embed["title"] == "📝 제출물 — 모든 챌린지"
    assert [f["name"] for f in embed["fields"]] == ["#2 · Challenge 2 · red", "#1 · Challenge 2 · blue"]
    assert "**GitHub**: https://github.com/red/ops" in embed["fields"][0]["value"]
    assert f"**운영 인사이트**: {ANSWERS['insight']}" in embed["fields"][0]["value"]
    assert embed["footer"]["text"] == "1/1쪽 · 모두 2건 · 최신순"
    empty = await slash(live, "instructor", "alerts", "submissions", "list", challenge=5)
    assert empty.messages[0].embeds[0]["description"] == "아직 제출물이 없습니다."

    exported = await slash(live, "instructor", "alerts", "submissions", "export", challenge=2)
    assert exported.ephemeral
    (attachment,) = exported.original.attachments
    assert attachment.filename == "submissions-2.csv"
    table = list(csv.reader(io.StringIO(attachment.data.decode("utf-8-sig"))))
    assert table[0][7:] == ["github_url", "completion_time", "monitoring", "automation", "advanced", "insight"]
    assert [(row[2], row[7]) for row in table[1:]] == [
        ("red", "https://github.com/red/ops"),
        ("blue", "https://github.com/blue/ops"),
    ]
