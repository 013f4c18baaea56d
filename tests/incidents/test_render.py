"""`bot.incidents.render`: what the bot posts about an incident, as Discord message JSON, in Korean and English.

Proved here: the starter's colour follows status and severity, a resolved incident has no buttons; the title is
"alertname · namespace"; each alert is a field with its summary, the labels that tell it apart, its runbook;
acknowledgement, silence, truncation and the previous incident show in the description; the buttons' custom ids
match `CUSTOM_ID` and give the incident and action back; without silences only Acknowledge is offered; 200 alerts
fit one Discord message after `bot.limits.fit_message` and say how many more there were; `changes` names only the
alerts whose status differs from what was announced; `alert_list` names every alert when the embed cannot;
`resolution` says how long it lasted; every text renders in both languages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.i18n import LANGS, Lang, t
from bot.incidents import render
from bot.incidents.render import AMBER, CUSTOM_ID, GREEN, RED
from bot.limits import ELLIPSIS, fit_message, fit_thread_name, within_limits
from bot.store.models import AlertStatus, Incident, IncidentAlert, IncidentStatus

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FIRING, RESOLVED = AlertStatus.firing, AlertStatus.resolved
RUNBOOK = "https://runbooks.example/KubePodCrashLooping"
HANGUL = re.compile(r"[가-힣]")
#: A placeholder left unformatted, e.g. "{id}".
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def incident(**fields: Any) -> Incident:
    """Incident #7 of the crash-looping group of kc-blue, firing since T0; `fields` override."""
    values: dict[str, Any] = {
        "id": 7,
        "group_key": '{}:{alertname="KubePodCrashLooping", namespace="kc-blue"}',
        "status": IncidentStatus.firing,
        "receiver": "kubecamp-bot",
        "namespace": "kc-blue",
        "group_labels": {"alertname": "KubePodCrashLooping", "namespace": "kc-blue"},
        "common_labels": {"alertname": "KubePodCrashLooping", "namespace": "kc-blue", "severity": "critical"},
        "common_annotations": {"runbook_url": RUNBOOK},
        "external_url": "http://alertmanager.monitoring.svc:9093",
        "opened_at": T0,
        "last_notified_at": T0 + MINUTE,
        "version": 1,
    }
    values.update(fields)
    return Incident(**values)


def alert(
    n: int,
    status: AlertStatus = FIRING,
    *,
    announced: AlertStatus | None = None,
    summary: str | None = None,
    runbook: str | None = RUNBOOK,
    **labels: str,
) -> IncidentAlert:
    """Alert n of incident #7: Pod web-n's container app is crash looping."""
    annotations = {"summary": summary if summary is not None else f"Pod kc-blue/web-{n} is crash looping."}
    if runbook:
        annotations["runbook_url"] = runbook
    return IncidentAlert(
        id=100 + n,
        incident_id=7,
        fingerprint=f"{n:016x}",
        starts_at=T0 + n * MINUTE,
        ends_at=T0 + (n + 5) * MINUTE if status == RESOLVED else None,
        status=status,
        announced=announced,
        labels={
            "alertname": "KubePodCrashLooping",
            "namespace": "kc-blue",
            "severity": "critical",
            "job": "kube-state-metrics",
            "instance": "10.0.0.1:8080",
            "pod": f"web-{n}",
            "container": "app",
            **labels,
        },
        annotations=annotations,
    )


def the_embed(payload: dict[str, Any]) -> dict[str, Any]:
    (embed,) = payload["embeds"]
    return embed


def custom_ids(payload: dict[str, Any]) -> list[str]:
    return [button["custom_id"] for row in payload["components"] for button in row["components"]]


