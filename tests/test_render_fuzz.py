"""The renderers under fuzz, as the webhook is fuzzed: any text in any field a member or the cluster controls —
a nickname, an alert's labels and annotations, a silence's id, what a check or the API server reports, an
answer — and the post, once `bot.limits` has fitted it as the outbox does, has no markup (link, mention,
heading, list, quote, emphasis, code) it would not have with a plain word there, keeps every Discord limit,
and never has its code block closed early; thread names and footers (where Discord renders no Markdown)
stay one line without controls. `tests.test_markup.active` is the model of Discord's Markdown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import markup
from bot.challenges import render as runs_render
from bot.challenges.checks import Status
from bot.challenges.timeline import HintDue
from bot.i18n import Message
from bot.incidents import render as incidents_render
from bot.limits import fit_message, fit_thread_name, within_limits
from bot.store import HintSource
from bot.store.models import IncidentStatus
from bot.submissions import shown
from tests.challenges.test_render import CHALLENGE, T0, check, pending, unschedulable
from tests.incidents.test_render import alert, incident
from tests.test_markup import TEXT, active

Payload = dict[str, Any]
#: Controls and separators that have no place in a one-line text (a thread name, a footer).
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
INCIDENT_FIELDS = (
    "alertname",
    "namespace",
    "severity",
    "receiver",
    "acknowledged_by",
    "silenced_by",
    "silence_id",
    "summary",
    "pod",
    "label",
    "alert_summary",
    "runbook_url",
)
RUN_FIELDS = ("who", "problems", "requested", "reason", "answer")
PLAIN_WORD = "x"
#: A runbook is a link by design (an http(s) one only): the baseline has one.
PLAIN = {"runbook_url": "https://runbooks.example/KubePodCrashLooping"}
#: Enough examples to meet every kind of markup in every field; the renderers are pure and fast.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fields_of(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({name: TEXT for name in names})


def markdown_texts(payload: Mapping[str, Any]) -> list[str]:
    """What Discord renders as Markdown in a message: its content, and its embeds' titles, descriptions and fields."""
    texts = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        texts += [embed.get("title") or "", embed.get("description") or ""]
        texts += [str(f[key]) for f in embed.get("fields") or [] for key in ("name", "value")]
    return texts


def plain_texts(payload: Mapping[str, Any]) -> list[str]:
    """Where Discord renders no Markdown: footers."""
    return [str((embed.get("footer") or {}).get("text", "")) for embed in payload.get("embeds") or []]


def sent(payload: Payload) -> list[Payload]:
    """The payload as the outbox sends it: fitted into Discord's limits, split if need be."""
    parts = fit_message(payload)
    assert all(within_limits(part) == [] for part in parts), [within_limits(part) for part in parts]
    return parts


def assert_inert(render: Callable[[dict[str, str]], Payload], fields: dict[str, str]) -> None:
    """`render` with `fields` has no markup it has with a plain word in every field, and keeps the limits."""
    baseline = Counter[str]()
    plain = {name: PLAIN.get(name, PLAIN_WORD) for name in fields}
    for part in sent(render(plain)):
        for text in markdown_texts(part):
            baseline += active(text)
    fuzzed = Counter[str]()
    for part in sent(render(fields)):
        for text in markdown_texts(part):
            fuzzed += active(text)
        for text in plain_texts(part):
            assert not CONTROLS.search(text)
    assert fuzzed - baseline == Counter(), f"markup from a field: {fuzzed - baseline}"


# -- incidents -------------------------------------------------------------------------------------------------------


def an_incident(f: dict[str, str], status: IncidentStatus = IncidentStatus.firing) -> tuple[Any, list[Any]]:
    labels = {"alertname": f["alertname"], "namespace": f["namespace"], "severity": f["severity"]}
    inc = incident(
        status=status,
        namespace=f["namespace"],
        receiver=f["receiver"],
        group_labels=labels,
        common_labels=labels,
        common_annotations={"summary": f["summary"]},
        acknowledged_at=T0,
        acknowledged_by=f["acknowledged_by"],
        silence_id=f["silence_id"],
        silenced_by=f["silenced_by"],
        silenced_until=T0 + timedelta(hours=1),
    )
    alerts = [
        alert(n, summary=f["alert_summary"], runbook=f["runbook_url"], pod=f["pod"], reason=f["label"]) for n in (1, 2)
    ]
    return inc, alerts


