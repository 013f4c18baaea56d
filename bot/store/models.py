"""The tables: teams, challenge runs, scenario states, verifications, hint posts and submissions.

Conventions:

* Every timestamp is a timezone-aware UTC `datetime` (`UTCDateTime`); a naive one is refused on
  write rather than guessed at.
* Statuses are `StrEnum`s stored as short strings with a named CHECK constraint (no native database
  enum types, so that adding a value is an ordinary migration on every backend).
* Constraint and index names come from `NAMING_CONVENTION`, set on `SQLModel.metadata` before any
  table is declared, so that migrations can address them by name (SQLite batch mode needs names).
* Primary keys are typed `int`, not `int | None`: they are None only on an instance not yet
  inserted, and the store never hands out such an instance.
* There are no ORM relationships: the stores return detached rows and load what they need with
  explicit queries, so nothing lazy-loads after the session has closed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from bot.store.errors import InvalidValue
from bot.values import DNS1123_LABEL_MAX
from bot.values import TEAM_NAME_MAX as TEAM_NAME_MAX

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

#: A namespace's name is a DNS-1123 label; it and the longest team name are also CHECK constraints.
NAMESPACE_MAX = DNS1123_LABEL_MAX


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Writes refuse naive datetimes and convert aware ones to UTC; SQLite (which has no time zones)
    stores the naive UTC value, PostgreSQL a ``timestamptz``. Reads always return aware UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidValue("datetime", value, "not a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValue("datetime", value, "naive datetime refused: give it a time zone (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class RunStatus(StrEnum):
    active = "active"
    finished = "finished"  # every scenario solved before the deadline
    expired = "expired"  # the deadline passed
    stopped = "stopped"  # an instructor or the team stopped it


class ScenarioStatus(StrEnum):
    pending = "pending"
    solved = "solved"  # solved at least once; stays solved (first_solved_at is kept)
    skipped = "skipped"  # not set up for this run (skip_reason says why)


class VerificationTrigger(StrEnum):
    manual = "manual"  # a team member asked
    auto = "auto"  # the periodic check
    final = "final"  # at the end of the run


class HintSource(StrEnum):
    auto = "auto"  # the schedule posted it (the automatic verification, a later hint's offset)
    requested = "requested"  # a team member asked for it (/challenge hint)
    revealed = "revealed"  # an instructor revealed it (/admin reveal-hint)


class AppliedObject(TypedDict):
    """One object the bot applied for a run, recorded before or as it is applied."""

    apiVersion: str
    kind: str
    name: str
    scenario: str | None


def _enum(enum: type[StrEnum]) -> sa.Enum:
    # Stored as VARCHAR(16) + an explicit CHECK constraint (declared in __table_args__);
    # validate_strings refuses an unknown value before it reaches the database.
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def _in(column: str, enum: type[StrEnum]) -> str:
    # The column is quoted: "trigger" is a keyword in SQL.
    return f'"{column}" IN ({", ".join(repr(m.value) for m in enum)})'


def _now() -> datetime:
    return datetime.now(UTC)


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (
        sa.CheckConstraint(f"length(name) BETWEEN 1 AND {TEAM_NAME_MAX}", name="name_length"),
        sa.CheckConstraint(f"length(namespace) BETWEEN 1 AND {NAMESPACE_MAX}", name="namespace_length"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    name: str = Field(sa_column=sa.Column(sa.String(TEAM_NAME_MAX), nullable=False, unique=True))
    namespace: str = Field(sa_column=sa.Column(sa.String(NAMESPACE_MAX), nullable=False, unique=True))
    #: One Discord role is one team (`get_team_by_role`), hence unique; NULL until linked.
    discord_role_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, unique=True))
    discord_channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    created_at: datetime = Field(default_factory=_now, sa_column=sa.Column(UTCDateTime, nullable=False))


#: The partial unique index that makes "one active run per team and challenge" hold under races.
ACTIVE_RUN_INDEX = "uq_runs_active_team_challenge"
_ACTIVE = sa.text("status = 'active'")


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        sa.CheckConstraint(_in("status", RunStatus), name="status"),
        sa.Index(
            ACTIVE_RUN_INDEX,
            "team_id",
            "challenge_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        sa.Index("ix_runs_team_id_challenge_id", "team_id", "challenge_id"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    team_id: int = Field(foreign_key="teams.id", ondelete="RESTRICT", nullable=False)
    challenge_id: int = Field(nullable=False)
    status: RunStatus = Field(default=RunStatus.active, sa_column=sa.Column(_enum(RunStatus), nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    deadline: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    elapsed_seconds: int | None = None
    tier_percent: int | None = None
    points: int | None = None
    thread_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    #: Every object the bot applied (AppliedObject), appended as it goes, so that a run that failed
    #: half-way still says what to clean up.
    applied: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    #: Free-form remarks, e.g. {"skipped": {"scenario-id": "reason"}}.
    notes: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: The instructor who revealed the diagnoses of every failing check to this run; None until then.
    diagnosis_revealed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))


class ScenarioState(SQLModel, table=True):
    __tablename__ = "scenario_states"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "scenario_id"),
        sa.CheckConstraint(_in("status", ScenarioStatus), name="status"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    run_id: int = Field(foreign_key="runs.id", ondelete="CASCADE", nullable=False)
    scenario_id: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    status: ScenarioStatus = Field(
        default=ScenarioStatus.pending, sa_column=sa.Column(_enum(ScenarioStatus), nullable=False)
    )
    skip_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    #: How many verifications checked this scenario.
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
    first_solved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))


class Verification(SQLModel, table=True):
    __tablename__ = "verifications"
    __table_args__ = (sa.CheckConstraint(_in("trigger", VerificationTrigger), name="trigger"),)

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    run_id: int = Field(foreign_key="runs.id", ondelete="CASCADE", nullable=False, index=True)
    trigger: VerificationTrigger = Field(sa_column=sa.Column(_enum(VerificationTrigger), nullable=False))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    #: Every non-skipped scenario of the run passed in this verification.
    all_passed: bool = Field(nullable=False)
    #: The caller's per-scenario, per-check results, stored as given (JSON-serialisable).
    results: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


class HintPost(SQLModel, table=True):
    __tablename__ = "hint_posts"
    # The unique constraint is what keeps a hint from being posted twice, across restarts too.
    __table_args__ = (
        sa.UniqueConstraint("run_id", "scenario_id", "level"),
        sa.CheckConstraint(_in("source", HintSource), name="source"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    run_id: int = Field(foreign_key="runs.id", ondelete="CASCADE", nullable=False)
    scenario_id: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    level: int = Field(nullable=False)
    posted_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    #: Who asked for it or revealed it (a Discord user), or None when the schedule posted it.
    revealed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    #: How it came: only requested and revealed hints count as hints used.
    source: HintSource = Field(
        default=HintSource.auto,
        sa_column=sa.Column(_enum(HintSource), nullable=False, server_default=sa.text("'auto'")),
    )


class Submission(SQLModel, table=True):
    """One hand-in of a team's write-up; every one is kept, the newest per (team, challenge) counts."""

    __tablename__ = "submissions"
    __table_args__ = (sa.Index("ix_submissions_team_id_challenge_id", "team_id", "challenge_id"),)

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    team_id: int = Field(foreign_key="teams.id", ondelete="RESTRICT", nullable=False)
    challenge_id: int = Field(nullable=False)
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="RESTRICT", index=True)
    #: The answers keyed by the field ids of the challenge's `submission:` form (strings, as typed or,
    #: for an `auto` field, as the bot filled them in).
    answers: dict[str, str] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    submitted_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))


