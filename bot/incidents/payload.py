"""Alertmanager's webhook body (version "4"), validated.

The fields are those of Alertmanager's `webhook.Message` and `template.Data`: receiver, status,
alerts (status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint), groupLabels,
commonLabels, commonAnnotations, externalURL, version, groupKey, truncatedAlerts. Fields a newer
Alertmanager adds are ignored. `parse` turns a body into a `Notification` or raises `PayloadInvalid`
naming the first field that is wrong, in Alertmanager's own spelling (``alerts.0.startsAt``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bot.errors import KubecampError
from bot.i18n import Message
from bot.store.models import AlertStatus
from bot.store.notifications import AlertRecord, NotificationRecord

#: The zero time Alertmanager's Go code writes for "not set" (an alert that has not ended).
_GO_ZERO_YEAR = 1
#: The largest `truncatedAlerts` the store can keep (a 32-bit INTEGER column on PostgreSQL).
_TRUNCATED_MAX = 2**31 - 1

Status = Literal["firing", "resolved"]
Labels = dict[Annotated[str, StringConstraints(min_length=1, max_length=1024)], Annotated[str, Field(max_length=16384)]]


class PayloadInvalid(KubecampError):
    """The body is not a webhook notification the bot understands. `status` is the HTTP answer."""

    def __init__(self, status: int, problem: str) -> None:
        self.status = status
        self.problem = problem
        super().__init__(problem)
        self.message = Message("err.payload_invalid")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Alert(_Model):
    status: Status
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=8192)
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,64}$")]

    @field_validator("starts_at")
    @classmethod
    def _starts_in_utc(cls, value: datetime) -> datetime:
        return _in_utc(value)

    @field_validator("ends_at")
    @classmethod
    def _unset_is_none(cls, value: datetime | None) -> datetime | None:
        return None if value is None or value.year == _GO_ZERO_YEAR else _in_utc(value)


def _in_utc(value: datetime) -> datetime:
    # A time at the edge of the calendar with an offset has no UTC equivalent (year 0 or 10000).
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


class Notification(_Model):
    version: str
    group_key: str = Field(alias="groupKey", min_length=1, max_length=65536)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0, le=_TRUNCATED_MAX)
    status: Status
    receiver: str = Field(max_length=1024)
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=8192)
    alerts: list[Alert] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _version_4(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f'expected "4" (the webhook format of Alertmanager 0.x), got {value!r}')
        return value

    @field_validator("alerts")
    @classmethod
    def _each_once(cls, alerts: list[Alert]) -> list[Alert]:
        seen: set[tuple[str, datetime]] = set()
        for index, alert in enumerate(alerts):
            key = (alert.fingerprint, alert.starts_at)
            if key in seen:
                raise ValueError(f"alert {index} repeats fingerprint {alert.fingerprint} with the same startsAt")
            seen.add(key)
        return alerts

    def record(self) -> NotificationRecord:
        """The notification as the store keeps it."""
        return NotificationRecord(
            group_key=self.group_key,
            status=AlertStatus(self.status),
            receiver=self.receiver,
            alerts=[
                AlertRecord(
                    fingerprint=a.fingerprint,
                    status=AlertStatus(a.status),
                    starts_at=a.starts_at.astimezone(UTC),
                    ends_at=a.ends_at.astimezone(UTC) if a.ends_at is not None else None,
                    labels=a.labels,
                    annotations=a.annotations,
                    generator_url=a.generator_url,
                )
                for a in self.alerts
            ],
            group_labels=self.group_labels,
            common_labels=self.common_labels,
            common_annotations=self.common_annotations,
            external_url=self.external_url,
            truncated_alerts=self.truncated_alerts,
        )


def parse(body: bytes) -> Notification:
    """The notification in `body` (JSON); `PayloadInvalid` with 400 (not JSON) or 422 (wrong shape)."""
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: nested too deeply
        raise PayloadInvalid(400, f"the body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise PayloadInvalid(422, f"the body is a JSON {type(data).__name__}, not an object")
    where = _nul_in(data)
    if where is not None:
        # PostgreSQL's text cannot hold one: refused alike on every store, not kept on SQLite and a 503 (retried
        # for ever) on PostgreSQL.
        raise PayloadInvalid(422, f"{where}: a NUL character (\\u0000), which no text may hold")
    try:
        return Notification.model_validate(data)
    except ValidationError as e:
        error = e.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise PayloadInvalid(422, f"{where}: {error['msg']}") from None


def _nul_in(data: Any) -> str | None:
    """Where in the parsed JSON `data` a string (a key or a value) holds a NUL character, if anywhere: the path in
    Alertmanager's spelling (``alerts.0.labels.pod``), a key's as its object's with ``(a key)``. Walked without
    recursion: the body may nest as deep as the JSON parser allowed."""
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return where or "body"
        if isinstance(value, dict):
            if any("\x00" in key for key in value):
                return f"{where or 'body'} (a key)"
            pending.extend((f"{where}.{key}" if where else key, item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend(
                (f"{where}.{index}" if where else str(index), item) for index, item in reversed(list(enumerate(value)))
            )
    return None
