"""What the bot posts about an incident, as Discord message JSON, in one language.

The starter message of the incident's thread is one embed (status colour, title from alertname and
namespace, a field per alert with its summary, the labels that tell the alerts apart, its runbook,
since when) plus the buttons; it is re-rendered whole on every change and edited in place. Short
messages in the thread say what changed. Plain dictionaries, no discord.py. The embed holds the fields
Discord shows (200 alerts become 24 fields and "… N more", `bot.limits.capped_fields`; `alert_list` then
names every alert in the thread), and `bot.limits` fits every text on the way out. Labels, annotations and
the names of who acknowledged or silenced come from outside: they are made inert where they are shown
(`bot.markup`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import markup
from bot.i18n import Lang, t
from bot.limits import EMBED_FIELDS_MAX, FENCE, capped_fields
from bot.markup import stamp
from bot.store.models import AlertStatus, Incident, IncidentAlert, IncidentStatus

Payload = dict[str, Any]

RED, AMBER, GREEN = 0xE74C3C, 0xF39C12, 0x2ECC71
FIRING, RESOLVED = "🔥", "✅"
#: Labels that tell one alert of a group from another, in the order they are shown.
OBJECT_LABELS = (
    "pod",
    "container",
    "deployment",
    "statefulset",
    "service",
    "persistentvolumeclaim",
    "horizontalpodautoscaler",
    "node",
    "job_name",
)
#: Labels that say nothing to a student (where Prometheus scraped kube-state-metrics).
NOISE_LABELS = frozenset({"alertname", "namespace", "severity", "job", "instance", "endpoint", "prometheus", "uid"})

#: Custom ids of the starter message's buttons: stable across restarts, the incident id inside.
CUSTOM_ID = re.compile(r"^kubecamp:incident:(?P<id>[0-9]+):(?P<action>ack|silence1h|silence4h|unsilence)$")


def custom_id(incident_id: int, action: str) -> str:
    value = f"kubecamp:incident:{incident_id}:{action}"
    if not CUSTOM_ID.match(value):
        raise ValueError(f"unknown incident action {action!r}")
    return value


def title(incident: Incident) -> str:
    """The incident's alertname and namespace as the labels say them (`markup.escape` them to show)."""
    labels = incident.common_labels or incident.group_labels
    name = str(labels.get("alertname") or incident.group_labels.get("alertname") or "Alert")
    namespace = incident.namespace or labels.get("namespace")
    return f"{name} · {namespace}" if namespace else name


def thread_name(incident: Incident) -> str:
    mark = RESOLVED if incident.status == IncidentStatus.resolved else FIRING
    return f"{mark} #{incident.id} {markup.plain(title(incident))}"


def starter(
    incident: Incident,
    alerts: Sequence[IncidentAlert],
    lang: Lang,
    *,
    silences: bool,
    previous_thread: int | None = None,
) -> Payload:
    """The starter message: the embed and, while the incident fires, its buttons. `previous_thread`:
    the thread of the incident before this one, when it has one."""
    return {
        "embeds": [embed(incident, alerts, lang, previous_thread=previous_thread)],
        "components": buttons(incident, lang, silences),
    }


