"""/grade give and /grade undo through real Discord payloads, on a class whose catalogue has a build."""

from __future__ import annotations

from pathlib import Path

from tests.discord.live import Class, answer, slash


async def test_an_instructor_grades_an_item_and_takes_it_back(build_class: Class) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    choices = await live.discord.autocomplete(
        live.room.guild, "alerts", "instructor", "grade", {"item": "rep"}, focused="item", subcommand="give"
    )
    assert [c["value"] for c in choices] == ["7/report"]

    given = await slash(
        live, "instructor", "alerts", "grade", "give", team="blue", item="report", points=3, reason="clear *analysis*"
    )
    text = given.text()
    assert text.startswith("Team blue, item 7/report: 3 points awarded (award #")
    assert "because: clear \\*analysis\\*" in text and text.endswith("The item now stands at 3/5.")
    [award] = await live.app.store.awards.of_team((await live.app.store.teams.get("blue")).id)  # type: ignore[union-attr]
    instructor = live.room.instructor
    assert (award.awarded_by, award.reason) == (str(instructor.id), "clear *analysis*")

    over = await slash(
        live, "instructor", "alerts", "grade", "give", team="blue", item="report", points=3, reason="more"
    )
    assert "at most 2 can be given" in over.text()
    never = await slash(live, "instructor", "alerts", "grade", "give", team="red", item="report", points=1, reason="x")
    assert "this team has never run challenge 7" in never.text()
    checked = await slash(live, "instructor", "alerts", "grade", "give", team="blue", item="web", points=1, reason="x")
    assert checked.text() == "item web is scored by verifying the cluster, not by an instructor"

    detail = await slash(live, "instructor", "alerts", "scoreboard", "rubric", challenge=7)
    text = detail.original.embed_text()
    assert "Required: 3/15 pts · bonus: 0/3 pts" in text
    assert (
        "✅ Report — 3/5 pts" in text
        and "⏳ Web service — 0/10 pts" in text
        and "⏳ web-service at 3 replicas — 0/3 pts · bonus" in text
    )
    student = await slash(live, "blue-1", "team-blue", "scoreboard", "rubric", challenge=7)
    assert student.text() == "Only instructors can do that."

    which = await slash(live, "instructor", "alerts", "grade", "undo", team="blue")
    assert which.text() == "Say which award to undo: an item or an award number, one of the two."
    undone = await slash(live, "instructor", "alerts", "grade", "undo", team="blue", item="report")
    assert undone.text() == (
        f"Team blue, item 7/report: award #{award.id} of 3 points is undone. The item now stands at 0/5."
    )
    again = await slash(live, "instructor", "alerts", "grade", "undo", team="blue", award=award.id)
    assert f"this team has no award #{award.id} to undo" in again.text()


async def test_only_instructors_grade(build_class: Class) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    # Discord offers /grade only to those who may manage the server; the owner may, but is no instructor.
    owner = await slash(
        live, "server-owner", "alerts", "grade", "give", team="blue", item="report", points=5, reason="x"
    )
    assert owner.text() == "Only instructors can do that."
    team = await live.app.store.teams.get("blue")
    assert team is not None and await live.app.store.awards.of_team(team.id) == []


async def test_a_build_run_through_discord(build_class: Class, tmp_path: Path) -> None:
    """Start a build (16 minutes ago: its second phase is due), read the briefing's rubric and phases, verify,
    follow the progress as the team builds and an instructor grades, and see the rubric on the scoreboard."""
    from datetime import timedelta

    from bot.challenges.catalog import load_catalog
    from bot.cluster import Cluster
    from tests.discord.live import thread_of

    live = build_class
    live.clock.offset = -timedelta(minutes=16)
    started = await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    assert "Challenge 7" in started
    live.clock.offset = timedelta(0)
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")
    thread = thread_of(live, "blue")
    # The thread starts from the briefing, which stands in the team's channel.
    (briefing,) = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
    text = briefing.embed_text()
    assert "streaming: `kubecamp-blue-streaming`" in text and "monitoring: `kubecamp-blue-monitoring`" in text
    assert "• Web service — 10 pts, verified on the cluster" in text
    assert "• Report — 5 pts, graded by an instructor" in text
    assert "• web-service at 3 replicas — 3 pts, command output pasted · bonus" in text
    assert "1. Design (15 min, from minute 0)" in text and "2. Build (75 min, from minute 15)" in text
    # The second phase began a minute ago: its reminder is in the thread, once.
    reminder = await live.discord.wait_for_message(thread, lambda m: "Phase 2/2: Build" in m.embed_text())
    assert "This phase takes 75 minutes. This is the last phase; the deadline is <t:" in reminder.embed_text()

    before = await slash(live, "blue-2", "team-blue", "challenge", "progress")
    text = before.original.embed_text()
    assert "Required: 0/15 pts · bonus: 0/3 pts" in text and "⏳ Web service — 0/10 pts" in text
    assert "Not verified yet" in text

    reference = load_catalog(tmp_path / "catalogue", solutions=True).get(7).reference
    assert reference is not None
    student = Cluster.for_host(live.kube.url, token="student")
    try:
        for manifest in reference["streaming"]:
            await student.apply("kubecamp-blue-streaming", manifest.body)
    finally:
        await student.close()
    live.kube.advance(60)
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "verify"))
    await answer(
        await slash(
            live, "instructor", "alerts", "grade", "give", team="blue", item="report", points=4, reason="a clear report"
        )
    )
    after = await slash(live, "blue-2", "team-blue", "challenge", "progress", challenge=7)
    text = after.original.embed_text()
    assert "Required: 14/15 pts · bonus: 0/3 pts" in text
    assert "✅ Web service — 10/10 pts" in text and "✅ Report — 4/5 pts" in text
    assert "⏳ web-service at 3 replicas — 0/3 pts · bonus" in text and "as of the latest verification, at 16:" in text
    reminders = [m for m in live.discord.messages(thread) if "Phase 2/2" in m.embed_text()]
    assert len(reminders) == 1


async def test_the_twenty_minute_mark_of_a_build_verifies_and_hints_its_failing_criteria(build_class: Class) -> None:
    from datetime import timedelta

    from tests.discord.live import thread_of

    live = build_class
    live.clock.offset = -timedelta(minutes=21)  # the mark (and the second phase) came while nobody looked
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    live.clock.offset = timedelta(0)
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")
    thread = thread_of(live, "blue")
    results = await live.discord.wait_for_message(thread, lambda m: "Automatic verification" in m.embed_text())
    text = results.embed_text()
    assert "❌ Web service" in text and "Deployment web does not exist yet" in text
    assert "Report" not in text  # a graded item is no check
    hint = await live.discord.wait_for_message(thread, lambda m: "Hint 1/1 — Web service" in m.embed_text())
    assert "Hint" in hint.embed_text()
    # The second phase began at 15 minutes, before the mark: its reminder is posted too, once.
    await live.discord.wait_for_message(thread, lambda m: "Phase 2/2: Build" in m.embed_text())
