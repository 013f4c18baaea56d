"""/challenge evidence through real Discord payloads: a team pastes a command's output for a build's rubric item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.scoreboard import Scoreboard
from tests.challenges.test_catalog_build import write_build
from tests.discord.live import Class, answer, open_class, slash
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.test_evidence_submissions import SCALED, SCALING


def _input(modal: dict[str, Any]) -> dict[str, Any]:
    [row] = modal["components"]
    [text_input] = row.get("components") or [row["component"]]
    return dict(text_input)


async def _pastes(live: Class, team: str) -> list[Any]:
    found = await live.app.store.teams.get(team)
    assert found is not None
    return await live.app.store.evidence.of_team(found.id)


async def test_a_team_pastes_evidence_and_its_points_count(build_class: Class) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    choices = await live.discord.autocomplete(
        live.room.guild, "team-blue", "blue-1", "challenge", {"item": "swarm"}, focused="item", subcommand="evidence"
    )
    assert [c["value"] for c in choices] == ["7/swarm-scaled"]

    form = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="swarm-scaled")
    assert form.modal is not None and form.modal["title"] == "Evidence: swarm-scaled"
    text_input = _input(form.modal)
    assert (text_input["label"], text_input["style"], text_input["max_length"], text_input["required"]) == (
        "web-service at 3 replicas",
        2,
        4000,
        True,
    )
    assert text_input["placeholder"] == "paste the output of docker service ls as printed, header line included"

    # Garbage: answered with what is missing, nothing kept.
    garbage = await live.discord.submit_modal(form, {"output": "permission denied while trying to connect"})
    assert garbage.ephemeral
    assert garbage.text() == (
        "❌ web-service at 3 replicas: not passed yet. no `docker service ls` table in the pasted text: paste its "
        "output as printed, header line (NAME, REPLICAS) included.\nNothing was recorded: fix it and paste the "
        "output again."
    )
    # A table that is not there yet: each unmet requirement listed, nothing kept.
    form = await slash(live, "blue-2", "team-blue", "challenge", "evidence", item="7/swarm-scaled")
    scaling = await live.discord.submit_modal(form, {"output": SCALING})
    lines = scaling.text().split("\n")
    assert lines[0].startswith("❌ web-service at 3 replicas: not passed yet. service web-service: replicas 4/6")
    assert lines[1] == "- replicas 4/6, expected 3/3" and lines[-1].startswith("Nothing was recorded")
    assert await _pastes(live, "blue") == []
    before = await slash(live, "blue-1", "team-blue", "challenge", "progress")
    assert "⏳ web-service at 3 replicas — 0/3 pts · bonus" in before.original.embed_text()

    # The real output: passed, kept with who pasted it, and its points count.
    form = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="swarm-scaled")
    passed = await live.discord.submit_modal(form, {"output": SCALED})
    [kept] = await _pastes(live, "blue")
    assert passed.ephemeral
    assert passed.text() == (
        "✅ web-service at 3 replicas: passed. service web-service: replicas 3/3, image improved-app:latest\n"
        f"3 points count for it (record #{kept.id})."
    )
    assert (kept.item, kept.parser, kept.text) == ("swarm-scaled", "docker-service-ls", SCALED)
    assert kept.submitted_by == str(live.room.students["blue"][0].id)
    after = await slash(live, "blue-2", "team-blue", "challenge", "progress")
    text = after.original.embed_text()
    assert "✅ web-service at 3 replicas — 3/3 pts · bonus" in text and "bonus: 3/3 pts" in text
    [blue] = [
        row for row in await Scoreboard(store=live.app.store, catalog=live.app.catalog).ranking(7) if row.team == "blue"
    ]
    assert (blue.points, blue.rubric_points) == (3, 3)
    board = await slash(live, "blue-1", "team-blue", "scoreboard", "show", challenge=7)
    assert "3 pts" in board.original.embed_text()


async def test_who_may_paste_and_for_what(build_class: Class) -> None:
    live = build_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
    outsider = await slash(live, "server-owner", "alerts", "challenge", "evidence", item="swarm-scaled")
    assert outsider.modal is None
    assert outsider.text() == "You are not in a team yet. Ask an instructor for your team's role (/team link)."
    no_run = await slash(live, "red-1", "team-red", "challenge", "evidence", item="swarm-scaled")
    assert no_run.modal is None and no_run.text() == (
        "this team has not run challenge 7, so evidence for swarm-scaled cannot be taken: start the challenge first"
    )
    acting = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="swarm-scaled", team="red")
    assert acting.modal is None and acting.text() == "Only instructors can do that."
    checked = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="web")
    assert checked.text() == "item web is scored by verifying the cluster: use /challenge verify"
    graded = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="report")
    assert graded.text() == "item report is graded by an instructor: there is no command output to paste for it"
    unknown = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="swarm")
    assert unknown.text() == "no such item proven by a command's output: swarm. Items proven that way: 7/swarm-scaled"
    assert await _pastes(live, "blue") == [] and await _pastes(live, "red") == []


async def test_an_instructor_pastes_for_a_team_whose_run_is_over_and_it_survives_a_restart(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    write_build(class_folder / "catalogue")
    catalogue = class_folder / "catalogue"
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, scenarios_dir=catalogue
    ) as live:
        await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=7))
        await answer(await slash(live, "blue-1", "team-blue", "challenge", "stop"))
        late = await slash(live, "blue-1", "team-blue", "challenge", "evidence", item="swarm-scaled")
        assert late.text() == (
            "this team's run of challenge 7 is over, so evidence for swarm-scaled is no longer taken: ask an instructor"
        )
        form = await slash(live, "instructor", "alerts", "challenge", "evidence", item="swarm-scaled", team="blue")
        passed = await live.discord.submit_modal(form, {"output": SCALED})
        assert passed.text().startswith("✅ web-service at 3 replicas: passed.")
    async with open_class(
        discord_emulator, discord_classroom, kube_cluster, class_folder, scenarios_dir=catalogue, create_teams=False
    ) as live:
        [kept] = await _pastes(live, "blue")
        assert kept.submitted_by == str(live.room.instructor.id)
        progress = await slash(live, "instructor", "alerts", "challenge", "progress", team="blue")
        assert "✅ web-service at 3 replicas — 3/3 pts · bonus" in progress.original.embed_text()