class Award(SQLModel, table=True):
    """Points an instructor gave a team for an item of a challenge's rubric, with who, when and why; an award
    taken back stays, marked undone (by whom, when)."""

    __tablename__ = "awards"
    __table_args__ = (
        sa.CheckConstraint("points >= 0", name="points_not_negative"),
        sa.CheckConstraint("length(reason) >= 1", name="reason_given"),
        sa.Index("ix_awards_team_id_challenge_id", "team_id", "challenge_id"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    team_id: int = Field(foreign_key="teams.id", ondelete="RESTRICT", nullable=False)
    challenge_id: int = Field(nullable=False)
    #: The team's run of the challenge the award was given on (its latest one then).
    run_id: int = Field(foreign_key="runs.id", ondelete="RESTRICT", nullable=False, index=True)
    #: The rubric criterion's id.
    item: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    points: int = Field(nullable=False)
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: Who gave it: a Discord user id, or `cli:<user>` from the command line.
    awarded_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    awarded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    undone_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    undone_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))


class Evidence(SQLModel, table=True):
    """A command's output a team pasted for an `evidence` item of a challenge's rubric, and passed: who pasted
    it, when, what the parser found and the text itself. A paste that does not pass is answered, not kept."""

    __tablename__ = "evidence"
    __table_args__ = (sa.Index("ix_evidence_team_id_challenge_id", "team_id", "challenge_id"),)

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    team_id: int = Field(foreign_key="teams.id", ondelete="RESTRICT", nullable=False)
    challenge_id: int = Field(nullable=False)
    #: The team's run of the challenge the paste was made on (its latest one then).
    run_id: int = Field(foreign_key="runs.id", ondelete="RESTRICT", nullable=False, index=True)
    #: The rubric criterion's id.
    item: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    #: The parser that read it (`docker-service-ls`).
    parser: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    #: What the parser found, as `Message.to_json()`.
    verdict: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    #: The paste as the team gave it (at most `bot.limits.TEXT_INPUT_MAX` characters).
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: Who pasted it: a Discord user id, or `cli:<user>` from the command line.
    submitted_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Tick(SQLModel, table=True):
    """A lab's checkpoint the team ticked itself with the button in its run's thread: who and when. One per team,
    challenge and checkpoint: a second press finds this one."""

    __tablename__ = "ticks"
    __table_args__ = (sa.UniqueConstraint("team_id", "challenge_id", "item"),)

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    team_id: int = Field(foreign_key="teams.id", ondelete="RESTRICT", nullable=False)
    challenge_id: int = Field(nullable=False)
    #: The run whose thread carried the button.
    run_id: int = Field(foreign_key="runs.id", ondelete="RESTRICT", nullable=False, index=True)
    #: The checkpoint's id.
    item: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    #: Who ticked it: a Discord user id.
    ticked_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    ticked_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Freeze(SQLModel, table=True):
    """A challenge's scoreboard frozen at a moment: what the public sees of it stops there (CTFd's freeze)."""

    __tablename__ = "freezes"

    challenge_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    #: Who froze it: a Discord user's name, or `cli:<user>` from the command line.
    frozen_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))


