"""APScheduler jobs for every active run: the automatic verification, hints and the deadline, and after the
deadline a retry of the final verification every minute while the run is still active.

Jobs are never persisted (no pickled closures): on start the scheduler is rebuilt from the store's
active runs, and a job whose time passed while the bot was down runs at once. Exactly-once posting
does not depend on the scheduler: a job that runs twice finds its hint recorded or its outbox
message already queued under the same dedupe key.

A run's times are on the bot's clock (the App's `clock`) while APScheduler waits on real time: a job whose
time that clock already shows as past is due at once, as after a restart. In production the clock is real
time and the two agree; a clock set ahead of real time (as the tests' class clock can be) gets what it
shows as past without waiting for real time to come to it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.challenges.catalog import Catalog, Challenge
from bot.challenges.runs import utcnow
from bot.challenges.timeline import Due, TimelineEntry, timeline
from bot.store import Run, Store

log = logging.getLogger(__name__)

#: Seconds between two tries of the final verification of a run its deadline did not end (its API server
#: did not answer): the run ends at the first one that finds the API server answering again.
FINAL_RETRY_SECONDS = 60.0

OnDue = Callable[[int, Due, str, int], Awaitable[None]]


def planned(challenge: Challenge, run: Run) -> list[TimelineEntry]:
    """The timeline entries that get a job: all but the hints due by the automatic verification, which
    posts every hint due when it runs. A job for each of those would only read the run again to find
    its hint posted, and at the 20-minute mark of a class that is 4 jobs per team at the same moment."""
    verification = run.started_at + challenge.spec.hints_after
    return [e for e in timeline(challenge, run) if not (e.due is Due.HINT and e.at <= verification)]


class Scheduler:
    def __init__(
        self,
        *,
        catalog: Catalog,
        store: Store,
        clock: Callable[[], datetime] = utcnow,
        final_retry_seconds: float = FINAL_RETRY_SECONDS,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._clock = clock
        self._final_retry = timedelta(seconds=final_retry_seconds)
        self._on_due: OnDue | None = None
        # misfire_grace_time=None: a job is run however late (the bot was down); coalesce: once.
        self._scheduler = AsyncIOScheduler(
            timezone="UTC", job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
        )

    async def start(self, *, on_due: OnDue) -> int:
        """Start, with a job for every timeline entry of every active run. Returns the jobs planned.

        `on_due` is given here rather than at construction: it is the flow's, and the flow needs
        this scheduler to be built first.
        """
        self._on_due = on_due
        self._scheduler.start()
        for run in await self._store.runs.all_active():
            self.schedule_run(run)
        return len(self._scheduler.get_jobs())

    def schedule_run(self, run: Run) -> None:
        if self._on_due is None:
            raise RuntimeError("the scheduler is not started")
        self.cancel_run(run.id)
        for entry in planned(self._catalog.get(run.challenge_id), run):
            self._scheduler.add_job(
                self._on_due,
                trigger=DateTrigger(run_date=self._when(entry.at)),
                args=(run.id, entry.due, entry.scenario_id, entry.level),
                id=f"run:{run.id}:{entry.due.value}:{entry.scenario_id}:{entry.level}",
                replace_existing=True,
            )
        # Ended runs have no jobs (the flow cancels them), so this repeats only while the run outlives its deadline.
        self._scheduler.add_job(
            self._on_due,
            trigger=IntervalTrigger(
                seconds=self._final_retry.total_seconds(), start_date=self._when(run.deadline + self._final_retry)
            ),
            args=(run.id, Due.FINAL_RETRY, "", -1),
            id=f"run:{run.id}:{Due.FINAL_RETRY.value}",
            replace_existing=True,
        )

    def _when(self, at: datetime) -> datetime:
        """When APScheduler runs a job due at `at` on the bot's clock: at `at`, or now if real time has not come
        to `at` yet but the bot's clock shows it past."""
        now = utcnow()
        return now if now < at <= self._clock() else at

    def cancel_run(self, run_id: int) -> None:
        prefix = f"run:{run_id}:"
        for job in self._scheduler.get_jobs():
            if job.id.startswith(prefix):
                job.remove()

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
