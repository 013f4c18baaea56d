"""The 20-minute mark of a class: the jobs the scheduler plans for it, one post per team with its results and
the hints due with them (no team waiting for another's verification), a rerun of the mark after a restart,
a hint job that posts an earlier hint the automatic verification could not post, the diagnoses held
back until a scenario's hints are out, and a Korean class's posts, English only where they quote the cluster.

The real App against the Discord emulator and the emulated cluster (tests/discord/live.py); the jobs
are run by calling `ChallengeFlow.on_due` as the scheduler does when they come due.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.challenges import render
from bot.challenges.checks import Status
from bot.challenges.reports import CheckResult, ScenarioResult, StartReport, Trigger, VerifyReport
from bot.challenges.timeline import Due
from bot.i18n import Message
from bot.i18n import render as render_message
from bot.scheduler import planned
from bot.store import HintSource, Run, Verification
from tests.discord.live import Class, open_class, quiet, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.i18n import korean

AUTO_TITLE = "⏰ Automatic verification"


def titles(live: Class, team: str) -> list[str]:
    thread = thread_of(live, team)
    return [] if thread is None else [m.embeds[0]["title"] for m in live.discord.messages(thread) if m.embeds]


def posts(live: Class, team: str) -> list[list[str]]:
    """Each message in the team's thread, as the titles of its embeds."""
    thread = thread_of(live, team)
    return [] if thread is None else [[e["title"] for e in m.embeds] for m in live.discord.messages(thread)]


async def start(live: Class, *teams: str) -> list[StartReport]:
    reports = [await live.app.flow.start(team, 2) for team in teams]
    await live.discord.wait_until(lambda: all(thread_of(live, t) for t in teams), 10, "the run threads")
    return reports


async def test_the_scheduler_plans_no_job_for_hints_the_automatic_verification_posts(live_class: Class) -> None:
    live = live_class
    (report,) = await start(live, "blue")
    challenge = live.app.catalog.get(2)
    entries = planned(challenge, report.run)
    mark = report.run.started_at + challenge.spec.hints_after
    hints = [(e.scenario_id, e.level) for e in entries if e.due is Due.HINT]
    assert all(e.at > mark for e in entries if e.due is Due.HINT)
    assert sorted(hints) == sorted((s.id, level) for s in challenge.scenarios for level in (1, 2))
    assert [e.due for e in entries if e.due is not Due.HINT] == [Due.AUTO_VERIFY, Due.FINAL]
    assert len(live.app.scheduler.job_ids()) == len(entries) + 1  # and the final verification's retry


async def test_the_mark_is_one_post_per_team_and_no_team_waits_for_another(live_class: Class) -> None:
    live = live_class
    blue, red = await start(live, "blue", "red")
    live.clock.offset = timedelta(minutes=20)
    # Red's snapshot hangs: its automatic verification is still under way when blue's post is out.
    live.kube.hang(resource="pods", namespace="kubecamp-red")
    jobs = [asyncio.create_task(live.app.flow.on_due(r.run.id, Due.AUTO_VERIFY)) for r in (blue, red)]
    await live.discord.wait_until(lambda: posts(live, "blue"), 10, "blue's post")
    assert posts(live, "red") == []

    live.kube.clear_faults()
    await asyncio.gather(*jobs)
    await live.discord.wait_until(lambda: posts(live, "red"), 10, "red's post")
    await quiet(live)  # a second post would have arrived by now
    for report, team in ((blue, "blue"), (red, "red")):
        (post,) = posts(live, team)
        assert post[0].startswith(AUTO_TITLE)
        assert sorted(post[1:]) == sorted(f"💡 Hint 1/3 — {s.spec.title.en}" for s in live.app.catalog.get(2).scenarios)
        hints = await live.app.store.runs.hints_posted(report.run.id)
        assert len(hints) == 4 and {h.source for h in hints} == {HintSource.auto}
        status = await live.app.flow.runs.status(team)
        assert sum(status.hints_used.values()) == 0 and sum(status.hints_automatic.values()) == 4
    assert live.app.metrics.registry.get_sample_value("kubecamp_hints_posted_total", {"challenge": "2"}) == 8


async def test_the_mark_run_again_after_a_restart_posts_only_what_came_due_since(live_class: Class) -> None:
    live = live_class
    (report,) = await start(live, "blue")
    live.clock.offset = timedelta(minutes=20)
    await live.app.flow.on_due(report.run.id, Due.AUTO_VERIFY)
    # The bot was down from before the 30-minute hints until 45 minutes: every job of the run runs at once,
    # the mark's first.
    live.clock.offset = timedelta(minutes=45)
    await live.app.flow.on_due(report.run.id, Due.AUTO_VERIFY)
    posted = await live.app.store.runs.hints_posted(report.run.id)
    assert sorted((h.scenario_id, h.level) for h in posted) == sorted(
        (s.id, level) for s in live.app.catalog.get(2).scenarios for level in range(3)
    )
    await live.discord.wait_until(lambda: len(posts(live, "blue")) == 9, 10, "the mark and eight later hints")
    await quiet(live)
    assert sum(p[0].startswith(AUTO_TITLE) for p in posts(live, "blue")) == 1
    assert sorted(len(p) for p in posts(live, "blue")) == [1] * 8 + [5]


async def test_a_hint_job_posts_an_earlier_hint_still_unposted(live_class: Class) -> None:
    live = live_class
    (report,) = await start(live, "blue")
    live.clock.offset = timedelta(minutes=30)  # the automatic verification never ran (it failed)
    await live.app.flow.on_due(report.run.id, Due.HINT, "image-pull", 1)
    posted = await live.app.store.runs.hints_posted(report.run.id)
    assert sorted((h.scenario_id, h.level) for h in posted) == [("image-pull", 0), ("image-pull", 1)]
    await live.discord.wait_until(lambda: len(titles(live, "blue")) == 2, 10, "two hints")
    assert [("Hint 1/3" in t, "Hint 2/3" in t) for t in titles(live, "blue")] == [(True, False), (False, True)]


