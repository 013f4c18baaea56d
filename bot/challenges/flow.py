"""A class's run as the team sees it: the run service plus what gets posted, and when.

`ChallengeFlow` is the one service the Discord cogs and the scheduler call. It asks `RunService` to
act, renders what happened in the guild's language and hands it to the durable outbox, with a
dedupe key per fact (the briefing of run 7, hint 2 of scenario x of run 7, …) so that a retry, a
restart or two triggers racing each other can never post a fact twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.challenges import render, render_drill, render_lab, render_rubric
from bot.challenges.catalog import Catalog
from bot.challenges.reports import StartReport, Stopped, Trigger, VerifyReport
from bot.challenges.runs import RunService
from bot.challenges.timeline import Due, HintDue, timeline
from bot.errors import KubecampError, MessageError, RunConflict
from bot.i18n import Lang, Message
from bot.markup import stamp
from bot.outbox import OutboxItem
from bot.store import HintSource, NotFound, Run, Store, Team
from bot.store.db import WriteStep
from bot.store.models import OutboxEntry

log = logging.getLogger(__name__)


class FlowOutbox(Protocol):
    """The durable outbox, as the flow uses it (bot.outbox.Outbox)."""

    async def enqueue(
        self,
        *,
        dedupe_key: str,
        payload: dict[str, Any],
        kind: str = "message",
        channel_id: int | None = None,
        run_id: int | None = None,
    ) -> Any: ...

    async def enqueue_all(self, items: Sequence[OutboxItem], *, then: WriteStep | None = None) -> Any: ...

    def enqueuing(self, items: Sequence[OutboxItem]) -> WriteStep: ...

    async def get(self, dedupe_key: str) -> OutboxEntry | None: ...


class RunScheduler(Protocol):
    def schedule_run(self, run: Run) -> None: ...

    def cancel_run(self, run_id: int) -> None: ...


class NoHintYet(MessageError):
    """No hint is due yet for the scenarios still failing."""


class CoolingDown(MessageError):
    """The team asked for the same thing again too soon: every verification lists the whole namespace."""


class TeamNotLinked(KubecampError):
    def __init__(self, team: str) -> None:
        super().__init__(f"team {team!r} has no Discord channel linked")
        self.team = team
        self.message = Message("err.team_not_linked", {"team": team})


@dataclass(frozen=True)
class HintPosted:
    run: Run
    hint: HintDue


class ChallengeFlow:
    def __init__(
        self,
        *,
        runs: RunService,
        store: Store,
        catalog: Catalog,
        outbox: FlowOutbox,
        scheduler: RunScheduler,
        lang: Lang,
        clock: Callable[[], datetime],
        cooldown_seconds: float,
    ) -> None:
        self._runs = runs
        self._store = store
        self._catalog = catalog
        self._outbox = outbox
        self._scheduler = scheduler
        self._lang = lang
        self._clock = clock
        # Jobs of one run that come due together (after a restart, all overdue at once) run one
        # after the other, in the scheduler's order; `wait_idle` lets shutdown finish them first.
        self._run_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: set[asyncio.Task[Any]] = set()
        # A team's verifications one at a time, whatever triggered them, and a team's own requests no more
        # often than the cooldown (kept in memory: a restart forgets them, which costs one extra request).
        self._verifying: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._cooldown = timedelta(seconds=cooldown_seconds)
        self._asked: dict[tuple[int, str, str], datetime] = {}

    @property
    def runs(self) -> RunService:
        return self._runs

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    # --- the team's actions --------------------------------------------------------------------

    async def start(self, team_name: str, challenge_id: int) -> StartReport:
        if self._catalog.get(challenge_id).is_drill:  # the team would know what is coming
            raise MessageError(Message("drill.start_refused", {"challenge": challenge_id}))
        team = await self._runs.team(team_name)
        if team.discord_channel_id is None:
            raise TeamNotLinked(team.name)
        report = await self._runs.start(team.name, challenge_id)
        await self._outbox.enqueue(
            dedupe_key=f"run:{report.run.id}:briefing",
            kind="thread",
            channel_id=team.discord_channel_id,
            run_id=report.run.id,
            payload={"name": render.thread_name(report, self._lang), "message": render.briefing(report, self._lang)},
        )
        # A lab's buttons follow the briefing in its thread, a message per phase with checkpoints the team ticks.
        for phase, payload in render_lab.tick_messages(report.challenge, report.run, self._lang):
            await self._post(report.run, f"ticks:{phase}", payload)
        self._scheduler.schedule_run(report.run)
        return report

    async def drill(self, team_name: str, challenge_id: int) -> StartReport:
        """An instructor's incident drill for the team: the run starts (its scenarios broken) and its timeline is
        planned, and nothing is posted: the team learns of it from the alert, whose incident thread becomes the
        run's (`bot.challenges.drill_watch`)."""
        if not self._catalog.get(challenge_id).is_drill:
            raise MessageError(Message("drill.not_a_drill", {"challenge": challenge_id}))
        team = await self._runs.team(team_name)
        if team.discord_channel_id is None:
            raise TeamNotLinked(team.name)
        report = await self._runs.start(team.name, challenge_id)
        self._scheduler.schedule_run(report.run)
        return report

    async def verify(
        self,
        team_name: str,
        challenge_id: int | None = None,
        *,
        scenario_id: str | None = None,
        cooldown: bool = True,
    ) -> VerifyReport:
        """Verify the team's run now: every scenario, or only `scenario_id` (UnknownScenario if the run has no
        such scenario to check). With `cooldown` (a team's own request) CoolingDown if the team asked
        less than the cooldown ago."""
        team = await self._runs.team(team_name)
        run = await self._runs.active_run(team, challenge_id)
        if cooldown:  # per scenario: checking one fix after another is how a team works
            self._cool_down(team, "verify", scenario_id or "")
        return await self._verify(run, team, Trigger.MANUAL, scenario_id)

    def _cool_down(self, team: Team, action: str, scenario_id: str) -> None:
        """Note the team's request, or raise CoolingDown with the seconds left if the same one is too recent."""
        now = self._clock()
        last = self._asked.get((team.id, action, scenario_id))
        if last is not None and last <= now < last + self._cooldown:
            left = max(1, math.ceil((last + self._cooldown - now).total_seconds()))
            raise CoolingDown(Message(f"err.cooling_down.{action}", {"seconds": left}))
        self._asked[(team.id, action, scenario_id)] = now

    async def _verify_run(self, run: Run, team: Team, trigger: Trigger, scenario_id: str | None = None) -> VerifyReport:
        async with self._verifying[team.id]:
            return await self._runs.verify_run(run, team=team, trigger=trigger, scenario_id=scenario_id)

    async def _verify(self, run: Run, team: Team, trigger: Trigger, scenario_id: str | None = None) -> VerifyReport:
        report = await self._verify_run(run, team, trigger, scenario_id)
        challenge = self._catalog.get(run.challenge_id)
        if report.results:  # a lab with nothing on the cluster ends at its deadline with no results to show
            payload = render.results(report, challenge, self._lang, diagnosed=report.diagnosed)
            await self._post(run, f"verify:{report.at.isoformat()}", payload)
        if report.ended is not None:
            await self._ended(report.ended)
        return report

    async def _automatic_verification(self, run: Run, team: Team) -> None:
        """The 20-minute mark: the verification and every hint due by now from the states it leaves, in one
        post, enqueued in one transaction with the record of those hints."""
        report = await self._verify_run(run, team, Trigger.AUTO)
        hints = [] if report.ended is not None else await self._runs.hints_due(run, states=report.states)
        challenge = self._catalog.get(run.challenge_id)
        diagnosed = await self._runs.diagnosed(run, posting=hints)
        payload = render.automatic(report, hints, challenge, self._lang, diagnosed=diagnosed)
        recorded: list[tuple[str, int]] = []
        await self._outbox.enqueue_all(
            [OutboxItem(_key(run, "auto"), "message", payload, run_id=run.id)],
            then=self._store.runs.hints_recording(
                run.id, [(h.scenario_id, h.level) for h in hints], self._clock(), recorded=recorded
            ),
        )
        self._runs.count_hints(run, len(recorded))
        if report.ended is not None:
            await self._ended(report.ended)

    async def _ended(self, run: Run) -> None:
        challenge = self._catalog.get(run.challenge_id)
        if challenge.is_drill:
            await self._drill_ended(run)
        else:
            await self._post(run, "ended", render.run_ended(run, challenge, self._lang))
        self._scheduler.cancel_run(run.id)

    async def _drill_ended(self, run: Run) -> None:
        """A drill's results go to the team's channel, where its incident thread stands: a drill whose alert never
        came has no thread of its own."""
        team = await self._store.teams.get_by_id(run.team_id)
        if team is None or team.discord_channel_id is None:
            return
        payload = render_drill.results(run, self._catalog.get(run.challenge_id), self._lang)
        await self._outbox.enqueue(dedupe_key=_key(run, "ended"), channel_id=team.discord_channel_id, payload=payload)

    async def hint(
        self,
        team_name: str,
        scenario_id: str | None = None,
        *,
        requested_by: str | None = None,
        revealed_by: str | None = None,
    ) -> HintPosted:
        """The next hint: the earliest due one (of `scenario_id` if given) a team member asked for, or any next
        one an instructor reveals. Both count as hints used. A team member's request is cooled down like a
        verification (CoolingDown)."""
        team = await self._runs.team(team_name)
        run = await self._runs.active_run(team)
        if scenario_id is not None:
            self._catalog.get(run.challenge_id).checked_item(scenario_id)  # an unknown id is UnknownScenario
        if revealed_by is None:
            self._cool_down(team, "hint", scenario_id or "")

        async def candidates(any_time: bool) -> list[HintDue]:
            due = await self._runs.hints_due(run, any_time=any_time)
            return [h for h in due if scenario_id in (None, h.scenario_id)]

        due = await candidates(any_time=False)
        if not due and revealed_by is not None:
            due = await candidates(any_time=True)
        if not due:
            raise NoHintYet(await self._when_next_hint(run, scenario_id))
        chosen = due[0]
        if revealed_by is not None:
            await self._post_hint(run, chosen, source=HintSource.revealed, by=revealed_by)
        else:
            await self._post_hint(run, chosen, source=HintSource.requested, by=requested_by)
        return HintPosted(run=run, hint=chosen)

    async def _when_next_hint(self, run: Run, scenario_id: str | None) -> Message:
        upcoming = [
            e
            for e in timeline(self._catalog.get(run.challenge_id), run)
            if e.due is Due.HINT and e.at > self._clock() and scenario_id in (None, e.scenario_id)
        ]
        if not upcoming:
            return Message("flow.no_more_hints", {})
        return Message("flow.next_hint_at", {"at": stamp(upcoming[0].at), "relative": stamp(upcoming[0].at, "R")})

    async def _post_hint(
        self, run: Run, hint: HintDue, *, source: HintSource = HintSource.auto, by: str | None = None
    ) -> None:
        challenge = self._catalog.get(run.challenge_id)
        # Enqueue first: a crash between the two leaves the hint unrecorded, so it is found due
        # again, and the dedupe key turns the second enqueue into nothing.
        await self._post(
            run,
            f"hint:{hint.scenario_id}:{hint.level}",
            render.hint(hint, challenge, self._lang, source=source, by=by),
        )
        await self._runs.record_hint(run, hint, source=source, by=by)

    async def reveal_diagnosis(self, challenge_id: int, team_name: str | None, *, by: str) -> list[Team]:
        """Show the diagnoses of challenge `challenge_id` from now on, to `team_name`'s active run or to every
        active run of it. Returns the teams they are revealed to now (not those that had them already)."""
        self._catalog.get(challenge_id)  # UnknownChallenge for a typo
        if team_name is not None:
            team = await self._runs.team(team_name)
            runs = [await self._runs.active_run(team, challenge_id)]
        else:
            runs = [r for r in await self._store.runs.all_active() if r.challenge_id == challenge_id]
        revealed: list[Team] = []
        for run in runs:
            # The notice first, under a key of its own: a crash before the reveal is recorded leaves a
            # second reveal to do it, and the notice is not posted twice.
            await self._post(run, "diagnosis", render.diagnosis_revealed(by, self._lang))
            if await self._store.runs.reveal_diagnosis(run.id, by):
                owner = await self._store.teams.get_by_id(run.team_id)
                if owner is not None:
                    revealed.append(owner)
        return revealed

    async def stop(self, team_name: str, challenge_id: int | None = None) -> Stopped:
        stopped = await self._runs.stop(team_name, challenge_id)
        await self._ended(stopped.run)
        return stopped

    async def extend(self, team_name: str, minutes: int) -> Run:
        """Move the team's deadline `minutes` later; in the same transaction, a notice in the run's thread and an
        edit of the briefing's deadline (when the bot posted the briefing)."""
        team = await self._runs.team(team_name)
        run = await self._runs.active_run(team)
        moved = run.model_copy(update={"deadline": run.deadline + timedelta(minutes=minutes)})
        at = moved.deadline.isoformat()
        told = [
            OutboxItem(
                _key(run, f"extended:{at}"), "message", render.extended(moved, minutes, self._lang), run_id=run.id
            )
        ]
        if await self._outbox.get(_key(run, "briefing")) is not None:
            content = render.briefing_content(moved, team, self._catalog.get(run.challenge_id), self._lang)
            told.append(
                OutboxItem(
                    _key(run, f"briefing:deadline:{at}"), "edit", {"content": content}, edit_of=_key(run, "briefing")
                )
            )
        if not await self._runs.extend(run, moved.deadline, then=self._outbox.enqueuing(told)):
            raise RunConflict(
                f"run {run.id} has ended", reason=Message("conflict.run_ended", {"challenge": run.challenge_id})
            )
        extended = await self._store.runs.get(run.id)
        if extended is None:  # removed with its team since
            raise NotFound("run", run.id)
        self._scheduler.schedule_run(extended)
        return extended

    # --- the scheduler's actions ---------------------------------------------------------------

    async def on_due(self, run_id: int, due: Due, scenario_id: str = "", level: int = -1) -> None:
        """A timeline entry of a run has come (or had come while the bot was down)."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            async with self._run_locks[run_id]:
                await self._on_due(run_id, due, scenario_id, level)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def wait_idle(self, timeout: float) -> None:  # noqa: ASYNC109 - shutdown waits, then goes on
        """Wait (up to `timeout` seconds) for the scheduler's jobs that are running to finish."""
        pending = [t for t in self._in_flight if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def _on_due(self, run_id: int, due: Due, scenario_id: str, level: int) -> None:
        run = await self._store.runs.get(run_id)
        if run is None or run.status != "active":
            return
        if due not in (Due.FINAL, Due.FINAL_RETRY) and self._clock() >= run.deadline:
            return  # the deadline passed while the bot was down: the final verification says it all
        team = await self._store.teams.get_by_id(run.team_id)
        if team is None:
            return
        if due is Due.AUTO_VERIFY:
            if await self._outbox.get(_key(run, "auto")) is None:
                # Every hint due now goes with it: the scheduler plans no job for the hints due by the
                # automatic verification (bot.scheduler.planned).
                await self._automatic_verification(run, team)
            else:
                # Done before a restart: what can be left are hints that came due while the bot was down.
                for hint in await self._runs.hints_due(run):
                    await self._post_hint(run, hint)
        elif due is Due.HINT:
            if self._clock() < run.started_at + self._catalog.get(run.challenge_id).spec.hints_after:
                return  # hints before the first automatic verification wait for it
            # Its own hint, and an earlier one of the scenario that is still unposted (the automatic
            # verification failed before posting it).
            for hint in await self._runs.hints_due(run):
                if hint.scenario_id == scenario_id and hint.level <= level:
                    await self._post_hint(run, hint)
        elif due is Due.PHASE:
            challenge = self._catalog.get(run.challenge_id)
            following = challenge.phases[level + 1 :]
            if following and self._clock() >= run.started_at + following[0].starts:
                return  # the bot was down through this phase: the next one's reminder says where the team is
            await self._post(run, f"phase:{level}", render_rubric.phase_reminder(challenge, run, level, self._lang))
        elif due is Due.FINAL:
            if self._clock() < run.deadline:
                return  # the deadline was extended after this job was planned
            await self._verify(run, team, Trigger.FINAL)
        elif due is Due.FINAL_RETRY and self._clock() >= run.deadline and await self._runs.answers(team):
            # The final verification left the run active: its API server did not answer. Only once it answers
            # again is the verification worth posting (it then ends the run); till then nothing is posted.
            await self._verify(run, team, Trigger.FINAL)

    async def _post(self, run: Run, key: str, payload: dict[str, Any]) -> None:
        await self._outbox.enqueue(dedupe_key=_key(run, key), run_id=run.id, payload=payload)


def _key(run: Run, fact: str) -> str:
    """The outbox dedupe key of one fact about a run."""
    return f"run:{run.id}:{fact}"
