"""The scheduler's jobs for a run: besides the timeline's date jobs, a retry of the final verification every
`FINAL_RETRY_SECONDS` from the deadline on, planned again from the store on a start and moved with the deadline."""

from __future__ import annotations

from datetime import timedelta

from bot.challenges.timeline import Due
from bot.scheduler import FINAL_RETRY_SECONDS, Scheduler
from bot.store import Store
from tests.challenges.test_runs import T0
from tests.scenarios.test_catalogue_behaviour import CATALOG


async def nothing(run_id: int, due: Due, scenario_id: str, level: int) -> None:
    """A job's target in these tests: only when jobs would run is looked at."""


async def test_the_final_verification_is_retried_every_minute_from_the_deadline_on(store: Store) -> None:
    team = await store.teams.create("blue", "kubecamp-blue")
    deadline = T0 + timedelta(minutes=90)
    run = await store.runs.create(
        team_id=team.id, challenge_id=1, started_at=T0, deadline=deadline, scenario_ids=["control-plane"], skipped={}
    )
    scheduler = Scheduler(catalog=CATALOG, store=store)
    try:
        await scheduler.start(on_due=nothing)  # a restart: the jobs come from the store's active runs
        retry = scheduler._scheduler.get_job(f"run:{run.id}:final_retry")
        assert retry is not None and retry.args == (run.id, Due.FINAL_RETRY, "", -1)
        step = timedelta(seconds=FINAL_RETRY_SECONDS)
        first = retry.trigger.get_next_fire_time(None, T0)
        assert first == deadline + step
        assert retry.trigger.get_next_fire_time(first, first + timedelta(seconds=1)) == deadline + 2 * step

        extended = await store.runs.get(run.id)
        assert extended is not None
        extended.deadline = deadline + timedelta(minutes=10)
        scheduler.schedule_run(extended)  # what an extension does: the retry waits for the new deadline
        moved = scheduler._scheduler.get_job(f"run:{run.id}:final_retry")
        assert moved.trigger.get_next_fire_time(None, T0) == extended.deadline + step

        scheduler.cancel_run(run.id)  # what the end of a run does: nothing left to retry
        assert scheduler.job_ids() == []
    finally:
        scheduler.shutdown()