@FUZZ
@given(fields_of(INCIDENT_FIELDS))
@example(dict.fromkeys(INCIDENT_FIELDS, "[Grafana](https://evil.example)"))
@example(dict.fromkeys(INCIDENT_FIELDS, "```\n# @everyone <@1>"))
def test_the_incident_starter_and_its_thread_lines(fields: dict[str, str]) -> None:
    def starter(f: dict[str, str]) -> Payload:
        inc, alerts = an_incident(f)
        return incidents_render.starter(inc, alerts, "en", silences=True)

    def thread_lines(f: dict[str, str]) -> Payload:
        inc, alerts = an_incident(f)
        lines = [
            incidents_render.changes(alerts, "en") or "",
            incidents_render.alert_list(alerts, "ko"),
            incidents_render.run_notice(inc, 42, "en"),
            incidents_render.listing_line(inc, 42, "en"),
            incidents_render.acknowledged(f["acknowledged_by"], "ko"),
            incidents_render.silenced(f["silenced_by"], 1, T0, f["silence_id"], "en"),
            incidents_render.unsilenced(f["silenced_by"], f["silence_id"], "en"),
        ]
        return {"content": "\n".join(lines), "allowed_mentions": {"parse": []}}

    assert_inert(starter, fields)
    assert_inert(thread_lines, fields)
    for status in IncidentStatus:
        name = fit_thread_name(incidents_render.thread_name(an_incident(fields, status)[0]))
        assert 0 < len(name) <= 100 and "\n" not in name and not CONTROLS.search(name)


@FUZZ
@given(TEXT, TEXT)
@example("kubecamp-blue\n```\n@everyone", "Back-off ``` restarting\n```\n[x](https://evil.example)")
def test_what_the_cluster_says_stays_inside_its_code_block(where: str, text: str) -> None:
    def context(f: dict[str, str]) -> Payload:
        return {"content": incidents_render.cluster_context(f["where"], f["text"], "en")}

    assert_inert(context, {"where": where, "text": text})
    [part] = sent(context({"where": where, "text": text}))
    assert active(part["content"])["code block"] == 1
    assert part["content"].count("```") == 2  # the opening and closing fences, nothing between


# -- runs ------------------------------------------------------------------------------------------------------------


@FUZZ
@given(fields_of(RUN_FIELDS))
@example(dict.fromkeys(RUN_FIELDS, "[Grafana](https://evil.example) `@everyone`"))
def test_a_runs_results_hints_and_summaries(fields: dict[str, str]) -> None:
    def report(f: dict[str, str]) -> Any:
        diagnosis = Message("check.diagnosis.request", {"resource": "cpu", "requested": f["requested"], "max": "1"})
        unknown = check(
            "check.could_not_check",
            Status.UNKNOWN,
            kind="Pod",
            reason=Message(
                "cluster.rejected", {"request": f["reason"], "status": 422, "answer": f["answer"]}
            ).to_json(),
        )
        symptom = check(
            "check.no_pending_pods.fail", diagnosis=diagnosis, selector="app=analytics", count=2, problems=f["problems"]
        )
        return unschedulable(symptom, pending(), unknown)

    def results(f: dict[str, str]) -> Payload:
        return runs_render.results(report(f), CHALLENGE, "en", diagnosed=frozenset({"unschedulable"}))

    def hint(f: dict[str, str]) -> Payload:
        scenario = CHALLENGE.scenario("unschedulable")
        due = HintDue(scenario.id, 0, scenario.spec.hints[0])
        return runs_render.hint(due, CHALLENGE, "ko", source=HintSource.requested, by=f["who"])

    def said(f: dict[str, str]) -> Payload:
        summary = runs_render.verify_summary(report(f), CHALLENGE, "en")
        revealed = runs_render.diagnosis_revealed(f["who"], "en")
        return {**revealed, "content": summary}

    for render in (results, hint, said):
        assert_inert(render, fields)


# -- what members type -----------------------------------------------------------------------------------------------


@FUZZ
@given(TEXT)
@example('=HYPERLINK("https://evil.example")\n# [Grafana](https://evil.example)')
def test_answers_and_what_a_member_typed_into_an_error(typed: str) -> None:
    def answer(f: dict[str, str]) -> Payload:
        return {"content": f"**Notes**: {shown(f['typed'], None)}"}

    def error(f: dict[str, str]) -> Payload:
        keys = ("err.unknown_team", "err.unknown_scenario", "team.invalid_name")
        params = {"team": f["typed"], "scenario": f["typed"]}
        return {"content": "\n".join(markup.message(Message(key, params), "ko") for key in keys)}

    assert_inert(answer, {"typed": typed})
    assert_inert(error, {"typed": typed})


@pytest.mark.parametrize(
    ("answer", "link"),
    [("https://github.com/blue/ops", True), ("https://github.com/blue/ops)[x](https://evil.example", False)],
)
def test_a_checked_github_url_stays_a_link_and_nothing_else_does(answer: str, link: bool) -> None:
    form = CHALLENGE.spec.submission
    [field] = [f for f in form.fields if f.format == "github_url"] if form else []
    assert (active(shown(answer, field)) == {"autolink": 1}) is link
