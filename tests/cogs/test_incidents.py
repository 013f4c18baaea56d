"""/incidents list|show: instructors see the incidents Alertmanager reported; Discord hides the group from students."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.discord.live import Class, answer, deliver, slash

PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"


async def test_instructors_list_and_show_incidents(live_class: Class) -> None:
    live = live_class
    assert await deliver(live, (PAYLOADS / "firing_three.json").read_bytes()) == 200
    blue = live.room.team_channels["blue"]
    await live.discord.wait_until(lambda: live.discord.threads(blue), 10, "the incident thread")
    [thread] = live.discord.threads(blue)
    assert await live.app.outbox.drain(10)  # the bot has recorded where its thread landed

    with pytest.raises(PermissionError, match="does not offer it"):  # Discord hides it from students
        await slash(live, "blue-1", "team-blue", "incidents", "list")

    listed = await slash(live, "instructor", "alerts", "incidents", "list")
    text = await answer(listed)
    assert listed.ephemeral
    assert text.startswith("🔥 **#1** KubecampImagePullFailing · kubecamp-blue")
    assert f"<#{thread.id}>" in text
    resolved_only = await slash(live, "instructor", "alerts", "incidents", "list", status="resolved")
    assert await answer(resolved_only) == "There are no incidents yet."

    shown = await slash(live, "instructor", "alerts", "incidents", "show", incident=1)
    assert shown.ephemeral
    [message] = shown.messages
    assert message.embeds[0]["title"] == "🔥 KubecampImagePullFailing · kubecamp-blue"
    assert len(message.embeds[0]["fields"]) == 3
    assert f"<#{thread.id}>" in str(message.content)

    unknown = await slash(live, "instructor", "alerts", "incidents", "show", incident=99)
    assert await answer(unknown) == "There is no incident #99."