# -- the starter message ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_firing_critical_incident_is_red_with_its_title_and_buttons(lang: Lang) -> None:
    payload = render.starter(incident(), [alert(1), alert(2)], lang, silences=True)
    embed = the_embed(payload)
    assert embed["color"] == RED
    assert render.title(incident()) == "KubePodCrashLooping · kc-blue"
    assert embed["title"] == "🔥 KubePodCrashLooping · kc-blue"
    assert embed["url"] == "http://alertmanager.monitoring.svc:9093"
    assert embed["timestamp"] == (T0 + MINUTE).isoformat()
    assert "#7" in embed["description"]
    assert f"<t:{int(T0.timestamp())}:R>" in embed["description"]  # since when, in the reader's time
    assert "critical" in embed["footer"]["text"] and "kubecamp-bot" in embed["footer"]["text"]
    assert [b["label"] for row in payload["components"] for b in row["components"]] == [
        t("incident.button.ack", lang),
        t("incident.button.silence", lang, hours=1),
        t("incident.button.silence", lang, hours=4),
    ]
    assert payload["components"][0]["type"] == 1
    assert all(b["type"] == 2 and not b["disabled"] for b in payload["components"][0]["components"])
    assert within_limits(payload) == []


def test_a_firing_warning_incident_is_amber_and_a_resolved_one_green_without_buttons() -> None:
    warning = incident(
        common_labels={"alertname": "KubePodCrashLooping", "namespace": "kc-blue", "severity": "warning"}
    )
    assert the_embed(render.starter(warning, [alert(1)], "en", silences=True))["color"] == AMBER
    no_severity = incident(common_labels={"alertname": "KubePodCrashLooping", "namespace": "kc-blue"})
    assert the_embed(render.starter(no_severity, [alert(1)], "en", silences=True))["color"] == AMBER

    resolved = incident(status=IncidentStatus.resolved, resolved_at=T0 + 9 * MINUTE)
    payload = render.starter(resolved, [alert(1, RESOLVED), alert(2, RESOLVED)], "en", silences=True)
    embed = the_embed(payload)
    assert (embed["color"], payload["components"]) == (GREEN, [])
    assert embed["title"] == "✅ KubePodCrashLooping · kc-blue"
    assert "all 2 alerts resolved" in embed["description"]
    assert f"<t:{int((T0 + 9 * MINUTE).timestamp())}:f>" in embed["description"]
    assert render.buttons(resolved, "en", silences=True) == []


def test_the_title_falls_back_to_the_group_labels_and_to_alert() -> None:
    assert render.title(incident(common_labels={}, namespace=None)) == "KubePodCrashLooping · kc-blue"
    assert render.title(incident(common_labels={}, group_labels={"alertname": "KubeNodeNotReady"}, namespace=None)) == (
        "KubeNodeNotReady"
    )
    assert render.title(incident(common_labels={}, group_labels={}, namespace=None)) == "Alert"
    assert render.thread_name(incident()) == "🔥 #7 KubePodCrashLooping · kc-blue"
    assert render.thread_name(incident(status=IncidentStatus.resolved)) == "✅ #7 KubePodCrashLooping · kc-blue"


@pytest.mark.parametrize("lang", LANGS)
def test_each_alert_is_a_field_with_its_summary_labels_and_runbook(lang: Lang) -> None:
    alerts = [alert(1), alert(2, RESOLVED, runbook=None)]
    fields = the_embed(render.starter(incident(), alerts, lang, silences=True))["fields"]
    assert [f["name"] for f in fields] == ["🔥 pod=web-1, container=app", "✅ pod=web-2, container=app"]
    first, second = (f["value"].split("\n") for f in fields)
    assert first[0] == "Pod kc-blue/web-1 is crash looping."
    assert first[1] == (
        f"{t('incident.alert.since', lang, since=f'<t:{int((T0 + MINUTE).timestamp())}:R>')}"
        f" · [{t('incident.alert.runbook', lang)}]({RUNBOOK})"
    )
    assert second == [
        "Pod kc-blue/web-2 is crash looping.",
        t("incident.alert.resolved", lang, at=f"<t:{int((T0 + 7 * MINUTE).timestamp())}:t>"),
    ]


def test_the_labels_that_tell_alerts_apart_skip_the_noise() -> None:
    assert render.describe(alert(1)) == "pod=web-1, container=app"
    assert render.describe(alert(1, node="worker-2", reason="OOMKilled", code="137")) == (
        "pod=web-1, container=app, node=worker-2, code=137, reason=OOMKilled"
    )
    bare = IncidentAlert(
        fingerprint="a", starts_at=T0, status=FIRING, labels={"alertname": "Watchdog", "severity": "none"}
    )
    assert render.describe(bare) == "Watchdog"
    assert render.describe(IncidentAlert(fingerprint="a", starts_at=T0, status=FIRING, labels={})) == "alert"


