"""A class in Discord, end to end: the real App (store, cluster, outbox, scheduler, bot) against the
Discord emulator and the emulated cluster.

`/challenge start 2` → namespace and manifests applied, a thread with the briefing; the clock
passes 20 minutes → results and hints posted once, in one post; fixes applied → `/challenge verify` → all ✅,
the run finished with tier and points; the scoreboard, its CSV and its chart; the submission modal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.discord.live import Class, answer, quiet, slash, thread_of
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student

pytestmark = pytest.mark.every_database


async def test_a_class_from_start_to_scoreboard(live_class: Class) -> None:
    live = live_class
    # The team started 19 min 57 s ago, so the 20-minute mark comes within the test.
    live.clock.offset = -timedelta(minutes=20) + timedelta(seconds=3)
    started = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2)
    assert "Challenge 2 started" in await answer(started)  # the start has happened once it answers
    live.clock.offset = timedelta(0)
    assert started.ephemeral
    assert live.kube.get("deployments", "kubecamp-blue", "frontend") is not None

    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the run's thread")
    thread = thread_of(live, "blue")
    # The thread starts from the briefing, which stands in the team's channel.
    (briefing,) = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
    assert briefing.embeds[0]["title"] == "🚨 Challenge 2: Deployment disaster"
    assert "Image deployment failure" in briefing.embed_text()

    again = await slash(live, "blue-2", "team-blue", "challenge", "start", challenge=2)
    assert "team blue already has challenge 2 running" in await answer(again)

    # The 20-minute mark: results and the first hint of every failing scenario, once, in one post.
    def posted() -> list[str]:
        return [m.embeds[0]["title"] for m in live.discord.messages(thread) if m.embeds]

    await live.discord.wait_until(posted, 15, "the 20-minute mark")
    await quiet(live)  # a second post would have arrived by now
    (mark,) = live.discord.messages(thread)
    titles = [e["title"] for e in mark.embeds]
    assert titles[0].startswith("⏰ Automatic verification")
    assert sum("Hint 1/" in t for t in titles[1:]) == len(titles) - 1 == 4
    # Each reason once: the scheduler's message for analytics' pending pods stands in its field once.
    (unschedulable,) = [f["value"] for f in mark.embeds[0]["fields"] if "insufficient resources" in f["name"]]
    assert unschedulable.count("Insufficient cpu") == 1 and "as above" in unschedulable
    assert "Pending — Unschedulable: 0/3 nodes are available" in unschedulable  # the phase named once

    # The team fixes everything and verifies.
    from bot.cluster import Cluster

    student = Cluster.for_host(live.kube.url, token="student")
    try:
        await student.ensure_namespace("kubecamp-blue", team="blue")
        for scenario in CATALOG.get(2).scenarios:
            await apply_like_a_student(student, scenario)
    finally:
        await student.close()
    verified = await slash(live, "blue-2", "team-blue", "challenge", "verify")
    text = await answer(verified)
    assert "4 of 4 pass" in text and "tier 100%" in text and "100/100 points" in text
    await live.discord.wait_until(lambda: any("complete!" in t for t in posted()), 10, "the end of the run")

    board = await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)
    assert "🥇 **blue** — 100 pts" in board.original.embed_text()

    refused = await slash(live, "blue-1", "team-blue", "scoreboard", "export")
    assert refused.text() == "Only instructors can do that."
    exported = await slash(live, "instructor", "alerts", "scoreboard", "export", challenge=2)
    (csv_file,) = exported.original.attachments
    row = csv_file.data.decode("utf-8-sig").splitlines()[1].split(",")
    assert row[:3] == ["1", "blue", "100"]
    assert (row[5], row[8]) == ("0", "4")  # hints used; the four of the 20-minute mark came on their own

    chart = await slash(live, "instructor", "alerts", "scoreboard", "chart", challenge=2)
    await chart.wait_followups(1)
    (png,) = chart.followups[0].attachments
    assert png.data.startswith(b"\x89PNG")

    form = await slash(live, "blue-1", "team-blue", "challenge", "submit", challenge=2)
    assert form.modal is not None
    echoed = await live.discord.submit_modal(
        form,
        {
            "Root cause analysis": "frontend: image tag typo nginx:1.27-alpinee",
            "How you fixed it": "kubectl set image deployment/frontend",
            "Prevention": "check tags in CI before deploying",
        },
    )
    assert "**Root cause analysis**: frontend: image tag typo nginx:1.27-alpinee" in echoed.text()
    assert "**Bonus challenges**: -" in echoed.text()
    team = await live.app.store.teams.get("blue")
    assert team is not None and len(await live.app.store.submissions.of_team(team.id, 2)) == 1

    # What Prometheus sees of this class.
    def counted(name: str, **labels: str) -> float | None:
        return live.app.metrics.registry.get_sample_value(name, {"challenge": "2", **labels})

    assert counted("kubecamp_hints_posted_total") == 4
    assert counted("kubecamp_scenarios_solved_total") == 4
    assert counted("kubecamp_challenge_runs_finished_total", outcome="finished") == 1
    assert counted("kubecamp_submissions_total") == 1


async def test_permissions_and_bad_input_change_nothing(live_class: Class) -> None:
    live = live_class
    other_team = await slash(live, "red-1", "team-red", "challenge", "start", challenge=2, team="blue")
    assert other_team.text() == "Only instructors can do that."
    no_team = await slash(live, "instructor", "alerts", "challenge", "start", challenge=2)
    assert no_team.text().startswith("You are not in a team yet.")
    unknown = await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=9)
    assert "There is no challenge 9" in await answer(unknown)
    assert live.kube.get("namespaces", None, "kubecamp-blue") is None
    team = await live.app.store.teams.get("blue")
    assert team is not None and await live.app.store.runs.of_team(team.id) == []

    for_red = await slash(live, "instructor", "alerts", "challenge", "start", challenge=2, team="red")
    assert "Challenge 2 started" in await answer(for_red)

    form = await slash(live, "red-1", "team-red", "challenge", "submit", challenge=2)
    bad = await live.discord.submit_modal(
        form,
        {"root_cause": "r", "fix": "f", "prevention": "p", "github_url": "https://gitlab.com/red/ops"},
    )
    assert bad.ephemeral and "GitHub: expected a repository URL like https://github.com/team/repository" in bad.text()
    red = await live.app.store.teams.get("red")
    assert red is not None and await live.app.store.submissions.of_team(red.id, 2) == []

    with pytest.raises(PermissionError):  # Discord does not even offer instructor commands to students
        await slash(live, "blue-1", "team-blue", "submissions", "export")
    # /team holds /team kubeconfig for the teams, so Discord offers the group; the rest refuses students.
    create = {"name": "x", "role": live.room.team_roles["blue"], "channel": live.room.alerts}
    for sub, options in (("list", {}), ("remove", {"name": "red"}), ("create", create)):
        refused = await slash(live, "blue-1", "team-blue", "team", sub, **options)
        assert refused.ephemeral and refused.text() == "Only instructors can do that.", sub
    assert {t.name for t in await live.app.store.teams.all()} == {"blue", "red"}