class OutboxKind(StrEnum):
    message = "message"  # post a message in a channel (or in the run's thread)
    thread = "thread"  # post a starter message and start a public thread from it
    edit = "edit"  # edit a message an earlier outbox entry posted
    thread_update = "thread_update"  # rename or (un)archive a thread


#: Longest outbox dedupe key; also a CHECK constraint.
OUTBOX_KEY_MAX = 200
#: Partial index over the entries still to deliver (neither sent nor failed), in id order.
OUTBOX_UNSENT_INDEX = "ix_outbox_unsent"
_UNSENT = sa.text("sent_at IS NULL AND failed_at IS NULL")


class OutboxEntry(SQLModel, table=True):
    """One thing the bot says on its own, written before it is delivered (`bot.outbox.Outbox`).

    `dedupe_key` makes enqueueing idempotent: whoever enqueues the same event twice (a retried
    verification, a hint scheduler after a restart) gets the first entry back. The entry is sent
    when `sent_at` is set, and only once Discord has accepted it; `failed_at` + `last_error` record
    a permanent refusal (kept, never deleted). `parts_sent` counts the parts of a message that was
    split to fit Discord's limits and has been partly delivered.

    Where it goes: `channel_id`; else, for a message or a thread update with `run_id`, the run's
    thread once it exists; for an edit, wherever the entry `target_id` landed. Where it landed:
    `discord_channel_id` / `discord_message_id` (of the first part; for a thread, the thread and
    its starter message).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", OutboxKind), name="kind"),
        sa.CheckConstraint(f"length(dedupe_key) BETWEEN 1 AND {OUTBOX_KEY_MAX}", name="dedupe_key_length"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("parts_sent >= 0", name="parts_sent_not_negative"),
        sa.Index(OUTBOX_UNSENT_INDEX, "id", sqlite_where=_UNSENT, postgresql_where=_UNSENT),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    dedupe_key: str = Field(sa_column=sa.Column(sa.String(OUTBOX_KEY_MAX), nullable=False, unique=True))
    kind: OutboxKind = Field(sa_column=sa.Column(_enum(OutboxKind), nullable=False))
    channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    #: For an edit: the entry whose message it edits.
    target_id: int | None = Field(default=None, foreign_key="outbox.id", ondelete="RESTRICT", index=True)
    #: Message JSON as Discord takes it (before `bot.limits.fit_message`); for a thread
    #: {"name", "message"}, for a thread update {"name"?, "archived"?}.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    parts_sent: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default=sa.text("0")))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    discord_channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    discord_message_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    failed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class IncidentStatus(StrEnum):
    firing = "firing"  # at least one alert of the group is firing
    resolved = "resolved"  # every alert of the group has resolved; a new firing opens a new incident


class AlertStatus(StrEnum):
    firing = "firing"
    resolved = "resolved"


#: One firing incident per Alertmanager group: a partial unique index on the group key.
OPEN_INCIDENT_INDEX = "uq_incidents_open_group_key"
_FIRING = sa.text("status = 'firing'")


class Incident(SQLModel, table=True):
    """One episode of an Alertmanager alert group (its `group_key`), from first firing to resolved.

    `version` counts the changes the notifications (and acknowledgements, silences) made;
    `published_version` is the last version rendered into the outbox (`bot.incidents.publisher`), so
    an incident with `version > published_version` is still to be shown in Discord.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        sa.CheckConstraint(_in("status", IncidentStatus), name="status"),
        sa.CheckConstraint("truncated_alerts >= 0", name="truncated_alerts_not_negative"),
        sa.Index(OPEN_INCIDENT_INDEX, "group_key", unique=True, sqlite_where=_FIRING, postgresql_where=_FIRING),
        sa.Index("ix_incidents_group_key", "group_key"),
        sa.Index("ix_incidents_published_version_version", "published_version", "version"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    group_key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: IncidentStatus = Field(
        default=IncidentStatus.firing, sa_column=sa.Column(_enum(IncidentStatus), nullable=False)
    )
    receiver: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: The alerts' namespace when they share one; it decides the team.
    namespace: str | None = Field(default=None, sa_column=sa.Column(sa.String(NAMESPACE_MAX)))
    team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="SET NULL")
    #: Where the incident's thread is started; None when neither a team channel nor an alerts channel exists.
    channel_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    #: The team's active run when the incident opened: that run's thread is told about it.
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL")
    run_notified: bool = Field(default=False, nullable=False)
    #: The incident of the same group before this one (the group fired again after resolving).
    previous_id: int | None = Field(default=None, foreign_key="incidents.id", ondelete="SET NULL", index=True)
    group_labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    common_labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    common_annotations: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    external_url: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    #: Alerts Alertmanager left out of the last notification (its receiver's max_alerts).
    truncated_alerts: int = Field(default=0, nullable=False)
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_notified_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    acknowledged_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    acknowledged_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    silence_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    silenced_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    silenced_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    version: int = Field(default=1, nullable=False)
    published_version: int = Field(default=0, nullable=False)
    published_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))


