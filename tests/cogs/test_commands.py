"""Each command group through real Discord payloads (the emulator builds them as Discord does)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import discord
import pytest
import yaml
from discord import app_commands
from kubernetes.aio import client as k8s
from kubernetes.aio import config as k8s_config
from kubernetes.aio.client.exceptions import ApiException

from bot.challenges.flow import ChallengeFlow
from bot.cluster import Cluster
from bot.discord.client import COGS, KubecampBot, Services
from bot.discord.translator import CatalogueTranslator
from bot.markup import stamp
from tests.discord.live import Class, answer, open_class, quiet, slash, thread_of
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom
from tests.emulators.kube import KubeCluster
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student


async def test_every_cog_loads_and_no_command_name_repeats(live_class: Class) -> None:
    tree = live_class.app.bot.tree
    top = [command.name for command in tree.get_commands()]
    assert sorted(top) == ["admin", "challenge", "grade", "incidents", "scoreboard", "submissions", "team"]
    assert len(set(top)) == len(top)
    for group in tree.get_commands():
        assert isinstance(group, app_commands.Group)
        names = [sub.name for sub in group.commands]
        assert len(set(names)) == len(names), group.name
    assert {ext.split(".")[-1] for ext in live_class.app.bot.extensions} == {c.split(".")[-1] for c in COGS}


async def test_descriptions_are_translated_to_korean(live_class: Class) -> None:
    translator = CatalogueTranslator()
    for group in live_class.app.bot.tree.get_commands():
        assert isinstance(group, app_commands.Group)
        for command in group.commands:
            text = await translator.translate(
                command._locale_description,  # the locale_str the cog declared
                discord.Locale.korean,
                app_commands.TranslationContext(app_commands.TranslationContextLocation.command_description, command),
            )
            assert text and any("가" <= ch <= "힣" for ch in text), command.qualified_name


async def test_team_commands(live_class: Class) -> None:
    live = live_class
    created = await slash(
        live,
        "instructor",
        "alerts",
        "team",
        "create",
        name="green",
        role=live.room.team_roles["blue"],
        channel=live.room.alerts,
    )
    assert "is already linked to team blue" in await answer(created)  # blue's role is taken
    assert live.kube.get("namespaces", None, "kubecamp-green") is None
    green_role = live.discord.add_role(live.room.guild, "team-green")
    created = await slash(
        live, "instructor", "alerts", "team", "create", name="Green", role=green_role, channel=live.room.alerts
    )
    said = await answer(created)
    assert "Team green" in said and "kubecamp-green" in said
    # The namespace is there at once, set up, with the team's ServiceAccount bound to the team-access role.
    namespace = live.kube.get("namespaces", None, "kubecamp-green")
    assert namespace is not None and namespace["metadata"]["labels"]["kubecamp.io/team"] == "green"
    assert live.kube.get("serviceaccounts", "kubecamp", "kubecamp-green") is not None
    binding = live.kube.get("rolebindings", "kubecamp-green", "kubecamp-team-access")
    assert binding is not None and binding["subjects"][0]["name"] == "kubecamp-green"
    listed = await answer(await slash(live, "instructor", "alerts", "team", "list"))
    assert "**green**" in listed and "**blue**" in listed
    linked = await slash(
        live, "instructor", "alerts", "team", "link", name="green", channel=live.room.team_channels["red"]
    )
    assert f"<#{live.room.team_channels['red'].id}>" in linked.text()
    removed = await slash(live, "instructor", "alerts", "team", "remove", name="green")
    assert await answer(removed) == "Team green is removed."
    assert live.kube.get("serviceaccounts", "kubecamp", "kubecamp-green") is None, "its kubeconfigs are revoked"
    bad = await slash(
        live, "instructor", "alerts", "team", "create", name="Bad Name!", role=green_role, channel=live.room.alerts
    )
    assert (await answer(bad)).startswith("Please check the input: team name 'bad name!'")
    assert {t.name for t in await live.app.store.teams.all()} == {"blue", "red"}


async def test_a_team_member_gets_the_teams_kubeconfig_for_their_eyes_only(
    live_class: Class, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = live_class
    caplog.set_level(logging.DEBUG)
    got = await slash(live, "blue-1", "team-blue", "team", "kubeconfig")
    said = await answer(got)
    assert got.ephemeral and "kubeconfig for namespace kubecamp-blue, valid until <t:" in said
    [message] = got.messages
    assert message.ephemeral
    [attachment] = message.attachments
    assert attachment.filename == "kubecamp-blue.kubeconfig"
    config = yaml.safe_load(attachment.data)
    assert config["contexts"][0]["context"]["namespace"] == "kubecamp-blue"
    token = config["users"][0]["user"]["token"]
    shown = [m for m in live.discord.messages(live.room.team_channels["blue"]) if not m.ephemeral]
    assert shown == [], "nothing said in the team's channel"

    # A valid kubeconfig: the official client loads it and works in the team's namespace, and only there.
    (tmp_path / "blue.kubeconfig").write_bytes(attachment.data)
    configuration = k8s.Configuration()
    await k8s_config.load_kube_config(
        config_file=str(tmp_path / "blue.kubeconfig"), client_configuration=configuration, persist_config=False
    )
    async with k8s.ApiClient(configuration) as api:
        assert (await k8s.CoreV1Api(api).list_namespaced_config_map("kubecamp-blue")).items
        with pytest.raises(ApiException) as other:
            await k8s.CoreV1Api(api).list_namespaced_pod("kubecamp-red")
        assert other.value.status == 403

    # Only for one's own team; an instructor for any.
    refused = await slash(live, "blue-1", "team-blue", "team", "kubeconfig", team="red")
    assert refused.ephemeral and refused.text() == "Only instructors can do that."
    assert refused.messages[0].attachments == []
    outsider = await slash(live, "server-owner", "alerts", "team", "kubeconfig")
    assert outsider.text().startswith("You are not in a team yet.")
    for_red = await slash(live, "instructor", "alerts", "team", "kubeconfig", team="red")
    assert "namespace kubecamp-red" in await answer(for_red)
    [red_file] = for_red.messages[0].attachments
    assert yaml.safe_load(red_file.data)["contexts"][0]["context"]["namespace"] == "kubecamp-red"

    # The token went nowhere else: no log record, nothing in the store.
    for record in caplog.records:
        assert token not in record.getMessage(), record
    database = live.app.settings.store.data_dir / "kubecamp.db"
    for stored in database.parent.glob("kubecamp.db*"):  # the database and its write-ahead log
        assert token.encode() not in stored.read_bytes(), stored


async def test_status_hint_and_stop(live_class: Class) -> None:
    live = live_class
    live.clock.offset = -timedelta(minutes=25)  # started 25 minutes ago: the 20-minute jobs are overdue
    await answer(await slash(live, "red-1", "team-red", "challenge", "start", challenge=2))
    live.clock.offset = timedelta(0)
    await live.discord.wait_until(lambda: thread_of(live, "red"), 10, "the thread")

    def first_hints() -> int:
        return sum(m.embed_text().count("Hint 1/") for m in live.discord.messages(thread_of(live, "red")))

    await live.discord.wait_until(lambda: first_hints() == 4, 10, "the overdue first hints")
    status = await slash(live, "red-2", "team-red", "challenge", "status")
    text = status.original.embed_text()
    assert "Elapsed" in text and "Remaining" in text and "Image deployment failure" in text
    assert text.count("hints used: 0 · automatic hints: 1") == 4  # the mark's hints are not hints used
    assert "diagnosis shown" not in text
    hint = await slash(live, "red-2", "team-red", "challenge", "hint", scenario="image-pull")
    assert hint.text().startswith("The next hint opens at <t:")  # hint 2 comes at 30 minutes
    live.clock.offset = timedelta(minutes=5)  # 30 minutes in, before the scheduler's job for hint 2 runs
    hint = await slash(live, "red-2", "team-red", "challenge", "hint", scenario="image-pull")
    assert hint.text() == f"Hint 2 of image-pull is posted in <#{thread_of(live, 'red').id}>."
    await live.discord.wait_for_message(
        thread_of(live, "red"), lambda m: "asked for by Red Student 2" in m.embed_text()
    )
    status = await slash(live, "red-2", "team-red", "challenge", "status")
    assert "hints used: 1 · automatic hints: 1" in status.original.embed_text()
    board = await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)
    assert "hints used: 1" in board.original.embed_text()
    unknown = await slash(live, "red-2", "team-red", "challenge", "hint", scenario="nope")
    assert unknown.text() == "This challenge has no scenario 'nope'."
    choices = await live.discord.autocomplete(
        live.room.guild, "team-red", "red-2", "challenge", {"scenario": "ima"}, focused="scenario", subcommand="hint"
    )
    assert [c["value"] for c in choices] == ["image-pull"]
    stopped = await slash(live, "red-1", "team-red", "challenge", "stop")
    assert "gave up challenge 2" in await answer(stopped)
    assert live.kube.objects("deployments", "kubecamp-red") == []
    again = await slash(live, "red-1", "team-red", "challenge", "status")
    assert again.text().startswith("Team 'red' has no challenge running.")


async def test_an_instructor_ends_a_run_whose_namespace_was_deleted(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "red-1", "team-red", "challenge", "start", challenge=2))
    async with live.kube.api_client() as api:
        await k8s.CoreV1Api(api).delete_namespace("kubecamp-red")
    stopped = await slash(live, "instructor", "alerts", "challenge", "stop", team="red")
    assert await answer(stopped) == (
        "Challenge 2 of team red is ended. The team's namespace (kubecamp-red) was already deleted, "
        "so there was nothing to remove; starting again creates it anew."
    )
    again = await slash(live, "red-1", "team-red", "challenge", "status")
    assert again.text().startswith("Team 'red' has no challenge running.")


async def test_admin_commands(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "instructor", "alerts", "challenge", "start", challenge=2, team="blue"))
    run = await live.app.store.runs.active((await live.app.store.teams.get("blue")).id)  # type: ignore[union-attr]
    assert run is not None
    extended = await slash(live, "instructor", "alerts", "admin", "extend", team="blue", minutes=15)
    assert "Team blue has 15 more minutes" in extended.text()
    later = await live.app.store.runs.get(run.id)
    assert later is not None and later.deadline - run.deadline == timedelta(minutes=15)

    revealed = await slash(live, "instructor", "alerts", "admin", "reveal-hint", team="blue", scenario="node-affinity")
    assert revealed.text() == "Hint 1 of node-affinity is revealed to team blue."
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")
    thread = thread_of(live, "blue")
    await live.discord.wait_until(
        lambda: any("revealed by instructor" in m.embed_text() for m in live.discord.messages(thread)), 10, "the hint"
    )

    announced = await slash(live, "instructor", "alerts", "admin", "announce", message="10 minutes left!")
    assert announced.text() == "The announcement goes to the team channels (2)."
    for team in ("blue", "red"):
        await live.discord.wait_for_message(live.room.team_channels[team], lambda m: m.content == "📢 10 minutes left!")

    with pytest.raises(PermissionError):
        await slash(live, "blue-1", "team-blue", "admin", "extend", team="blue", minutes=5)


async def test_admin_extend_tells_the_team_and_moves_the_deadline_in_the_briefing(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "instructor", "alerts", "challenge", "start", challenge=2, team="blue"))
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")
    thread = thread_of(live, "blue")
    (briefing,) = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
    run = await live.app.store.runs.active((await live.app.store.teams.get("blue")).id)  # type: ignore[union-attr]
    assert run is not None and stamp(run.deadline) in str(briefing.content)

    for minutes in (15, 5):
        await slash(live, "instructor", "alerts", "admin", "extend", team="blue", minutes=minutes)
    await quiet(live)
    deadline = run.deadline + timedelta(minutes=20)
    notices = [str(m.content) for m in live.discord.messages(thread) if "more minutes" in str(m.content)]
    assert notices == [
        f"⏱️ An instructor gave your team 15 more minutes. New deadline: {stamp(run.deadline + timedelta(minutes=15))}"
        f" ({stamp(run.deadline + timedelta(minutes=15), 'R')}).",
        f"⏱️ An instructor gave your team 5 more minutes. New deadline: {stamp(deadline)} ({stamp(deadline, 'R')}).",
    ]
    edited = live.discord.message(briefing.id)
    assert stamp(deadline) in str(edited.content) and stamp(run.deadline) not in str(edited.content)
    assert edited.embeds[0]["title"] == "🚨 Challenge 2: Deployment disaster"  # the edit leaves the story as it was

    await answer(await slash(live, "instructor", "alerts", "challenge", "stop", team="blue"))
    refused = await slash(live, "instructor", "alerts", "admin", "extend", team="blue", minutes=5)
    assert "has no challenge running" in await answer(refused)
    await quiet(live)
    assert sum("more minutes" in str(m.content) for m in live.discord.messages(thread)) == 2


def test_services_are_what_the_cogs_receive() -> None:
    # The cogs take their dependencies by keyword from Services; a renamed field fails here, not in class.
    fields = set(Services.__dataclass_fields__)
    assert {"flow", "teams", "scoreboard", "submissions", "catalog", "outbox", "lang", "instructor_role"} <= fields
    assert KubecampBot.__init__.__kwdefaults__ == {"global_sync": False, "metrics": None}
    assert ChallengeFlow.__init__.__kwdefaults__ is None


async def test_the_deadline_ends_an_unsolved_run(live_class: Class) -> None:
    live = live_class
    live.clock.offset = -timedelta(minutes=91)  # the whole time limit passed before the bot saw the run
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    live.clock.offset = timedelta(0)
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")

    def titles() -> list[str]:
        return [m.embeds[0]["title"] for m in live.discord.messages(thread_of(live, "blue")) if m.embeds]

    await live.discord.wait_until(lambda: any("time is up" in t for t in titles()), 15, "the end of the run")
    assert sum(t.startswith("🏁 Final verification") for t in titles()) == 1
    team = await live.app.store.teams.get("blue")
    assert team is not None
    (run,) = await live.app.store.runs.of_team(team.id)
    assert (run.status, run.points) == ("expired", 0)
    assert live.app.scheduler.job_ids() == []  # nothing left planned for an ended run


async def test_instructor_groups_check_the_role_in_code_too(live_class: Class) -> None:
    # The server owner passes Discord's default_permissions but has no instructor role.
    owner = await slash(live_class, "server-owner", "alerts", "team", "list")
    assert owner.text() == "Only instructors can do that."
    admin = await slash(live_class, "server-owner", "alerts", "admin", "announce", message="hi")
    assert admin.text() == "Only instructors can do that."
    assert live_class.discord.messages(live_class.room.team_channels["blue"]) == []


async def test_verify_one_scenario_at_a_time(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "the thread")
    choices = await live.discord.autocomplete(
        live.room.guild, "team-blue", "blue-1", "challenge", {"scenario": "ro"}, focused="scenario", subcommand="verify"
    )
    assert [c["value"] for c in choices] == ["rolling-update"]
    unknown = await slash(live, "blue-1", "team-blue", "challenge", "verify", scenario="nope")
    assert await answer(unknown) == "This challenge has no scenario 'nope'."

    student = Cluster.for_host(live.kube.url, token="student")
    try:
        for scenario in CATALOG.get(2).scenarios:
            await apply_like_a_student(student, scenario)
    finally:
        await student.close()
    team = await live.app.store.teams.get("blue")
    assert team is not None
    (run,) = await live.app.store.runs.of_team(team.id)
    ids = [s.id for s in CATALOG.get(2).scenarios]
    for done, scenario_id in enumerate(ids, start=1):
        text = await answer(await slash(live, "blue-2", "team-blue", "challenge", "verify", scenario=scenario_id))
        assert text.startswith(f"{done} of 4 scenarios solved so far")
        states = {s.scenario_id: (s.status, s.attempts) for s in await live.app.store.runs.scenario_states(run.id)}
        assert states == {i: ("solved", 1) if i in ids[:done] else ("pending", 0) for i in ids}
        ended = await live.app.store.runs.get(run.id)
        assert ended is not None and ended.status == ("finished" if done == 4 else "active")
    assert "tier 100%" in text and "100/100 points" in text

    def titles() -> list[str]:
        return [m.embeds[0]["title"] for m in live.discord.messages(thread_of(live, "blue")) if m.embeds]

    await live.discord.wait_until(lambda: any("complete!" in t for t in titles()), 10, "the end of the run")
    checked = [t for t in titles() if t.startswith("🔍 Verification: ")]
    assert len(checked) == 4 and "Image deployment failure" in checked[0]


async def test_reveal_diagnosis(live_class: Class) -> None:
    live = live_class
    for team in ("blue", "red"):
        await answer(await slash(live, f"{team}-1", f"team-{team}", "challenge", "start", challenge=2))
    revealed = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=2, team="blue")
    assert revealed.ephemeral
    assert await answer(revealed) == "Challenge 2: the diagnoses are revealed to these teams (1): blue."
    again = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=2, team="blue")
    assert (await answer(again)).startswith("Challenge 2: no team was left to reveal the diagnoses to")
    rest = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=2)
    assert await answer(rest) == "Challenge 2: the diagnoses are revealed to these teams (1): red."
    none = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=5)
    assert (await answer(none)).startswith("Challenge 5: no team was left")
    unknown = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=9)
    assert (await answer(unknown)).startswith("There is no challenge 9")
    choices = await live.discord.autocomplete(
        live.room.guild,
        "alerts",
        "instructor",
        "admin",
        {"challenge": "disaster"},
        focused="challenge",
        subcommand="reveal-diagnosis",
    )
    assert [c["value"] for c in choices] == [2, 21, 91]  # 21: challenge 2 on a team's own cluster; 91: its drill
    with pytest.raises(PermissionError):
        await slash(live, "blue-1", "team-blue", "admin", "reveal-diagnosis", challenge=2)

    status = await slash(live, "blue-1", "team-blue", "challenge", "status")
    assert status.original.embed_text().count(" · 🔎 diagnosis shown") == 4
    every = frozenset(s.id for s in CATALOG.get(2).scenarios)
    for team in ("blue", "red"):
        run = await live.app.flow.runs.active_run(await live.app.flow.runs.team(team))
        assert run.diagnosis_revealed_by == "Instructor Kim"
        assert await live.app.flow.runs.diagnosed(run) == every
        await live.discord.wait_for_message(
            thread_of(live, team), lambda m: "Instructor Kim revealed the diagnoses:" in m.embed_text()
        )


async def test_a_revealed_diagnosis_survives_a_restart(
    discord_emulator: DiscordEmulator, discord_classroom: Classroom, kube_cluster: KubeCluster, class_folder: Path
) -> None:
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder) as live:
        await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
        await answer(await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=2, team="blue"))
    async with open_class(discord_emulator, discord_classroom, kube_cluster, class_folder, create_teams=False) as live:
        run = await live.app.flow.runs.active_run(await live.app.flow.runs.team("blue"))
        assert await live.app.flow.runs.diagnosed(run) == frozenset(s.id for s in CATALOG.get(2).scenarios)
        again = await slash(live, "instructor", "alerts", "admin", "reveal-diagnosis", challenge=2, team="blue")
        assert (await answer(again)).startswith("Challenge 2: no team was left")


async def test_a_team_verifies_again_only_after_the_cooldown_and_an_instructor_never_waits(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "red-1", "team-red", "challenge", "start", challenge=2))
    await live.discord.wait_until(lambda: thread_of(live, "red"), 10, "the thread")

    def lists_of_pods() -> int:
        pods = "/api/v1/namespaces/kubecamp-red/pods"
        return sum(1 for r in live.kube.requests if r.method == "GET" and r.url.path == pods)

    first = await answer(await slash(live, "red-1", "team-red", "challenge", "verify"))
    assert "0/4" in first or "of 4" in first
    listed = lists_of_pods()
    # A burst from the whole team: nothing more is listed, each is told how long to wait.
    burst = await asyncio.gather(*(slash(live, f"red-{n}", "team-red", "challenge", "verify") for n in (1, 2, 1, 2)))
    for record in burst:
        assert await answer(record) == "Your team just verified; you can verify again in 15 s."
    hint = await answer(await slash(live, "red-2", "team-red", "challenge", "hint"))
    assert hint.startswith("The next hint opens at <t:")
    again = await slash(live, "red-2", "team-red", "challenge", "hint")
    assert again.text() == "Your team just asked for a hint; you can ask again in 15 s."
    assert lists_of_pods() == listed
    # The instructor checks on the team straight away.
    checked = await answer(await slash(live, "instructor", "alerts", "challenge", "verify", team="red"))
    assert "verify again" not in checked
    assert lists_of_pods() == listed + 1
    live.clock.offset = timedelta(seconds=15)
    later = await answer(await slash(live, "red-1", "team-red", "challenge", "verify"))
    assert "verify again" not in later