def test_an_alert_without_a_summary_shows_its_alertname() -> None:
    (field,) = the_embed(render.starter(incident(), [alert(1, summary="")], "en", silences=False))["fields"]
    assert field["value"].split("\n")[0] == "KubePodCrashLooping"


def test_a_korean_guild_reads_the_korean_annotations_and_falls_back_to_the_plain_ones() -> None:
    """alert_rules/ gives summary_ko and runbook_url_ko beside the English annotations Alertmanager's own
    receivers show."""
    korean = alert(1)
    korean.annotations |= {
        "summary_ko": "Pod kc-blue/web-1의 컨테이너 app: 계속 재시작됩니다.",
        "runbook_url_ko": "https://runbooks.example/ko/KubePodCrashLooping",
    }
    common = {"summary": "Pods of kc-blue are crash looping.", "summary_ko": "kc-blue의 Pod가 계속 재시작됩니다."}
    shown = {
        lang: the_embed(render.starter(incident(common_annotations=common), [korean, alert(2)], lang, silences=False))
        for lang in LANGS
    }
    ko_first, ko_second = (f["value"] for f in shown["ko"]["fields"])
    assert ko_first.startswith("Pod kc-blue/web-1의 컨테이너 app: 계속 재시작됩니다.\n")
    assert ko_first.endswith("(https://runbooks.example/ko/KubePodCrashLooping)")
    assert ko_second.startswith("Pod kc-blue/web-2 is crash looping.\n")  # no Korean text: the plain one
    assert shown["ko"]["description"].startswith("kc-blue의 Pod가 계속 재시작됩니다.\n")
    en_first = shown["en"]["fields"][0]["value"]
    assert en_first.startswith("Pod kc-blue/web-1 is crash looping.\n") and en_first.endswith(f"({RUNBOOK})")
    assert shown["en"]["description"].startswith("Pods of kc-blue are crash looping.\n")


def test_the_group_summary_heads_the_description_of_several_alerts() -> None:
    common = {"summary": "Pods of kc-blue are crash looping.", "runbook_url": RUNBOOK}
    several = the_embed(render.starter(incident(common_annotations=common), [alert(1), alert(2)], "en", silences=True))
    assert several["description"].split("\n")[0] == "Pods of kc-blue are crash looping."
    assert "2 of 2 alerts firing" in several["description"]
    one = the_embed(render.starter(incident(common_annotations=common), [alert(1)], "en", silences=True))
    assert not one["description"].startswith("Pods of")  # its field already says it


@pytest.mark.parametrize("lang", LANGS)
def test_acknowledged_silenced_truncated_and_previous_show_in_the_description(lang: Lang) -> None:
    told = incident(
        acknowledged_by="alice",
        acknowledged_at=T0 + 2 * MINUTE,
        silence_id="5f1e-silence",
        silenced_by="bob",
        silenced_until=T0 + 4 * 60 * MINUTE,
        truncated_alerts=3,
        previous_id=6,
    )
    description = the_embed(render.starter(told, [alert(1)], lang, silences=True, previous_thread=9006))["description"]
    lines = description.split("\n")
    assert t("incident.embed.truncated", lang, count=3) in lines
    acknowledged_at = f"<t:{int((T0 + 2 * MINUTE).timestamp())}:R>"
    assert t("incident.embed.acknowledged", lang, by="alice", at=acknowledged_at) in lines
    until = f"<t:{int((T0 + 4 * 60 * MINUTE).timestamp())}:t>"
    assert t("incident.embed.silenced", lang, by="bob", until=until, silence="5f1e-silence") in lines
    assert t("incident.embed.previous", lang, id=6, where=" <#9006>") in lines
    assert "alice" in description and "bob" in description and "5f1e-silence" in description

    plain = the_embed(render.starter(incident(), [alert(1)], lang, silences=True))["description"]
    assert "alice" not in plain and "5f1e-silence" not in plain and "max_alerts" not in plain
    assert len(plain.split("\n")) == 1


def test_the_previous_incident_without_a_thread_is_named_by_its_number() -> None:
    description = the_embed(render.starter(incident(previous_id=6), [alert(1)], "en", silences=True))["description"]
    assert "(previous incident #6)" in description


