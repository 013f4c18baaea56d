"""The class's tables: teams, runs, scenario states, verifications, hints, submissions, awards, evidence,
ticks, freezes and boards."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.store.models.columns import NAMESPACE_MAX, TEAM_NAME_MAX, UTCDateTime, _enum, _in, _now
from bot.store.models.outbox import OUTBOX_KEY_MAX


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
