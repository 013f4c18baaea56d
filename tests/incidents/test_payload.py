"""`bot.incidents.payload.parse`: Alertmanager's webhook body (version "4") in, a validated notification out.

Proved here: every body captured from a real Alertmanager parses, with the fields the store relies on; hand-written
bodies, minimal and full, parse; Go's zero time means "not ended"; fields a newer Alertmanager adds are ignored;
each wrong body is refused with the HTTP status the webhook answers (400 not JSON, 422 wrong shape) and the
field named in Alertmanager's own spelling; and, for any JSON at all, `parse` either returns a notification the
store can take (`record()`) or raises `PayloadInvalid`, never another exception.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.incidents.payload import Notification, PayloadInvalid, parse
from bot.store.models import AlertStatus
from bot.store.notifications import NotificationRecord

HERE = Path(__file__).parent
#: Bodies captured from a real Alertmanager (see payloads/README.md); more may be added while they are captured.
CAPTURED = sorted({*HERE.glob("payload/*.json"), *HERE.glob("payloads/*.json")})
FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def body(**top: Any) -> dict[str, Any]:
    """A hand-written v4 body of one firing alert (Alertmanager's field names); `top` overrides top-level keys."""
    result: dict[str, Any] = {
        "receiver": "kubecamp-bot",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "KubePodCrashLooping", "namespace": "kc-blue", "pod": "web-1"},
                "annotations": {"summary": "Pod web-1 is crash looping.", "runbook_url": "https://runbooks/crash"},
                "startsAt": "2025-03-01T09:00:00.123Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                "fingerprint": "0123456789abcdef",
            }
        ],
        "groupLabels": {"alertname": "KubePodCrashLooping", "namespace": "kc-blue"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "kc-blue", "pod": "web-1"},
        "commonAnnotations": {"summary": "Pod web-1 is crash looping."},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="KubePodCrashLooping", namespace="kc-blue"}',
        "truncatedAlerts": 0,
    }
    result.update(top)
    return result


def encode(data: Any) -> bytes:
    return json.dumps(data).encode()


def refused(data: Any) -> PayloadInvalid:
    with pytest.raises(PayloadInvalid) as caught:
        parse(data if isinstance(data, bytes) else encode(data))
    return caught.value


def with_alert(**fields: Any) -> dict[str, Any]:
    """The hand-written body with its alert's fields replaced (None: removed)."""
    data = body()
    alert = data["alerts"][0]
    for key, value in fields.items():
        if value is None:
            alert.pop(key)
        else:
            alert[key] = value
    return data


# -- bodies Alertmanager sent ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CAPTURED, ids=[p.name for p in CAPTURED])
def test_every_captured_alertmanager_body_parses(path: Path) -> None:
    raw = json.loads(path.read_bytes())
    notification = parse(path.read_bytes())

    assert notification.version == "4"
    assert (notification.group_key, notification.receiver, notification.status) == (
        raw["groupKey"],
        raw["receiver"],
        raw["status"],
    )
    assert notification.truncated_alerts == raw.get("truncatedAlerts", 0)
    assert notification.common_labels == raw["commonLabels"]
    assert notification.external_url == raw["externalURL"]
    assert len(notification.alerts) == len(raw["alerts"])
    # Alertmanager's rule: a body is firing while any alert of it fires.
    assert (notification.status == "firing") == any(a.status == "firing" for a in notification.alerts)
    for alert, sent in zip(notification.alerts, raw["alerts"], strict=True):
        assert FINGERPRINT.match(alert.fingerprint), alert.fingerprint
        assert alert.fingerprint == sent["fingerprint"]
        assert alert.labels == sent["labels"] and "alertname" in alert.labels
        assert alert.annotations == sent["annotations"]
        assert alert.starts_at.utcoffset() == timedelta(0)
        assert alert.generator_url == sent["generatorURL"]
        if alert.status == "firing":
            assert sent["endsAt"] == "0001-01-01T00:00:00Z"
            assert alert.ends_at is None
        else:
            assert alert.ends_at is not None and alert.ends_at >= alert.starts_at

    record = notification.record()
    assert isinstance(record, NotificationRecord)
    assert [a.fingerprint for a in record.alerts] == [a["fingerprint"] for a in raw["alerts"]]
    assert all(a.starts_at.tzinfo is UTC for a in record.alerts)


