"""What students and the cluster write reaches Discord inert, through the real bot and the Discord emulator:
a nickname `[Grafana](https://evil.example)` acknowledging an incident, alert labels with Markdown in the
thread's title, lines and the header over what the cluster says, and an answer handed in with the form."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.discord.live import Class, answer, deliver, slash
from tests.scenarios.test_catalogue_behaviour import CATALOG
from tests.test_markup import active

PAYLOADS = Path(__file__).parents[1] / "incidents" / "payloads"
PHISHING = "[Grafana](https://evil.example)"
#: A label value as whoever writes the alerting rule or names the object can make Alertmanager carry it.
FORGED = "frontend\n# @everyone " + PHISHING + " ||look||"
FORGED_SHOWN = "frontend \\# @\u200beveryone \\[Grafana\\](https\\://evil.example) \\|\\|look\\|\\|"
ALERTNAME = f"Pull**{PHISHING}**"
GITHUB = "https://github.com/blue/w3d5-streaming-ops-platform"


@pytest.fixture
def edit_interval() -> float:
    """The incident's starter is edited twice here, for what the edits say, not when: no 5 s wait for each."""
    return 0.5


def _notification(*alerts: dict[str, str]) -> bytes:
    """firing_one.json with an alert per label set in `alerts`, and an alertname with Markdown."""
    body = json.loads((PAYLOADS / "firing_one.json").read_text())
    [template] = body["alerts"]
    body["alerts"] = []
    for n, labels in enumerate(alerts):
        alert = copy.deepcopy(template)
        alert["labels"] |= {**labels, "alertname": ALERTNAME}
        alert["fingerprint"] = f"{n:016x}"
        body["alerts"].append(alert)
    body["groupLabels"]["alertname"] = ALERTNAME
    body["commonLabels"] = {"alertname": ALERTNAME, "namespace": "kubecamp-blue", "severity": "warning"}
    return json.dumps(body).encode()


def said(live: Class, thread: Any) -> list[str]:
    return [str(m.content) for m in live.discord.messages(thread) if m.content]


def _starter(live: Class, thread: Any) -> Any:
    [message] = [m for m in live.discord.messages(live.room.team_channels["blue"]) if m.thread_id == thread.id]
    return message


async def test_a_nickname_and_labels_with_markdown_are_shown_as_written(live_class: Class) -> None:
    live, discord = live_class, live_class.discord
    student = discord.add_user("blue-3", global_name="Blue Student 3")
    discord.add_member(live.room.guild, student, roles=[live.room.team_roles["blue"]], nick=PHISHING)
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    [pod, other, *_] = [p["metadata"]["name"] for p in live.kube.pods_of("kubecamp-blue", "frontend")]

    assert await deliver(live, _notification({"pod": pod, "container": FORGED})) == 200
    blue = live.room.team_channels["blue"]
    await discord.wait_until(lambda: len(discord.threads(blue)) == 2, 10, "the incident thread")
    thread = discord.threads(blue)[-1]
    assert thread.name == f"🔥 #1 {ALERTNAME} · kubecamp-blue"  # a thread name shows no Markdown
    await discord.wait_until(lambda: any("What the cluster says" in s for s in said(live, thread)), 10, "context")
    [context] = [s for s in said(live, thread) if "What the cluster says" in s]
    header, code = context.split("\n```\n", 1)
    assert header == f"🔎 What the cluster says (container={FORGED_SHOWN}, namespace=kubecamp-blue, pod={pod}):"
    assert active(header) == {} and code.endswith("\n```") and code.count("```") == 1

    assert (
        await deliver(live, _notification({"pod": pod, "container": FORGED}, {"pod": other, "container": FORGED}))
        == 200
    )
    await discord.wait_until(lambda: any("Changes" in s for s in said(live, thread)), 10, "the thread line")
    [change] = [s for s in said(live, thread) if "Changes" in s]
    assert change.endswith(f"\n🔥 pod={other}, container={FORGED_SHOWN}")
    assert active(change) == {}
    embed = _starter(live, thread).embeds[0]
    assert embed["title"] == "🔥 Pull\\*\\*\\[Grafana\\](https\\://evil.example)\\*\\* · kubecamp-blue"
    assert active(embed["title"]) == {}
    assert all(active(field["name"]) == {} for field in embed["fields"])

    acked = await discord.click(_starter(live, thread), "kubecamp:incident:1:ack", "blue-3")
    assert "acknowledged" in acked.text()
    await discord.wait_until(lambda: any("acknowledged this" in s for s in said(live, thread)), 10, "the ack line")
    [ack] = [s for s in said(live, thread) if "acknowledged this" in s]
    assert ack == "👀 \\[Grafana\\](https\\://evil.example) acknowledged this incident."
    assert active(ack) == {}
    await discord.wait_until(
        lambda: "Acknowledged by" in _starter(live, thread).embeds[0]["description"], 10, "the acknowledgement"
    )
    description = _starter(live, thread).embeds[0]["description"]
    assert "👀 Acknowledged by \\[Grafana\\](https\\://evil.example)" in description
    assert "masked link" not in active(description)


async def test_an_answer_handed_in_is_echoed_as_written(live_class: Class) -> None:
    live = live_class
    await answer(await slash(live, "blue-1", "team-blue", "challenge", "start", challenge=2))
    form = await slash(live, "blue-1", "team-blue", "challenge", "submit")
    spec = CATALOG.get(2).spec.submission
    assert form.modal is not None and spec is not None
    # Every answer the phishing link, but the GitHub URL, which the form checks: it stays a link to GitHub.
    typed = {f.id: GITHUB if f.format == "github_url" else f"{PHISHING}\n- @everyone" for f in spec.inputs}
    echoed = await live.discord.submit_modal(form, typed)
    text = echoed.text()
    assert "\\[Grafana\\](https\\://evil.example)\n\\- @\u200beveryone" in text
    assert active(text)["autolink"] == 1 and f"**GitHub**: {GITHUB}" in text
    assert not {"masked link", "mass mention", "list"} & set(active(text))
