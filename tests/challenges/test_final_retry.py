"""A run whose deadline came while its API server did not answer (the control-plane scenario takes it down):
the final verification leaves it active and says why, the scheduler tries it again every minute, quietly while
the API server is still down, and the first try that finds it answering ends the run, posted once.

The real App against the Discord emulator, team blue on its own emulated cluster registered as a Secret on the
shared one; the jobs are run by calling `ChallengeFlow.on_due` as the scheduler does when they come due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.challenges.timeline import Due
from bot.scheduler import FINAL_RETRY_SECONDS, Scheduler
from tests.discord.live import Class, quiet, thread_of
from tests.emulators.fixtures import own_cluster_kubeconfig, register_own_cluster
from tests.emulators.kube import KubeCluster

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
CONTROL_PLANE = "kind-control-plane"


@pytest.fixture
async def blue_own(
    live_class: Class, team_clusters: dict[str, KubeCluster], tmp_path: Path
) -> AsyncIterator[KubeCluster]:
    """Team blue's own cluster, registered as an instructor does by hand: a labelled Secret on the shared cluster."""
    own = team_clusters["blue"]
    kubeconfig = own_cluster_kubeconfig(own, tmp_path / "blue.yaml", team="blue")
    register_own_cluster(live_class.kube, "blue", kubeconfig.read_text())
    await live_class.app.clusters.refresh(now=True)
    assert (await live_class.app.clusters.for_team("blue")).owner == "blue"
    yield own


def titles(live: Class) -> list[str]:
    thread = thread_of(live, "blue")
    return [e["title"] for m in live.discord.messages(thread) for e in m.embeds]


async def test_a_run_past_its_deadline_with_the_api_server_down_ends_once_it_answers(
    live_class: Class, blue_own: KubeCluster
) -> None:
    live = live_class
    report = await live.app.flow.start("blue", 1)
    assert report.skipped == {}
    await live.discord.wait_until(lambda: thread_of(live, "blue"), 10, "blue's run thread")
    broken = blue_own.read_node_file(CONTROL_PLANE, MANIFEST)
    assert broken is not None and "--secure-port=6444" in broken
    run = report.run
    assert f"run:{run.id}:final_retry" in live.app.scheduler.job_ids()

    # The deadline with the API server down: the final verification scores nothing and says why.
    live.clock.offset = run.deadline - run.started_at + timedelta(seconds=1)
    await live.app.flow.on_due(run.id, Due.FINAL)
    await quiet(live)
    assert (await live.app.store.runs.get(run.id)).status == "active"  # type: ignore[union-attr]
    [final] = [
        m for m in live.discord.messages(thread_of(live, "blue")) if m.embeds and "Final" in m.embeds[0]["title"]
    ]
    assert "the API server does not answer, so nothing is scored yet" in final.embeds[0]["description"]

    # A minute later, still down: the retry posts nothing and leaves the run as it was.
    posted = len(titles(live))
    live.clock.offset += timedelta(seconds=FINAL_RETRY_SECONDS)
    await live.app.flow.on_due(run.id, Due.FINAL_RETRY)
    await quiet(live)
    assert len(titles(live)) == posted
    assert (await live.app.store.runs.get(run.id)).status == "active"  # type: ignore[union-attr]

    # A restart plans the retry again from the store: the run is still active.
    restarted = Scheduler(catalog=live.app.catalog, store=live.app.store)
    try:
        await restarted.start(on_due=live.app.flow.on_due)
        assert f"run:{run.id}:final_retry" in restarted.job_ids()
    finally:
        restarted.shutdown()

    # The team (or an instructor) puts the manifest right on the node; the next retry ends the run.
    blue_own.write_node_file(CONTROL_PLANE, MANIFEST, broken.replace("2380", "2379").replace("6444", "6443"))
    live.clock.offset += timedelta(seconds=FINAL_RETRY_SECONDS)
    await live.app.flow.on_due(run.id, Due.FINAL_RETRY)
    await quiet(live)
    ended = await live.app.store.runs.get(run.id)
    assert ended is not None and ended.status == "expired"
    after = titles(live)[posted:]
    assert [t.split(" (")[0] for t in after] == ["🏁 Final verification", "⌛ Challenge 1: time is up"], after
    assert not any(j.startswith(f"run:{run.id}:") for j in live.app.scheduler.job_ids())

    # A retry that was already under way when the run ended finds it ended: nothing more is posted.
    await live.app.flow.on_due(run.id, Due.FINAL_RETRY)
    await quiet(live)
    assert titles(live)[posted:] == after