def embed(
    incident: Incident, alerts: Sequence[IncidentAlert], lang: Lang, *, previous_thread: int | None = None
) -> Payload:
    resolved = incident.status == IncidentStatus.resolved
    severity = str(incident.common_labels.get("severity", ""))
    colour = GREEN if resolved else (RED if severity == "critical" else AMBER)
    firing = sum(a.status == AlertStatus.firing for a in alerts)
    lines = []
    summary = annotation(incident.common_annotations, "summary", lang)
    if summary and len(alerts) > 1:
        lines.append(markup.escape(summary, multiline=True))
    key = "incident.embed.resolved" if resolved else "incident.embed.firing"
    lines.append(
        t(
            key,
            lang,
            id=incident.id,
            firing=firing,
            total=len(alerts),
            since=stamp(incident.opened_at, "R"),
            at=stamp(incident.resolved_at or incident.opened_at, "f"),
        )
    )
    if incident.previous_id is not None:
        where = f" <#{previous_thread}>" if previous_thread else ""
        lines.append(t("incident.embed.previous", lang, id=incident.previous_id, where=where))
    if incident.truncated_alerts:
        lines.append(t("incident.embed.truncated", lang, count=incident.truncated_alerts))
    if incident.acknowledged_at is not None:
        lines.append(
            t(
                "incident.embed.acknowledged",
                lang,
                by=markup.escape(incident.acknowledged_by or "?"),
                at=stamp(incident.acknowledged_at, "R"),
            )
        )
    if incident.silence_id is not None and incident.silenced_until is not None:
        lines.append(
            t(
                "incident.embed.silenced",
                lang,
                by=markup.escape(incident.silenced_by or "?"),
                until=stamp(incident.silenced_until, "t"),
                silence=markup.code(incident.silence_id),
            )
        )
    result: Payload = {
        "title": f"{RESOLVED if resolved else FIRING} {markup.escape(title(incident))}",
        "description": "\n".join(lines),
        "color": colour,
        # Built only for the alerts Discord will show: a long-running incident has hundreds.
        "fields": capped_fields(alerts, lambda alert: _field(alert, lang)),
        "footer": {
            "text": t(
                "incident.embed.footer",
                lang,
                severity=markup.plain(severity or "-"),
                receiver=markup.plain(incident.receiver),
            )
        },
        "timestamp": incident.last_notified_at.isoformat(),
    }
    if incident.external_url.startswith(("http://", "https://")):
        result["url"] = incident.external_url
    return result


def _field(alert: IncidentAlert, lang: Lang) -> Payload:
    mark = FIRING if alert.status == AlertStatus.firing else RESOLVED
    summary = annotation(alert.annotations, "summary", lang) or alert.labels.get("alertname") or ""
    parts = [markup.escape(summary, multiline=True)]
    when = (
        t("incident.alert.since", lang, since=stamp(alert.starts_at, "R"))
        if alert.status == AlertStatus.firing or alert.ends_at is None
        else t("incident.alert.resolved", lang, at=stamp(alert.ends_at, "t"))
    )
    runbook = markup.link_target(annotation(alert.annotations, "runbook_url", lang) or "")
    parts.append(when + (f" · [{t('incident.alert.runbook', lang)}]({runbook})" if runbook else ""))
    return {"name": f"{mark} {markup.escape(describe(alert))}", "value": "\n".join(p for p in parts if p)}


def annotation(annotations: Mapping[str, str], name: str, lang: Lang) -> str | None:
    """The annotation in the guild's language: `<name>_<lang>` when the rule has it (alert_rules/ gives
    summary_ko and runbook_url_ko), else the plain one, which Alertmanager's own receivers show too."""
    return annotations.get(f"{name}_{lang}") or annotations.get(name)


def describe(alert: IncidentAlert) -> str:
    """The labels that tell this alert from the others of its group: `pod=…, container=…` (as the labels
    say them: `markup.escape` it to show)."""
    shown = [f"{k}={alert.labels[k]}" for k in OBJECT_LABELS if k in alert.labels]
    others = sorted(k for k in alert.labels if k not in OBJECT_LABELS and k not in NOISE_LABELS)
    shown += [f"{k}={alert.labels[k]}" for k in others]
    return ", ".join(shown) or str(alert.labels.get("alertname", "alert"))


def buttons(incident: Incident, lang: Lang, silences: bool) -> list[Payload]:
    """Acknowledge and (with an Alertmanager to silence through) Silence 1 h / 4 h or Unsilence;
    none once the incident has resolved."""
    if incident.status == IncidentStatus.resolved:
        return []
    row: list[Payload] = [
        _button(
            incident.id, "ack", t("incident.button.ack", lang), style=2, disabled=incident.acknowledged_at is not None
        )
    ]
    if silences:
        if incident.silence_id is None:
            row.append(_button(incident.id, "silence1h", t("incident.button.silence", lang, hours=1), style=2))
            row.append(_button(incident.id, "silence4h", t("incident.button.silence", lang, hours=4), style=2))
        else:
            row.append(_button(incident.id, "unsilence", t("incident.button.unsilence", lang), style=1))
    return [{"type": 1, "components": row}]


