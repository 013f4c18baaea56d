"""A submitted repository held against its build's layout, and the answer posted where the team works.

A build whose seed prescribes a repository tree declares it (`repository:` in challenge.yaml). When a team
submits the repository's URL, the submission is kept first (`bot.submissions`); then the tree is fetched
(`bot.repository_check`, within its time and size limits) and a post says which prescribed paths are present
and which are missing, or why the repository could not be checked. It goes through the outbox into the run's
thread (the team's channel when the submission belongs to no run), once per submission.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.challenges.catalog import Catalog
from bot.challenges.flow import FlowOutbox
from bot.config import RepositorySettings
from bot.i18n import Lang, Message, render
from bot.repository_check import FetchLimits, HostPolicy, LayoutReport, RepositoryCheckFailed, check_repository
from bot.store import Store, Submission, Team

log = logging.getLogger(__name__)

PASSED = "✅"
FAILED = "❌"


@dataclass(frozen=True)
class Fetching:
    """Where repositories are fetched from and how far: the settings, as the check takes them."""

    github_url: str
    policy: HostPolicy
    limits: FetchLimits

    @classmethod
    def of(cls, settings: RepositorySettings) -> Fetching:
        policy = (
            HostPolicy(schemes=frozenset({"https", "git", "http"}), allow_private=True)
            if settings.allow_private_hosts
            else HostPolicy()
        )
        limits = FetchLimits(
            timeout=settings.timeout_seconds,
            max_bytes=int(settings.max_mib * 1024 * 1024),
            max_paths=settings.max_paths,
        )
        return cls(github_url=settings.github_url.rstrip("/"), policy=policy, limits=limits)

    def url(self, submitted: str) -> str:
        """The URL to fetch a submitted `https://github.com/owner/repo` from (GitHub itself, or its mirror)."""
        return self.github_url + urlsplit(submitted).path


class RepositoryReview:
    def __init__(self, *, store: Store, catalog: Catalog, outbox: FlowOutbox, fetching: Fetching, lang: Lang) -> None:
        self._store = store
        self._catalog = catalog
        self._outbox = outbox
        self._fetching = fetching
        self._lang = lang

    def submitted_url(self, submission: Submission) -> str | None:
        """The repository URL of a submission whose challenge prescribes a layout; None when nothing is to check."""
        spec = self._catalog.get(submission.challenge_id).spec
        field = spec.repository_field
        if spec.repository is None or field is None:
            return None
        return submission.answers.get(field) or None

    async def where(self, team: Team, submission: Submission) -> int | None:
        """The channel the answer goes to: the run's thread, else the team's channel (None: not known yet)."""
        if submission.run_id is not None:
            run = await self._store.runs.get(submission.run_id)
            if run is not None and run.thread_id is not None:
                return run.thread_id
        return team.discord_channel_id

    async def review(self, team: Team, submission: Submission) -> LayoutReport | RepositoryCheckFailed | None:
        """Check the submitted repository and post the answer; None when the submission has none to check."""
        submitted = self.submitted_url(submission)
        layout = self._catalog.get(submission.challenge_id).spec.repository
        if submitted is None or layout is None:
            return None
        url = self._fetching.url(submitted)
        outcome: LayoutReport | RepositoryCheckFailed
        try:
            outcome = await check_repository(url, layout, policy=self._fetching.policy, limits=self._fetching.limits)
        except RepositoryCheckFailed as failed:
            log.info("team %s's repository %s could not be checked: %s", team.name, url, failed)
            outcome = failed
        payload = {"content": self.render(submitted, outcome), "allowed_mentions": {"parse": []}}
        key = f"submission:{submission.id}:repository"
        if submission.run_id is not None:
            await self._outbox.enqueue(dedupe_key=key, payload=payload, run_id=submission.run_id)
        elif team.discord_channel_id is not None:
            await self._outbox.enqueue(dedupe_key=key, payload=payload, channel_id=team.discord_channel_id)
        return outcome

    def render(self, submitted: str, outcome: LayoutReport | RepositoryCheckFailed) -> str:
        lines = [render(Message("repo.review_title", {"url": submitted}), self._lang)]
        if isinstance(outcome, RepositoryCheckFailed):
            lines.append(render(Message("repo.review_failed", {"reason": outcome.message.to_json()}), self._lang))
            return "\n".join(lines)
        lines.append(render(outcome.summary(), self._lang))
        if outcome.base:
            lines.append(render(Message("repo.base", {"base": f"`{outcome.base}`"}), self._lang))
        lines += [f"{FAILED} `{path}`" for path in outcome.missing] + [f"{PASSED} `{path}`" for path in outcome.present]
        return "\n".join(lines)