def test_an_external_url_that_is_not_http_is_left_out() -> None:
    assert "url" not in the_embed(render.starter(incident(external_url=""), [alert(1)], "en", silences=True))
    assert "url" not in the_embed(
        render.starter(incident(external_url="javascript:alert(1)"), [alert(1)], "en", silences=True)
    )


# -- buttons ---------------------------------------------------------------------------------------------------------


def test_the_button_custom_ids_match_the_template_and_round_trip() -> None:
    ids = custom_ids(render.starter(incident(id=12345), [alert(1)], "en", silences=True))
    assert ids == [
        "kubecamp:incident:12345:ack",
        "kubecamp:incident:12345:silence1h",
        "kubecamp:incident:12345:silence4h",
    ]
    silenced = incident(id=12345, silence_id="s-1", silenced_until=T0 + 60 * MINUTE, silenced_by="bob")
    ids += custom_ids(render.starter(silenced, [alert(1)], "en", silences=True))
    for custom_id in ids:
        match = CUSTOM_ID.match(custom_id)
        assert match is not None, custom_id
        assert render.custom_id(int(match["id"]), match["action"]) == custom_id
        assert int(match["id"]) == 12345
        assert len(custom_id) <= 100  # Discord's limit
    assert {i.rsplit(":", 1)[1] for i in ids} == {"ack", "silence1h", "silence4h", "unsilence"}


def test_an_unknown_action_has_no_custom_id() -> None:
    with pytest.raises(ValueError, match="unknown incident action 'delete'"):
        render.custom_id(7, "delete")
    assert CUSTOM_ID.match("kubecamp:incident:7:ack:extra") is None
    assert CUSTOM_ID.match("kubecamp:incident:x:ack") is None


def test_without_silences_only_acknowledge_is_offered() -> None:
    payload = render.starter(incident(), [alert(1)], "en", silences=False)
    assert custom_ids(payload) == ["kubecamp:incident:7:ack"]
    assert payload["components"][0]["components"][0]["label"] == "Acknowledge"


def test_an_acknowledged_incident_has_its_button_disabled_and_a_silenced_one_offers_unsilence() -> None:
    acked = render.buttons(incident(acknowledged_at=T0, acknowledged_by="alice"), "en", silences=True)
    assert [(b["custom_id"].rsplit(":", 1)[1], b["disabled"]) for b in acked[0]["components"]] == [
        ("ack", True),
        ("silence1h", False),
        ("silence4h", False),
    ]
    silenced = render.buttons(incident(silence_id="s-1", silenced_until=T0), "en", silences=True)
    assert [(b["custom_id"].rsplit(":", 1)[1], b["label"]) for b in silenced[0]["components"]] == [
        ("ack", "Acknowledge"),
        ("unsilence", "Unsilence"),
    ]


# -- Discord's limits ------------------------------------------------------------------------------------------------


#: Alerts as kube-prometheus writes them: a summary naming the Pod, a long runbook address.
REAL_SUMMARY = "Container frontend of Pod kubecamp-blue/frontend-7d9f8b6c5d-{n:05d} cannot pull its image."
REAL_RUNBOOK = "https://github.com/kubecamp/kubecamp-bot/blob/main/alert_rules/README.md#kubecampimagepullfailing"


@pytest.mark.parametrize("lang", LANGS)
def test_two_hundred_alerts_fit_one_message_and_say_how_many_more(lang: Lang) -> None:
    alerts = [
        alert(n, FIRING if n % 3 else RESOLVED, summary=REAL_SUMMARY.format(n=n), runbook=REAL_RUNBOOK)
        for n in range(1, 201)
    ]
    told = incident(truncated_alerts=50, acknowledged_by="alice", acknowledged_at=T0)
    payload = render.starter(told, alerts, lang, silences=True)
    # Only the fields Discord shows are rendered; 25 long ones are still over the 6000 characters of an embed.
    rendered = [f["name"] for f in the_embed(payload)["fields"]]
    assert rendered[-2:] == ["✅ pod=web-24, container=app", f"{ELLIPSIS} 176 more"]
    assert within_limits(payload) != []

    (fitted,) = fit_message(payload, split=False)
    assert within_limits(fitted) == []
    embed = the_embed(fitted)
    assert len(embed["fields"]) == 25
    assert embed["fields"][-1]["name"] == f"{ELLIPSIS} 176 more"
    assert [f["name"] for f in embed["fields"][:3]] == [
        "🔥 pod=web-1, container=app",
        "🔥 pod=web-2, container=app",
        "✅ pod=web-3, container=app",
    ]
    # The counts and the truncation still show: they are in the description, which is short.
    assert t("incident.embed.truncated", lang, count=50) in embed["description"]
    assert "200" in embed["description"] and "134" in embed["description"]
    assert fitted["components"] == payload["components"]


