"""The scheduler's jobs for a run: besides the timeline's date jobs, a retry of the final verification every
`FINAL_RETRY_SECONDS` from the deadline on, planned again from the store on a start and moved with the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.challenges.timeline import Due
from bot.scheduler import FINAL_RETRY_SECONDS, Scheduler, planned
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


async def test_a_job_the_bots_clock_shows_past_is_due_at_once(store: Store) -> None:
    """A clock two hours ahead of real time (the tests' class clock), a run it shows started two and a half hours
    ago with its deadline half a minute ago: the jobs real time shows past keep their time (due at once, as after
    a restart); those real time does not but the clock does are set for now; the retries of the final
    verification, a minute after the deadline, are ahead on both and keep their time."""
    ahead = timedelta(hours=2)
    shown = datetime.now(UTC) + ahead
    team = await store.teams.create("blue", "kubecamp-blue")
    run = await store.runs.create(
        team_id=team.id,
        challenge_id=1,
        started_at=shown - timedelta(hours=2, minutes=30),
        deadline=shown - timedelta(seconds=30),
        scenario_ids=["control-plane"],
        skipped={},
    )
    scheduler = Scheduler(catalog=CATALOG, store=store, clock=lambda: datetime.now(UTC) + ahead)
    try:
        before = datetime.now(UTC)
        await scheduler.start(on_due=nothing)
        after = datetime.now(UTC)
        jobs = {job.id: job for job in scheduler._scheduler.get_jobs()}
        moved = []
        for entry in planned(CATALOG.get(1), run):
            job = jobs[f"run:{run.id}:{entry.due.value}:{entry.scenario_id}:{entry.level}"]
            if entry.at > after:
                assert before <= job.trigger.run_date <= after, entry
                moved.append(entry.due)
            else:
                assert job.trigger.run_date == entry.at, entry
        assert Due.FINAL in moved and len(moved) < len(jobs) - 1  # both kinds of job are looked at
        retry = jobs[f"run:{run.id}:{Due.FINAL_RETRY.value}"]
        assert retry.trigger.start_date == run.deadline + timedelta(seconds=FINAL_RETRY_SECONDS)
    finally:
        scheduler.shutdown()
