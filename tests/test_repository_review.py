"""The review of a submitted repository (bot/repository_review.py), apart from Discord: where it fetches from,
what it posts and where, and that a server nobody answers on is said so, the submission untouched. The whole
way through /challenge submit, against a real git server, is tests/cogs/test_repository_submit.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.config import RepositorySettings
from bot.outbox import Outbox, OutboxStore
from bot.repository_check import HostPolicy, RepositoryCheckFailed
from bot.repository_review import Fetching, RepositoryReview
from bot.store import Store
from tests.peers.git_servers import SilentServer
from tests.scenarios.test_catalogue_behaviour import CATALOG
from tests.test_repository_check import LAYOUT_FILE

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


class _Unsent:
    """A transport the outbox is never started with: the test reads what was enqueued."""


def test_the_layout_kept_for_the_repository_check_is_challenge_4s() -> None:
    spec = CATALOG.get(4).spec
    assert spec.repository is not None and spec.repository_field == "github_url"
    assert spec.repository.model_dump(mode="json") == yaml.safe_load(LAYOUT_FILE.read_text(encoding="utf-8"))


def test_github_or_its_mirror() -> None:
    production = Fetching.of(RepositorySettings())
    assert production.url("https://github.com/blue/ops") == "https://github.com/blue/ops"
    assert production.policy == HostPolicy()
    mirror = Fetching.of(RepositorySettings(github_url="http://10.0.0.5:3000/github/", allow_private_hosts=True))
    assert mirror.url("https://github.com/blue/ops") == "http://10.0.0.5:3000/github/blue/ops"
    assert mirror.policy.allow_private and "http" in mirror.policy.schemes


async def test_an_unreachable_server_is_said_so_in_the_teams_channel(store: Store, tmp_path: Path) -> None:
    silent = SilentServer()
    port = silent.port
    silent.stop()  # connections to the port are refused now
    fetching = Fetching.of(
        RepositorySettings(github_url=f"http://127.0.0.1:{port}", allow_private_hosts=True, timeout_seconds=5)
    )
    outbox_store = OutboxStore(store.db)
    outbox = Outbox(store=outbox_store, transport=_Unsent(), clock=lambda: NOW)  # type: ignore[arg-type]  # never started
    review = RepositoryReview(store=store, catalog=CATALOG, outbox=outbox, fetching=fetching, lang="ko")
    team = await store.teams.create("blue", "kubecamp-blue", channel_id=4242)
    url = "https://github.com/blue/w3d5-streaming-ops-platform"
    submission = await store.submissions.add(team.id, 4, answers={"github_url": url}, submitted_at=NOW)
    assert await review.where(team, submission) == 4242  # no run: the team's channel

    outcome = await review.review(team, submission)
    assert isinstance(outcome, RepositoryCheckFailed) and outcome.message.key == "repo.unreachable"
    entry = await outbox_store.get(f"submission:{submission.id}:repository")
    assert entry is not None and entry.channel_id == 4242
    assert entry.payload["content"] == (
        f"📦 **제출한 저장소의 구조 확인** ({url})\n⚠️ 저장소를 확인하지 못했습니다: 저장소 서버에 연결할 수 없습니다. "
        "제출 내용은 그대로 저장되어 있습니다. 고친 뒤 `/challenge submit`으로 다시 제출하면 다시 확인합니다."
    )
    assert [s.answers for s in await store.submissions.of_team(team.id, 4)] == [{"github_url": url}]


async def test_a_challenge_without_a_layout_fetches_nothing(store: Store) -> None:
    outbox_store = OutboxStore(store.db)
    outbox = Outbox(store=outbox_store, transport=_Unsent(), clock=lambda: NOW)  # type: ignore[arg-type]  # never started
    fetching = Fetching.of(RepositorySettings())
    review = RepositoryReview(store=store, catalog=CATALOG, outbox=outbox, fetching=fetching, lang="en")
    team = await store.teams.create("red", "kubecamp-red", channel_id=7)
    submission = await store.submissions.add(
        team.id, 2, answers={"github_url": "https://github.com/r/x"}, submitted_at=NOW
    )
    assert review.submitted_url(submission) is None
    assert await review.review(team, submission) is None
    assert await outbox_store.get(f"submission:{submission.id}:repository") is None