@pytest.mark.parametrize("summary", ["x" * 900, "경보 " * 400, "🔥" * 700])
def test_two_hundred_alerts_with_huge_texts_still_fit_one_message(summary: str) -> None:
    alerts = [alert(n, summary=summary, runbook=REAL_RUNBOOK, reason=summary[:300]) for n in range(1, 201)]
    told = incident(
        truncated_alerts=50, acknowledged_by="a" * 100, acknowledged_at=T0, common_annotations={"summary": summary * 6}
    )
    for lang in LANGS:
        (fitted,) = fit_message(render.starter(told, alerts, lang, silences=True), split=False)
        assert within_limits(fitted) == []
        assert the_embed(fitted)["fields"][-1]["name"] == f"{ELLIPSIS} 176 more"


def test_a_thread_name_from_a_very_long_alertname_fits_discord() -> None:
    long = incident(common_labels={"alertname": "A" * 300, "namespace": "kc-blue"})
    assert len(fit_thread_name(render.thread_name(long))) <= 100


# -- messages in the thread ------------------------------------------------------------------------------------------


def test_changes_lists_only_the_alerts_whose_status_differs_from_what_was_announced() -> None:
    alerts = [
        alert(1, announced=FIRING),  # unchanged
        alert(2, RESOLVED, announced=FIRING),  # resolved since
        alert(3),  # new
        alert(4, RESOLVED, announced=RESOLVED),  # unchanged
        alert(5, FIRING, announced=RESOLVED),  # fired again (a new start would be a new row, but say it anyway)
        alert(6, RESOLVED),  # new and already resolved
    ]
    text = render.changes(alerts, "en")
    assert text is not None
    head, *lines = text.split("\n")
    assert head == "📣 Changes: 2 firing · 2 resolved"
    assert lines == [
        "🔥 pod=web-3, container=app",
        "🔥 pod=web-5, container=app",
        "✅ pod=web-2, container=app",
        "✅ pod=web-6, container=app",
    ]
    assert render.changes([alert(1, announced=FIRING), alert(4, RESOLVED, announced=RESOLVED)], "en") is None
    assert render.changes([], "ko") is None
    ko = render.changes(alerts, "ko")
    assert ko is not None and ko.split("\n")[0] == "📣 변경: 발생 2 · 해결 2"


def test_the_alert_list_names_every_alert_the_embed_cannot_show_with_its_status() -> None:
    alerts = [alert(n, FIRING if n % 2 else RESOLVED, announced=FIRING) for n in range(1, 27)]
    assert not render.embed_shows_all(alerts)
    assert render.embed_shows_all(alerts[:25])
    (fitted,) = fit_message(render.starter(incident(), alerts, "en", silences=True), split=False)
    assert len(the_embed(fitted)["fields"]) == 25  # 24 alerts and "… 2 more"

    head, *lines = render.alert_list(alerts, "en").split("\n")
    assert head == "📋 All 26 alerts of this incident (13 firing · 13 resolved):"
    assert lines == [f"{'🔥' if n % 2 else '✅'} pod=web-{n}, container=app" for n in range(1, 27)]
    assert render.alert_list(alerts, "ko").split("\n")[0] == "📋 이 인시던트의 알림 26개 전체 (발생 13 · 해결 13):"