async def test_the_diagnosis_waits_for_the_last_hint_of_its_scenario(live_class: Class) -> None:
    live = live_class
    (report,) = await start(live, "blue")
    flow = live.app.flow
    challenge = live.app.catalog.get(2)
    live.clock.offset = timedelta(minutes=20)
    await flow.on_due(report.run.id, Due.AUTO_VERIFY)
    run = await live.app.store.runs.get(report.run.id)
    assert run is not None
    assert await flow.runs.diagnosed(run) == frozenset()
    # The mark's post names no diagnosis a check gave (once the checks give them).
    await live.discord.wait_until(lambda: posts(live, "blue"), 10, "the mark")
    (post,) = [m.embed_text() for m in live.discord.messages(thread_of(live, "blue"))]
    assert not any(diagnosis in post for diagnosis in await stored_diagnoses(live, run.id))
    # Nor one a result with a diagnosis would show: the footer says when it comes.
    built = requests_too_large(run)
    hidden = str(render.results(built, challenge, "en", diagnosed=await flow.runs.diagnosed(run))["embeds"])
    assert "cpu request 64 is too large" not in hidden
    assert "once every hint of its scenario is out" in hidden

    # 30 and 40 minutes: the later hints of unschedulable; its last one opens its diagnosis, and only its.
    for minutes, level in ((30, 1), (40, 2)):
        live.clock.offset = timedelta(minutes=minutes)
        await flow.on_due(run.id, Due.HINT, "unschedulable", level)
    assert await flow.runs.diagnosed(run) == frozenset({"unschedulable"})
    shown = str(render.results(built, challenge, "en", diagnosed=await flow.runs.diagnosed(run))["embeds"])
    assert "↳ 🔎 cpu request 64 is too large (at most 500m)" in shown

    def last_hint() -> list[str]:
        thread = live.discord.messages(thread_of(live, "blue"))
        return [m.embed_text() for m in thread if "Hint 3/3" in m.embed_text()]

    (last,) = await live.discord.wait_until(last_hint, 10, "the last hint")
    assert "from now on its verification results show the diagnosis too" in last


async def stored_diagnoses(live: Class, run_id: int) -> list[str]:
    """Every diagnosis the checks of the run's verifications gave, in English."""
    async with live.app.store.db.reading() as session:
        rows = await session.exec(select(Verification).where(Verification.run_id == run_id))
        return [
            render_message(Message.from_json(check["diagnosis"]), "en")
            for row in rows
            for result in row.results
            for check in result["checks"]
            if "diagnosis" in check
        ]


def requests_too_large(run: Run) -> VerifyReport:
    """A failing verification of unschedulable whose check gives a diagnosis, as the check library will:
    the pods' symptom, and the field and bound behind it."""
    check = CheckResult(
        "no_pending_pods",
        {"selector": "app=analytics"},
        Status.FAIL,
        Message(
            "check.no_pending_pods.fail", {"selector": "app=analytics", "count": 2, "problems": "Insufficient cpu"}
        ),
        diagnosis=Message("check.diagnosis.request", {"resource": "cpu", "requested": "64", "max": "500m"}),
    )
    result = ScenarioResult("unschedulable", (check,))
    return VerifyReport(run, Trigger.MANUAL, run.started_at, (result,), (), (), None, scenario_id="unschedulable")


async def test_the_korean_posts_quote_the_cluster_in_english_and_say_the_rest_in_korean(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder, language="ko") as live:
        (report,) = await start(live, "blue")
        live.clock.offset = timedelta(minutes=20)
        await live.app.flow.on_due(report.run.id, Due.AUTO_VERIFY)
        await live.app.flow.reveal_diagnosis(2, "blue", by="김강사")
        await live.app.flow.verify("blue")
        await live.discord.wait_until(lambda: len(posts(live, "blue")) == 3, 10, "the mark, the reveal, a verification")
        said = cluster_texts(live.kube, "kubecamp-blue")
        titles = [s.spec.title.ko for s in live.app.catalog.get(2).scenarios]  # the seed's, quoted
        for message in live.discord.messages(thread_of(live, "blue")):
            text = message.embed_text()
            # The scheduler's and the kubelet's own words stay as kubectl shows them; nothing else is English.
            runs = korean.english_sentences(text)
            assert [run for run in runs if not any(run in s for s in said)] == [], text
            own = text
            # (what the scheduler said, as the post quotes it: without what preemption found)
            for quoted in (*(s.split(" preemption: ")[0] for s in said), *runs, *titles):
                own = own.replace(quoted, "◇")
            assert korean.wrong_terms(own) == [] and korean.wrong_tone(own) == [], own
        (mark, _, verified) = [m.embed_text() for m in live.discord.messages(thread_of(live, "blue"))]
        for post in (mark, verified):
            assert post.count("Insufficient cpu") == 1  # the scheduler's message once per post
            assert "Pending — Unschedulable: 0/3 nodes are available" in post  # and the phase once before it
        assert "↳ 🔎 cpu 요청량 8, 최대 500m" in verified and "🔎" not in mark.replace("🔎 실패한 검사의 진단", "")


def cluster_texts(kube: KubeCluster, namespace: str) -> list[str]:
    """Every text the cluster wrote into the namespace's Pods' status and its Events."""
    texts: list[str] = []

    def collect(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for pod in kube.objects("pods", namespace):
        collect(pod.get("status"))
    for event in kube.events(namespace):
        collect(event.get("message"))
    return texts