#: What each captured body (payloads/README.md) says, checked when it is there.
EXPECTED = {
    "firing_one.json": ("firing", 1, 0, "kubecamp-blue", {"firing": 1}),
    "firing_three.json": ("firing", 3, 0, "kubecamp-blue", {"firing": 3}),
    "resolved_partial.json": ("firing", 3, 0, "kubecamp-blue", {"firing": 2, "resolved": 1}),
    "resolved_all.json": ("resolved", 3, 0, "kubecamp-blue", {"resolved": 3}),
    "truncated.json": ("firing", 2, 3, "kubecamp-blue", {"firing": 2}),
    "no_namespace.json": ("firing", 1, 0, None, {"firing": 1}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_captured_body_says_what_its_scenario_did(name: str) -> None:
    path = next((p for p in CAPTURED if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} has not been captured")
    record = parse(path.read_bytes()).record()
    status, count, truncated, namespace, by_status = EXPECTED[name]
    counted: dict[str, int] = {}
    for alert in record.alerts:
        counted[alert.status] = counted.get(alert.status, 0) + 1
    assert (record.status, len(record.alerts), record.truncated_alerts, record.namespace, counted) == (
        status,
        count,
        truncated,
        namespace,
        by_status,
    )


def test_the_captured_episode_keeps_its_fingerprints_and_start_times() -> None:
    names = ("firing_three.json", "resolved_partial.json", "resolved_all.json")
    paths = [next((p for p in CAPTURED if p.name == name), None) for name in names]
    if any(p is None for p in paths):
        pytest.skip("the episode has not been captured")
    records = [parse(p.read_bytes()).record() for p in paths if p is not None]
    keys = [{(a.fingerprint, a.starts_at) for a in r.alerts} for r in records]
    assert keys[0] == keys[1] == keys[2]
    assert len({r.group_key for r in records}) == 1


# -- hand-written bodies ---------------------------------------------------------------------------------------------


def test_a_full_v4_body_parses_into_what_the_store_keeps() -> None:
    notification = parse(encode(body()))
    assert isinstance(notification, Notification)
    record = notification.record()
    assert (record.group_key, record.status, record.receiver, record.truncated_alerts) == (
        '{}:{alertname="KubePodCrashLooping", namespace="kc-blue"}',
        AlertStatus.firing,
        "kubecamp-bot",
        0,
    )
    assert record.namespace == "kc-blue"
    assert record.group_labels == {"alertname": "KubePodCrashLooping", "namespace": "kc-blue"}
    assert record.common_annotations == {"summary": "Pod web-1 is crash looping."}
    assert record.external_url == "http://alertmanager:9093"
    (alert,) = record.alerts
    assert (alert.fingerprint, alert.status, alert.ends_at) == ("0123456789abcdef", AlertStatus.firing, None)
    assert alert.starts_at == datetime(2025, 3, 1, 9, 0, 0, 123000, tzinfo=UTC)
    assert alert.labels["pod"] == "web-1"
    assert alert.annotations["runbook_url"] == "https://runbooks/crash"
    assert alert.generator_url == "http://prometheus:9090/graph?g0.expr=up"


def test_a_minimal_body_takes_the_defaults() -> None:
    minimal = {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "resolved",
        "receiver": "kubecamp-bot",
        "alerts": [
            {
                "status": "resolved",
                "labels": {},
                "startsAt": "2025-03-01T09:00:00Z",
                "endsAt": "2025-03-01T09:05:00Z",
                "fingerprint": "a",
            }
        ],
    }
    record = parse(encode(minimal)).record()
    assert (record.group_labels, record.common_labels, record.common_annotations) == ({}, {}, {})
    assert (record.external_url, record.truncated_alerts, record.namespace) == ("", 0, None)
    (alert,) = record.alerts
    assert (alert.annotations, alert.generator_url) == ({}, "")
    assert (alert.status, alert.ends_at) == (AlertStatus.resolved, T0 + timedelta(minutes=5))


def test_gos_zero_time_means_the_alert_has_not_ended() -> None:
    assert parse(encode(with_alert(endsAt="0001-01-01T00:00:00Z"))).alerts[0].ends_at is None
    assert parse(encode(with_alert(endsAt=None))).alerts[0].ends_at is None  # absent
    assert parse(encode(with_alert(endsAt="2025-03-01T09:04:00Z"))).alerts[0].ends_at == T0 + timedelta(minutes=4)


def test_times_in_another_zone_or_with_nanoseconds_become_utc() -> None:
    record = parse(encode(with_alert(startsAt="2025-03-01T18:00:00.123456789+09:00"))).record()
    assert record.alerts[0].starts_at == T0 + timedelta(microseconds=123456)
    assert record.alerts[0].starts_at.tzinfo is UTC


def test_fields_a_newer_alertmanager_adds_are_ignored() -> None:
    data = body(orgId=7, silencedBy=["x"], nested={"any": [1, {"thing": None}]})
    data["alerts"][0]["silencedBy"] = []
    data["alerts"][0]["inhibitedBy"] = ["y"]
    data["alerts"][0]["valueString"] = "[ var='A' value=1 ]"
    assert parse(encode(data)).record() == parse(encode(body())).record()


def test_a_body_with_a_byte_order_mark_or_trailing_newline_is_json() -> None:
    assert parse(encode(body()) + b"\n").group_key == body()["groupKey"]  # Go's json.Encoder adds one
    assert parse(json.dumps(body()).encode("utf-16")).receiver == "kubecamp-bot"


# -- refused bodies --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"{nope", b"\xff\xfe{", b"version=4", b'{"version": "4",}', b"[" * 100_000, b'{"a":' * 100_000],
    ids=["empty", "broken", "bad-utf", "form", "trailing-comma", "nested-array", "nested-object"],
)
def test_a_body_that_is_not_json_is_400(raw: bytes) -> None:
    error = refused(raw)
    assert error.status == 400
    assert error.problem.startswith("the body is not JSON")


@pytest.mark.parametrize(("value", "kind"), [([body()], "list"), ("4", "str"), (4, "int"), (None, "NoneType")])
def test_json_that_is_not_an_object_is_422(value: Any, kind: str) -> None:
    error = refused(value)
    assert (error.status, error.problem) == (422, f"the body is a JSON {kind}, not an object")


def test_a_version_other_than_4_is_422_naming_version() -> None:
    error = refused(body(version="3"))
    assert error.status == 422
    assert error.problem.startswith("version: ")
    assert "'3'" in error.problem
    assert refused(body(version=4)).problem.startswith("version: ")  # a number is not the string "4"
    missing = body()
    del missing["version"]
    assert refused(missing).problem == "version: Field required"


@pytest.mark.parametrize("key", ["groupKey", "status", "receiver", "alerts"])
def test_a_missing_required_field_is_422_naming_it(key: str) -> None:
    data = body()
    del data[key]
    error = refused(data)
    assert (error.status, error.problem) == (422, f"{key}: Field required")


def test_an_empty_group_key_is_422() -> None:
    error = refused(body(groupKey=""))
    assert (error.status, error.problem.split(":")[0]) == (422, "groupKey")


def test_a_missing_start_is_422_naming_the_alert_field() -> None:
    error = refused(with_alert(startsAt=None))
    assert (error.status, error.problem) == (422, "alerts.0.startsAt: Field required")


@pytest.mark.parametrize("starts_at", ["2025-03-01T09:00:00", "2025-03-01T09:00:00.5", "2025-03-01 09:00:00"])
def test_a_naive_start_is_422_naming_the_alert_field(starts_at: str) -> None:
    error = refused(with_alert(startsAt=starts_at))
    assert error.status == 422
    assert error.problem.startswith("alerts.0.startsAt: ")
    assert "timezone" in error.problem


@pytest.mark.parametrize("starts_at", ["yesterday", "2025-13-01T00:00:00Z", "", None])
def test_a_start_that_is_no_time_is_422(starts_at: str | None) -> None:
    error = refused(with_alert(startsAt=starts_at) if starts_at is not None else with_alert(startsAt=[]))
    assert (error.status, error.problem.split(": ")[0]) == (422, "alerts.0.startsAt")


@pytest.mark.parametrize(
    ("field", "value"), [("startsAt", "0001-01-01T00:00:00+01:00"), ("endsAt", "9999-12-31T23:59:59-01:00")]
)
def test_a_time_with_no_utc_equivalent_is_422(field: str, value: str) -> None:
    error = refused(with_alert(**{field: value, "status": "resolved"}))
    assert (error.status, error.problem.split(": ")[0]) == (422, f"alerts.0.{field}")


def test_a_naive_end_is_422_naming_it() -> None:
    error = refused(with_alert(status="resolved", endsAt="2025-03-01T09:05:00"))
    assert (error.status, error.problem.split(": ")[0]) == (422, "alerts.0.endsAt")


@pytest.mark.parametrize("fingerprint", ["", "XYZ", "0123456789ABCDEF", "f" * 65, "12 34", 1234])
def test_a_bad_fingerprint_is_422_naming_it(fingerprint: Any) -> None:
    error = refused(with_alert(fingerprint=fingerprint))
    assert (error.status, error.problem.split(": ")[0]) == (422, "alerts.0.fingerprint")


def test_a_missing_fingerprint_of_the_second_alert_is_named_by_its_index() -> None:
    data = body()
    second = copy.deepcopy(data["alerts"][0])
    del second["fingerprint"]
    data["alerts"].append(second)
    assert refused(data).problem == "alerts.1.fingerprint: Field required"


def test_an_empty_alerts_list_is_422() -> None:
    error = refused(body(alerts=[]))
    assert (error.status, error.problem.split(": ")[0]) == (422, "alerts")


def test_the_same_alert_twice_is_422() -> None:
    data = body()
    data["alerts"].append(copy.deepcopy(data["alerts"][0]))
    error = refused(data)
    assert error.status == 422
    assert error.problem.startswith("alerts: ")
    assert "alert 1 repeats fingerprint 0123456789abcdef" in error.problem


def test_the_same_fingerprint_with_another_start_is_another_alert() -> None:
    data = body()
    data["alerts"].append({**data["alerts"][0], "startsAt": "2025-03-01T10:00:00Z"})
    assert len(parse(encode(data)).alerts) == 2
    # The same instant in another zone is the same start.
    data["alerts"][1]["startsAt"] = "2025-03-01T18:00:00.123+09:00"
    assert "repeats fingerprint" in refused(data).problem


@pytest.mark.parametrize("truncated", [-1, 1.5, "many", 2**31, 10**30])
def test_a_bad_truncated_alerts_is_422(truncated: Any) -> None:
    error = refused(body(truncatedAlerts=truncated))
    assert (error.status, error.problem.split(": ")[0]) == (422, "truncatedAlerts")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (body(status="pending"), "status"),
        (with_alert(status="inactive"), "alerts.0.status"),
        (with_alert(labels={"pod": 1}), "alerts.0.labels.pod"),
        (with_alert(labels=None), "alerts.0.labels"),
        (body(commonLabels=["a"]), "commonLabels"),
        (body(alerts={"0": {}}), "alerts"),
        (body(alerts=["firing"]), "alerts.0"),
        (body(receiver=None), "receiver"),
    ],
)
def test_other_wrong_shapes_are_422_naming_the_field(data: dict[str, Any], where: str) -> None:
    error = refused(data)
    assert (error.status, error.problem.split(": ")[0]) == (422, where)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (body(groupKey='{}:{alertname="A\x00"}'), "groupKey"),
        (body(receiver="kubecamp\x00"), "receiver"),
        (with_alert(labels={"alertname": "A", "namespace": "kubecamp-blue\x00"}), "alerts.0.labels.namespace"),
        (with_alert(labels={"alertname": "A", "pod\x00": "web"}), "alerts.0.labels (a key)"),
        (with_alert(annotations={"summary": "\x00"}), "alerts.0.annotations.summary"),
        (body(commonAnnotations={"summary": "down\x00"}), "commonAnnotations.summary"),
    ],
)
def test_a_nul_character_anywhere_is_422_naming_where(data: dict[str, Any], where: str) -> None:
    """PostgreSQL's text cannot hold one: refused alike on every store rather than kept on SQLite and a 503
    (retried for ever) on PostgreSQL."""
    error = refused(data)
    assert (error.status, error.problem.split(": ")[0]) == (422, where)
    assert "NUL character" in error.problem


