"""Submissions: each challenge's own hand-in form (`submission:` in its challenge.yaml), checked and kept.

The form's fields are typed into a Discord modal, except `auto` ones, which the bot fills in (the
completion time from the team's run). Answers are stored keyed by field id; every submission is kept
and the newest per team and challenge is the current one. Instructors list and export them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import markup
from bot.challenges.catalog import Catalog, Challenge, Text
from bot.challenges.submission_form import SUBMISSION_COMMON_COLUMNS, SubmissionFieldSpec, SubmissionSpec
from bot.errors import KubecampError, NoActiveRun
from bot.i18n import Message
from bot.metrics import Metrics
from bot.repository_review import RepositoryReview
from bot.spreadsheet import cell, csv_file
from bot.store import Run, RunStatus, Store, Submission, Team
from bot.values import github_url, hhmm

#: Submissions on one page of `/submissions list`: five fit in an embed's 6000 characters.
PAGE_SIZE = 5
#: The export column that keeps answers to fields the challenge's form no longer has.
OTHER_ANSWERS = "other_answers"


class SubmissionInvalid(KubecampError):
    """An answer breaks its field's rule; `label` is the field's label, `problem` says what to fix."""

    def __init__(self, field: str, label: Text, problem: Message) -> None:
        super().__init__(f"{field}: {problem.key} {dict(problem.params)}")
        self.field = field
        self.label = label
        self.problem = problem
        self.message = Message("err.submission_invalid", {"field": label.model_dump(), "problem": problem.to_json()})


class NoSubmissionForm(KubecampError):
    """The challenge declares no `submission:` form, so it takes no submissions."""

    def __init__(self, challenge_id: int) -> None:
        super().__init__(f"challenge {challenge_id} has no submission form")
        self.challenge_id = challenge_id
        self.message = Message("err.no_submission_form", {"challenge": challenge_id})


@dataclass(frozen=True)
class SubmissionForm:
    """The form a team fills in: which challenge, and its fields."""

    challenge: Challenge
    spec: SubmissionSpec


@dataclass(frozen=True)
class SubmissionPage:
    entries: list[tuple[Submission, Team]]
    page: int  # 1-based; past the last page, the last page
    pages: int
    total: int


def completion_time(finished_at: datetime | None, now: datetime, timezone: str) -> str:
    """The course's 완료 시간 (HH:MM): when the run finished, else now, in the class's time zone."""
    return (finished_at or now).astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def shown(answer: str, field: SubmissionFieldSpec | None) -> str:
    """An answer as Discord shows it: a GitHub URL the form checked stays a link to GitHub, anything else
    reads as typed with its Markdown inert."""
    if field is not None and field.format == "github_url":
        try:
            if github_url(answer) == answer:
                return answer
        except ValueError:
            pass
    return markup.escape(answer, multiline=True)


def _checked(field: SubmissionFieldSpec, typed: str) -> str:
    value = typed.strip()
    if not value:
        if field.required:
            raise SubmissionInvalid(field.id, field.label, Message("submit.problem_required"))
        return ""
    if len(value) > field.max_length:
        raise SubmissionInvalid(field.id, field.label, Message("submit.problem_too_long", {"max": field.max_length}))
    if field.format == "github_url":
        try:
            return github_url(value)
        except ValueError:
            raise SubmissionInvalid(field.id, field.label, Message("submit.problem_github_url")) from None
    if field.format == "hhmm":
        try:
            hhmm(value)
        except ValueError:
            raise SubmissionInvalid(field.id, field.label, Message("submit.problem_hhmm")) from None
    return value


class SubmissionService:
    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        clock: Callable[[], datetime],
        timezone: str,
        metrics: Metrics | None = None,
        review: RepositoryReview | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._clock = clock
        self._timezone = timezone
        self._metrics = metrics or Metrics()
        self._review = review

    async def form(self, team: Team, challenge_id: int | None = None) -> SubmissionForm:
        """The form for `challenge_id`, or else for the team's active run, else its most recent one."""
        if challenge_id is None:
            runs = await self._store.runs.of_team(team.id)
            if not runs:
                raise NoActiveRun(team.name)
            active = [r for r in runs if r.status == RunStatus.active]
            challenge_id = max(active or runs, key=lambda r: (r.started_at, r.id)).challenge_id
        challenge = self._catalog.get(challenge_id)
        if challenge.spec.submission is None:
            raise NoSubmissionForm(challenge.id)
        return SubmissionForm(challenge=challenge, spec=challenge.spec.submission)

    async def submit(
        self, team: Team, challenge_id: int, typed: Mapping[str, str], *, by: str | None
    ) -> tuple[Submission, int]:
        """Check the typed answers against the form, fill in the `auto` fields and keep the submission.

        Returns it and how many earlier ones it replaces (they are kept as history).
        """
        form = await self.form(team, challenge_id)
        unknown = sorted(set(typed) - {f.id for f in form.spec.inputs})
        if unknown:
            raise ValueError(f"challenge {challenge_id}'s form has no input(s) {unknown}")
        runs = [r for r in await self._store.runs.of_team(team.id) if r.challenge_id == challenge_id]
        latest = max(runs, key=lambda r: (r.started_at, r.id)) if runs else None
        answers = {
            field.id: self._filled(field, runs) if field.auto else _checked(field, typed.get(field.id, ""))
            for field in form.spec.fields
        }
        earlier = await self._store.submissions.of_team(team.id, challenge_id)
        submission = await self._store.submissions.add(
            team.id,
            challenge_id,
            answers=answers,
            submitted_at=self._clock(),
            run_id=latest.id if latest else None,
            submitted_by=by,
        )
        self._metrics.submissions.labels(str(challenge_id)).inc()
        return submission, len(earlier)

    async def review_channel(self, team: Team, submission: Submission) -> int | None:
        """Where the check of the submission's repository will answer; None when there is nothing to check (the
        challenge prescribes no layout, or the bot checks no repositories)."""
        if self._review is None or self._review.submitted_url(submission) is None:
            return None
        return await self._review.where(team, submission)

    async def review(self, team: Team, submission: Submission) -> None:
        """Check the submitted repository against the challenge's layout and post the answer (the submission is
        kept already: a repository that cannot be checked changes nothing of it)."""
        if self._review is not None:
            await self._review.review(team, submission)

    def _filled(self, field: SubmissionFieldSpec, runs: list[Run]) -> str:
        # `auto: completion_time` is the only kind there is: the last finish, else now.
        finished = [r.finished_at for r in runs if r.status == RunStatus.finished and r.finished_at]
        return completion_time(max(finished, default=None), self._clock(), self._timezone)

    async def page(self, challenge_id: int | None = None, page: int = 1) -> SubmissionPage:
        """One page of every team's submissions (of one challenge, or all), newest first."""
        if challenge_id is not None:
            self._catalog.get(challenge_id)
        total = await self._store.submissions.count(challenge_id)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 1), pages)
        entries = await self._store.submissions.all(challenge_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return SubmissionPage(entries=entries, page=page, pages=pages, total=total)

    async def csv(self, challenge_id: int | None = None) -> bytes:
        """Every submission as CSV, newest first: the common columns, then for one challenge a column
        per field of its form, across challenges the answers as one JSON column."""
        rows = await self._store.submissions.all(challenge_id)
        if challenge_id is None:
            header, answers = ["answers"], [[cell(_json(s.answers))] for s, _ in rows]
        else:
            spec = self._catalog.get(challenge_id).spec.submission
            fields = [f.id for f in spec.fields] if spec else []
            others = [{k: v for k, v in s.answers.items() if k not in fields} for s, _ in rows]
            header, answers = fields, [[cell(s.answers.get(f, "")) for f in fields] for s, _ in rows]
            if any(others):  # answers to fields the form has no more (an earlier form's)
                header = [*fields, OTHER_ANSWERS]
                answers = [[*a, cell(_json(o)) if o else ""] for a, o in zip(answers, others, strict=True)]
        current = _current(s for s, _ in rows)
        table: list[list[object]] = [[*SUBMISSION_COMMON_COLUMNS, *header]]
        for (submission, team), answered in zip(rows, answers, strict=True):
            common = [
                submission.id,
                submission.challenge_id,
                cell(team.name),
                submission.submitted_at.isoformat(),
                cell(submission.submitted_by or ""),
                "" if submission.run_id is None else submission.run_id,
                "yes" if submission.id in current else "no",
            ]
            table.append([*common, *answered])
        return csv_file(table)


def _json(answers: Mapping[str, str]) -> str:
    return json.dumps(answers, ensure_ascii=False, sort_keys=True)


def _current(newest_first: Iterable[Submission]) -> set[int]:
    """The ids of the current submissions: the newest of each team and challenge."""
    seen: set[tuple[int, int]] = set()
    current: set[int] = set()
    for submission in newest_first:
        if (submission.team_id, submission.challenge_id) not in seen:
            seen.add((submission.team_id, submission.challenge_id))
            current.add(submission.id)
    return current
