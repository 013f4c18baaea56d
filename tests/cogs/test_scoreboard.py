"""/scoreboard show and /admin freeze|unfreeze through real Discord payloads."""

from __future__ import annotations

from datetime import timedelta

from tests.discord.live import Class, answer, slash
from tests.scenarios.test_catalogue_behaviour import CATALOG, apply_like_a_student


async def test_a_freeze_stops_what_scoreboard_show_reveals_until_unfreeze(live_class: Class) -> None:
    live = live_class
    challenge = CATALOG.get(2)
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    await answer(await slash(live, "red-1", "team-red", "challenge", "start", challenge=2))
    shown = (await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)).original.embed_text()
    assert "🥇" not in shown, "nobody has solved anything: no medal"
    await apply_like_a_student(live.app.cluster, challenge.scenario("image-pull"))
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "verify"))
    shown = (await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)).original.embed_text()
    assert "🥇 **blue** — 25 pts" in shown and "2. **red** — 0 pts" in shown

    refused = await slash(live, "instructor", "alerts", "admin", "freeze", challenge=2, at="tea time")
    assert refused.text() == "give the moment as HH:MM (the class's time zone) or like 2026-12-04T10:30, not tea time"
    frozen = await slash(live, "instructor", "alerts", "admin", "freeze", challenge=2)
    assert frozen.ephemeral and frozen.text().startswith("Challenge 2's scoreboard is frozen as of <t:")

    await apply_like_a_student(live.app.cluster, challenge.scenario("unschedulable"))
    live.clock.offset = timedelta(minutes=2)  # past the verify cooldown
    verified = await answer(await slash(live, "blue-1", "team-blue", "challenge", "verify"))
    assert verified.startswith("2 of 4 pass")
    board = (await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)).original
    assert "🥇 **blue** — 25 pts" in board.embed_text() and "🧊 Frozen as of" in board.embed_text()

    unfrozen = await slash(live, "instructor", "alerts", "admin", "unfreeze")
    assert unfrozen.text() == "Unfrozen: challenge 2. Everything up to now shows."
    board = (await slash(live, "red-1", "team-red", "scoreboard", "show", challenge=2)).original
    assert "🥇 **blue** — 50 pts" in board.embed_text() and "🧊" not in board.embed_text()
    again = await slash(live, "instructor", "alerts", "admin", "unfreeze")
    assert again.text() == "No scoreboard is frozen."