# -- any JSON --------------------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
TIMES = st.sampled_from(
    [
        "2025-03-01T09:00:00Z",
        "2025-03-01T09:00:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59Z",
        "2025-03-01T18:00:00.123456789+09:00",
        "",
    ]
)
# Empty containers are built afresh: a shared one would be mutated by a later step and change later examples.
SPECIAL = (
    st.sampled_from(["4", "firing", "resolved", "", "0123456789abcdef", 0, 2**31, -1, 10**30, None])
    | st.builds(list)
    | st.builds(dict)
)
VALUES = TIMES | SPECIAL | JSON


@st.composite
def near_notifications(draw: st.DrawFn) -> Any:
    """A valid body, then one to three of its values replaced, removed or added: at the top, in an alert, in a map
    of labels."""
    data = body()
    if draw(st.booleans()):
        data["alerts"].append({**data["alerts"][0], "fingerprint": "fedcba9876543210"})
    for _ in range(draw(st.integers(1, 3))):
        alerts = (
            [a for a in data.get("alerts", []) if isinstance(a, dict)] if isinstance(data.get("alerts"), list) else []
        )
        where = draw(st.sampled_from(["top", "alert", "alert", "labels"]))
        if where == "alert" and alerts:
            target = draw(st.sampled_from(alerts))
        elif where == "labels":
            target = draw(st.sampled_from([d for d in _dicts(data) if d is not data and d not in alerts] or [data]))
        else:
            target = data
        key = draw(st.sampled_from([*sorted(target), "unknown"]))
        if draw(st.integers(0, 3)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(VALUES)
    return data


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Every object in `value`, itself included."""
    if isinstance(value, dict):
        return [value, *(d for v in value.values() for d in _dicts(v))]
    if isinstance(value, list):
        return [d for v in value for d in _dicts(v)]
    return []


@settings(max_examples=200, deadline=None)
@given(data=JSON)
def test_json_that_is_no_notification_at_all_is_payload_invalid(data: Any) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        parse(encode(data))
    assert caught.value.status == 422  # it is JSON, of the wrong shape
    assert caught.value.problem


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=near_notifications())
def test_a_body_near_a_notification_is_one_the_store_can_take_or_payload_invalid(data: Any) -> None:
    try:
        notification = parse(encode(data))
    except PayloadInvalid as e:
        assert e.status == 422  # it is JSON
        assert e.problem
        return
    record = notification.record()  # what the webhook hands to the store next
    assert record.alerts
    assert 0 <= record.truncated_alerts < 2**31  # a 32-bit INTEGER column
    for alert in record.alerts:
        assert alert.starts_at.tzinfo is UTC
        assert alert.ends_at is None or alert.ends_at.tzinfo is UTC


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_any_bytes_are_refused_with_400_or_422(raw: bytes) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        parse(raw)
    assert caught.value.status in (400, 422)