@pytest.mark.parametrize(
    ("lasted", "ko", "en"),
    [
        (timedelta(seconds=42), "42초", "42 s"),
        (timedelta(minutes=5, seconds=7), "5분 7초", "5 min 7 s"),
        (timedelta(hours=1, minutes=23, seconds=59), "1시간 23분", "1 h 23 min"),
        (timedelta(hours=26), "26시간 0분", "26 h 0 min"),
        (timedelta(0), "0초", "0 s"),
    ],
)
def test_the_resolution_says_how_long_it_lasted_in_both_languages(lasted: timedelta, ko: str, en: str) -> None:
    resolved = incident(status=IncidentStatus.resolved, resolved_at=T0 + lasted)
    assert render.resolution(resolved, "en") == f"✅ Every alert of incident #7 has resolved. It lasted {en}."
    assert render.resolution(resolved, "ko") == f"✅ 인시던트 #7의 모든 알림이 해결되었습니다. 지속 시간: {ko}"


def test_a_resolution_without_an_end_counts_to_the_last_notification() -> None:
    assert render.resolution(incident(resolved_at=None, last_notified_at=T0 + 90 * MINUTE), "en").endswith(
        "It lasted 1 h 30 min."
    )
    assert render.duration(timedelta(seconds=-5), "en") == "0 s"  # clocks that disagree never say "-5 s"


@pytest.mark.parametrize("lang", LANGS)
def test_everything_renders_in_both_languages(lang: Lang) -> None:
    firing = incident(
        acknowledged_by="alice",
        acknowledged_at=T0,
        silence_id="s-1",
        silenced_by="bob",
        silenced_until=T0 + 60 * MINUTE,
        truncated_alerts=2,
        previous_id=6,
    )
    resolved = incident(status=IncidentStatus.resolved, resolved_at=T0 + 3 * MINUTE)
    alerts = [alert(1), alert(2, RESOLVED, announced=FIRING)]
    texts: list[str] = []
    for told in (firing, resolved):
        payload = render.starter(told, alerts, lang, silences=True, previous_thread=9006)
        embed = the_embed(payload)
        texts += [embed["title"], embed["description"], embed["footer"]["text"]]
        texts += [f["name"] + f["value"] for f in embed["fields"]]
        texts += [b["label"] for row in payload["components"] for b in row["components"]]
        texts += [
            render.thread_name(told),
            render.listing_line(told, 9007, lang),
            render.listing_line(told, None, lang),
        ]
        assert within_limits(fit_message(payload, split=False)[0]) == []
    texts += [
        render.changes(alerts, lang) or "",
        render.alert_list(alerts, lang),
        render.resolution(resolved, lang),
        render.run_notice(firing, 9007, lang),
        render.run_notice(firing, None, lang),
        render.acknowledged("alice", lang),
        render.silenced("bob", 4, T0 + 4 * 60 * MINUTE, "s-1", lang),
        render.unsilenced("bob", "s-1", lang),
        render.cluster_context("pod=web-1", "State: Waiting (CrashLoopBackOff)", lang),
    ]
    for text in texts:
        assert text.strip(), texts
        assert not PLACEHOLDER.search(text), text
    korean = [text for text in texts if HANGUL.search(text)]
    if lang == "ko":
        assert t("incident.button.ack", "ko") == "확인"
        assert len(korean) >= 10
    else:
        assert korean == []


def test_a_run_notice_points_at_the_incident_thread() -> None:
    assert render.run_notice(incident(), 9007, "en") == (
        "📟 Your cluster is telling you something: **KubePodCrashLooping · kc-blue** → <#9007>"
    )
    assert render.run_notice(incident(), None, "en").endswith("→ #7")


def test_the_listing_line_marks_acknowledged_and_silenced_incidents() -> None:
    line = render.listing_line(incident(acknowledged_at=T0, silence_id="s-1"), 9007, "en")
    assert line == f"🔥 **#7** KubePodCrashLooping · kc-blue · <t:{int(T0.timestamp())}:R> 👀 🔕 <#9007>"
    assert render.listing_line(incident(status=IncidentStatus.resolved), None, "en").startswith("✅ **#7**")


def test_cluster_context_is_a_code_block() -> None:
    text = render.cluster_context("pod=web-1", "Back-off restarting failed container", "en")
    assert text.split("\n") == [
        "🔎 What the cluster says (pod=web-1):",
        "```",
        "Back-off restarting failed container",
        "```",
    ]