def _button(incident_id: int, action: str, label: str, *, style: int, disabled: bool = False) -> Payload:
    return {
        "type": 2,
        "style": style,
        "label": label,
        "custom_id": custom_id(incident_id, action),
        "disabled": disabled,
    }


def changes(alerts: Sequence[IncidentAlert], lang: Lang) -> str | None:
    """One short message for the alerts whose status changed since it was last announced."""
    fired = [a for a in alerts if a.status == AlertStatus.firing and a.announced != AlertStatus.firing]
    ended = [a for a in alerts if a.status == AlertStatus.resolved and a.announced != AlertStatus.resolved]
    if not fired and not ended:
        return None
    head = t("incident.changes", lang, fired=len(fired), resolved=len(ended))
    return "\n".join([head, *map(_line, fired), *map(_line, ended)])


def embed_shows_all(alerts: Sequence[IncidentAlert]) -> bool:
    """Whether the starter's embed names every alert: beyond Discord's 25 fields `bot.limits.fit_embed`
    keeps 24 and a field "… N more"."""
    return len(alerts) <= EMBED_FIELDS_MAX


def alert_list(alerts: Sequence[IncidentAlert], lang: Lang) -> str:
    """Every alert with its status, one a line: what the embed cannot show (`embed_shows_all`)."""
    firing = sum(a.status == AlertStatus.firing for a in alerts)
    head = t("incident.alerts", lang, total=len(alerts), firing=firing, resolved=len(alerts) - firing)
    return "\n".join([head, *map(_line, alerts)])


def _line(alert: IncidentAlert) -> str:
    return f"{FIRING if alert.status == AlertStatus.firing else RESOLVED} {markup.escape(describe(alert))}"


def resolution(incident: Incident, lang: Lang) -> str:
    ended = incident.resolved_at or incident.last_notified_at
    return t("incident.resolved", lang, id=incident.id, duration=duration(ended - incident.opened_at, lang))


def duration(delta: timedelta, lang: Lang) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return t("incident.duration.hours", lang, hours=hours, minutes=minutes)
    if minutes:
        return t("incident.duration.minutes", lang, minutes=minutes, seconds=seconds)
    return t("incident.duration.seconds", lang, seconds=seconds)


def cluster_context(where: str, text: str, lang: Lang) -> str:
    """What the cluster says about an alert's objects (`where`: its labels), in a code block that nothing
    in `text` can close."""
    heading = t("incident.cluster", lang, where=markup.escape(where))
    return f"{heading}\n{FENCE}\n{markup.code(text, multiline=True)}\n{FENCE}"


def run_notice(incident: Incident, thread_id: int | None, lang: Lang) -> str:
    where = f"<#{thread_id}>" if thread_id else f"#{incident.id}"
    return t("incident.run_notice", lang, title=markup.escape(title(incident)), where=where)


def acknowledged(by: str, lang: Lang) -> str:
    return t("incident.acknowledged", lang, by=markup.escape(by))


def silenced(by: str, hours: int, until: datetime, silence_id: str, lang: Lang) -> str:
    return t(
        "incident.silenced",
        lang,
        by=markup.escape(by),
        hours=hours,
        until=stamp(until, "t"),
        silence=markup.code(silence_id),
    )


def unsilenced(by: str, silence_id: str, lang: Lang) -> str:
    return t("incident.unsilenced", lang, by=markup.escape(by), silence=markup.code(silence_id))


def listing_line(incident: Incident, thread_id: int | None, lang: Lang) -> str:
    mark = RESOLVED if incident.status == IncidentStatus.resolved else FIRING
    where = f" <#{thread_id}>" if thread_id else ""
    ack = " 👀" if incident.acknowledged_at else ""
    silenced_mark = " 🔕" if incident.silence_id else ""
    shown = markup.escape(title(incident))
    return f"{mark} **#{incident.id}** {shown} · {stamp(incident.opened_at, 'R')}{ack}{silenced_mark}{where}"