class IncidentAlert(SQLModel, table=True):
    """One alert of an incident: an Alertmanager alert instance, (fingerprint, startsAt).

    A resolved alert stays resolved: the same alert firing again has a new startsAt. `announced` is
    the status last shown in the thread, so the publisher posts each change once.
    """

    __tablename__ = "incident_alerts"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "fingerprint", "starts_at"),
        sa.CheckConstraint(_in("status", AlertStatus), name="status"),
        sa.CheckConstraint(f"announced IS NULL OR {_in('announced', AlertStatus)}", name="announced"),
    )

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    incident_id: int = Field(foreign_key="incidents.id", ondelete="CASCADE", nullable=False)
    fingerprint: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    starts_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    ends_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime))
    status: AlertStatus = Field(sa_column=sa.Column(_enum(AlertStatus), nullable=False))
    announced: AlertStatus | None = Field(default=None, sa_column=sa.Column(_enum(AlertStatus)))
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    generator_url: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))


class Board(SQLModel, table=True):
    """An instructors' board: one message per challenge that the bot keeps current by editing it
    (`bot.challenges.board`). The message is an outbox entry (`message_key`); each edit is one more, under a key
    counted by `edits`. `shown` is what the last edit enqueued shows, so that an unchanged board is not edited."""

    __tablename__ = "boards"
    __table_args__ = (sa.UniqueConstraint("challenge_id"),)

    id: int = Field(default=None, primary_key=True)  # see module docstring: None until inserted
    challenge_id: int = Field(nullable=False)
    channel_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    message_key: str = Field(sa_column=sa.Column(sa.String(OUTBOX_KEY_MAX), nullable=False))
    edits: int = Field(default=0, nullable=False)
    shown: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    #: Who asked for it: a Discord user's name.
    posted_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    posted_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
