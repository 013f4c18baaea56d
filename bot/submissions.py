"""Submissions in the course's Discord format: team, GitHub repository, completion time, features, insight."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.errors import KubecampError
from bot.metrics import Metrics
from bot.store import Store, Submission, Team

_GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_TEXT = 1000


class SubmissionInvalid(KubecampError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class SubmissionForm:
    github_url: str
    completion_time: str
    monitoring: str
    automation: str
    advanced: str
    insight: str


def normalise_github_url(url: str) -> str:
    match = _GITHUB.match(url.strip())
    if match is None or match.group(2) in {".", ".."}:
        raise SubmissionInvalid(
            "github", "expected a repository URL like https://github.com/team/w3d5-streaming-ops-platform"
        )
    return f"https://github.com/{match.group(1)}/{match.group(2)}"


class SubmissionService:
    def __init__(self, *, store: Store, clock: Callable[[], datetime], metrics: Metrics | None = None) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics or Metrics()

    async def submit(
        self, team: Team, challenge_id: int, form: SubmissionForm, *, by: str | None
    ) -> tuple[Submission, int]:
        """Record a submission; returns it and how many earlier ones it replaces (kept as history)."""
        url = normalise_github_url(form.github_url)
        if not _HHMM.match(form.completion_time.strip()):
            raise SubmissionInvalid("completion_time", "expected HH:MM, like 14:35")
        texts = {
            "monitoring": form.monitoring,
            "automation": form.automation,
            "advanced": form.advanced,
            "insight": form.insight,
        }
        for field, text in texts.items():
            if not text.strip():
                raise SubmissionInvalid(field, "must not be empty")
            if len(text) > MAX_TEXT:
                raise SubmissionInvalid(field, f"at most {MAX_TEXT} characters")
        runs = [r for r in await self._store.runs_for_team(team.id) if r.challenge_id == challenge_id]
        latest = max(runs, key=lambda r: r.started_at) if runs else None
        earlier = await self._store.submissions(team.id, challenge_id)
        submission = await self._store.add_submission(
            team.id,
            challenge_id,
            github_url=url,
            completion_time=form.completion_time.strip(),
            monitoring=form.monitoring.strip(),
            automation=form.automation.strip(),
            advanced=form.advanced.strip(),
            insight=form.insight.strip(),
            submitted_at=self._clock(),
            run_id=latest.id if latest else None,
            submitted_by=by,
        )
        self._metrics.submissions.labels(str(challenge_id)).inc()
        return submission, len(earlier)
