"""The 20-minute mark of a class: the jobs the scheduler plans for it, results before hints across teams
(and none for a run that ended meanwhile), and a hint job that posts an earlier hint the automatic
verification could not post.

The real App against the Discord emulator and the emulated cluster (tests/discord/live.py); the jobs
are run by calling `ChallengeFlow.on_due` as the scheduler does when they come due.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.challenges.runs import Due, StartReport
from bot.scheduler import planned
from tests.discord.live import Class, thread_of

AUTO_TITLE = "⏰ Automatic verification"


def titles(live: Class, team: str) -> list[str]:
    thread = thread_of(live, team)
    return [] if thread is None else [m.embeds[0]["title"] for m in live.discord.messages(thread) if m.embeds]


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
    assert len(live.app.scheduler.job_ids()) == len(entries)


async def test_every_team_gets_its_results_before_any_team_gets_hints(live_class: Class) -> None:
    live = live_class
    blue, red = await start(live, "blue", "red")
    live.clock.offset = timedelta(minutes=20)
    # Red's snapshot hangs: its automatic verification is still under way after blue's results are out.
    live.kube.hang(resource="pods", namespace="kubecamp-red")
    jobs = [asyncio.create_task(live.app.flow.on_due(r.run.id, Due.AUTO_VERIFY)) for r in (blue, red)]
    await live.discord.wait_until(lambda: AUTO_TITLE in "".join(titles(live, "blue")), 10, "blue's results")
    await asyncio.sleep(0.5)  # blue's hints would have been recorded by now
    assert await live.app.store.hints_posted(blue.run.id) == []

    live.kube.clear_faults()
    await asyncio.gather(*jobs)
    for report, team in ((blue, "blue"), (red, "red")):
        assert len(await live.app.store.hints_posted(report.run.id)) == 4
        await live.discord.wait_until(lambda t=team: sum("Hint 1/" in x for x in titles(live, t)) == 4, 10, "hints")
        assert titles(live, team)[0].startswith(AUTO_TITLE)  # the thread's first post, before the hints
    results = [await live.app.store.get_outbox(f"run:{r.run.id}:auto") for r in (blue, red)]
    first_hint = await live.app.store.get_outbox(f"run:{blue.run.id}:hint:image-pull:0")
    assert first_hint is not None and all(entry is not None and entry.id < first_hint.id for entry in results)


async def test_a_hint_job_posts_an_earlier_hint_still_unposted(live_class: Class) -> None:
    live = live_class
    (report,) = await start(live, "blue")
    live.clock.offset = timedelta(minutes=30)  # the automatic verification never ran (it failed)
    await live.app.flow.on_due(report.run.id, Due.HINT, "image-pull", 1)
    posted = await live.app.store.hints_posted(report.run.id)
    assert sorted((h.scenario_id, h.level) for h in posted) == [("image-pull", 0), ("image-pull", 1)]
    await live.discord.wait_until(lambda: len(titles(live, "blue")) == 2, 10, "two hints")
    assert [("Hint 1/3" in t, "Hint 2/3" in t) for t in titles(live, "blue")] == [(True, False), (False, True)]


async def test_a_run_stopped_while_its_hints_wait_gets_none(live_class: Class) -> None:
    live = live_class
    blue, red = await start(live, "blue", "red")
    live.clock.offset = timedelta(minutes=20)
    live.kube.hang(resource="pods", namespace="kubecamp-red")  # red's verification holds everyone's hints
    jobs = [asyncio.create_task(live.app.flow.on_due(r.run.id, Due.AUTO_VERIFY)) for r in (blue, red)]
    await live.discord.wait_until(lambda: AUTO_TITLE in "".join(titles(live, "blue")), 10, "blue's results")
    await live.app.flow.stop("blue")

    live.kube.clear_faults()
    await asyncio.gather(*jobs)
    assert await live.app.store.hints_posted(blue.run.id) == []
    assert len(await live.app.store.hints_posted(red.run.id)) == 4
