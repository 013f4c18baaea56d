"""Challenge runs: start, verify, hints, status, stop. The one service every front end calls.

The CLI, the Discord cogs and the scheduler all go through `RunService`, so a run started from the
shell and one started in Discord behave the same. Times come from an injected clock (UTC), which
is also how tests move time forward.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.challenges import cluster_view, drill, scoring
from bot.challenges.breaking import NodePlan, apply_break, is_break, undo_break
from bot.challenges.catalog import Catalog, Challenge, Scenario
from bot.challenges.checks import Status
from bot.challenges.cluster_fit import ChallengeUnavailable, runnable_on
from bot.challenges.deploy import CLEAR_WAIT_SECONDS, apply_scenario, clear_namespace
from bot.challenges.reports import ScenarioResult, StartReport, StatusReport, Stopped, Trigger, VerifyReport
from bot.challenges.rubric import shared_namespace, team_namespaces
from bot.challenges.timeline import HintDue, diagnosed
from bot.cluster import Cluster
from bot.clusters import ClusterRegistry
from bot.errors import (
    ClusterError,
    ClusterUnavailable,
    MessageError,
    NamespaceMissing,
    NoActiveRun,
    RunConflict,
    UnknownScenario,
    UnknownTeam,
)
from bot.i18n import Message
from bot.kinds import ObjectRef
from bot.live import ChangeFeed
from bot.metrics import Metrics
from bot.snapshot import Snapshot
from bot.store import HintSource, Run, ScenarioState, Store, StoreConflict, Team
from bot.store.db import WriteStep
from bot.store.runs import SolvedStep

log = logging.getLogger(__name__)


class NothingToVerify(MessageError):
    """A lab none of whose checkpoints is proven on the cluster: there is nothing to verify."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunAnnouncements(Protocol):
    """What is written about a run's solves and its end in the transactions that record them
    (bot.challenges.announcements.Announcements); None: nothing."""

    def solved(self, run: Run, team: Team) -> SolvedStep | None: ...

    def finished(self, run: Run, team: Team, score: scoring.Score) -> WriteStep | None: ...


class RunService:
    def __init__(
        self,
        *,
        catalog: Catalog,
        store: Store,
        cluster: Cluster,
        clusters: ClusterRegistry | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        clear_wait: float = CLEAR_WAIT_SECONDS,
        announcements: RunAnnouncements | None = None,
        changes: ChangeFeed | None = None,
    ) -> None:
        """`cluster`: the shared cluster; `clusters`: which cluster each team is on (default: all on `cluster`);
        `announcements`: the class's lines about first solves and finishes."""
        self._catalog = catalog
        self._store = store
        self._clusters = clusters or ClusterRegistry(shared=cluster)
        self._clock = clock
        self._metrics = metrics or Metrics()
        self._clear_wait = clear_wait
        self._announcements = announcements
        #: Told of each start, verification, end and hint committed: the live scoreboard.
        self._changes = changes or ChangeFeed()
        # One start per team at a time: a start clears the team's namespace, which must not happen
        # while another start of the same team is applying its objects.
        self._starting: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    # --- look-ups -----------------------------------------------------------------------------

    async def team(self, name: str) -> Team:
        team = await self._store.teams.get(name)
        if team is None:
            raise UnknownTeam(name)
        return team

    async def active_run(self, team: Team, challenge_id: int | None = None) -> Run:
        run = await self._store.runs.active(team.id, challenge_id)
        if run is None:
            raise NoActiveRun(team.name, challenge_id)
        return run

    # --- start --------------------------------------------------------------------------------

    async def start(self, team_name: str, challenge_id: int) -> StartReport:
        """Clear the team's namespace, deploy the broken state of every runnable scenario into it and start
        the clock. With another challenge of the team running, only the objects this one applies are cleared."""
        team = await self.team(team_name)
        async with self._starting[team.id]:
            return await self._start(team, challenge_id)

    async def _start(self, team: Team, challenge_id: int) -> StartReport:
        challenge = self._catalog.get(challenge_id)
        already = RunConflict(
            f"team {team.name!r} already has an active run of challenge {challenge.id}",
            reason=Message("conflict.active_run", {"team": team.name, "challenge": challenge.id}),
        )
        if await self._store.runs.active(team.id, challenge.id) is not None:
            raise already
        # A lab with nothing on the cluster asks it nothing (not even which cluster is the team's): no request is sent.
        cluster = await self._clusters.for_team(team.name) if challenge.checked else self._clusters.shared
        scenarios, skipped = await runnable_on(cluster, challenge, team=team.name, namespace=team.namespace)
        breaks = [b for s in scenarios for b in s.breaks]
        plan = await NodePlan.read(cluster, team.name) if breaks else NodePlan(workers=(), control_plane=())
        plan.check(breaks)
        namespaces = self._namespaces(challenge, team)
        others = {t.name: t.namespace for t in await self._store.teams.all() if t.id != team.id}
        shared = shared_namespace(namespaces.values(), others, {n for c in self._catalog for n in c.namespaces})
        if shared is not None:
            raise ChallengeUnavailable(
                Message("run.namespace_of_another_team", {"namespace": shared[0], "team": shared[1]})
            )
        running = await self._store.runs.active(team.id)
        ours = {m.ref for s in scenarios for m in (*s.previous, *s.manifests)}
        # A lab whose checkpoints are all ticked, pasted or graded never reads the cluster: its namespaces stay as
        # they are (the Swarm lab runs on the team's own Docker host).
        for namespace in namespaces.values() if challenge.checked else ():
            await cluster.ensure_namespace(namespace, team=team.name)
            await clear_namespace(
                cluster, namespace, only=ours if running is not None else None, within=self._clear_wait
            )

        started = self._clock()
        try:
            run = await self._store.runs.create(
                team_id=team.id,
                challenge_id=challenge.id,
                started_at=started,
                deadline=started + scoring.plan(challenge, skipped).time_limit,
                scenario_ids=[s.id for s in (challenge.checked if challenge.scored_by_items else scenarios)],
                skipped={sid: message.key for sid, message in skipped.items()},
            )
        except StoreConflict as exc:  # a start racing this one won
            raise already from exc

        applied: list[ObjectRef] = []
        broken: list[dict[str, Any]] = []

        async def apply_breaks(scenario: Scenario, *, taking_api_down: bool) -> None:
            for spec in scenario.breaks:
                if spec.takes_api_down == taking_api_down:
                    record = {**await apply_break(cluster, team.name, spec, plan), "scenario": scenario.id}
                    broken.append(record)
                    await self._store.runs.record_applied(run.id, [record])

        try:
            # Nodes are broken before the scenarios' Pods are placed; the API server last, as nothing goes in after.
            for scenario in scenarios:
                await apply_breaks(scenario, taking_api_down=False)
            for scenario in scenarios:

                async def record(ref: ObjectRef, scenario_id: str = scenario.id) -> None:
                    applied.append(ref)
                    await self._store.runs.record_applied(run.id, [_applied_json(ref, scenario_id)])

                await apply_scenario(cluster, team.namespace, scenario, on_applied=record)
            for scenario in scenarios:
                await apply_breaks(scenario, taking_api_down=True)
        except ClusterError:
            # Leave nothing half-applied: remove what went in, and end the run with the record of it.
            await self._undo_breaks(cluster, team.name, broken)
            await self._teardown(cluster, team.namespace, applied)
            await self._store.runs.finish(
                run.id, status="stopped", finished_at=self._clock(), elapsed_seconds=0, tier_percent=0, points=0
            )
            raise
        log.info("team %s started challenge %s (run %s, %d objects)", team.name, challenge.id, run.id, len(applied))
        self._metrics.runs_started.labels(str(challenge.id)).inc()
        self._changes.changed()
        fresh = await self._store.runs.get(run.id)
        return StartReport(run=fresh or run, team=team, challenge=challenge, applied=tuple(applied), skipped=skipped)

    def _namespaces(self, challenge: Challenge, team: Team) -> dict[str | None, str]:
        """The team's namespace (key None) and a build's own ones, by their names in the catalogue."""
        try:
            return team_namespaces(team.namespace, challenge.namespaces)
        except ValueError as exc:
            raise ChallengeUnavailable(
                Message("run.namespace_too_long", {"challenge": challenge.id, "namespace": team.namespace})
            ) from exc

    # --- verify -------------------------------------------------------------------------------

    async def verify(
        self,
        team_name: str,
        challenge_id: int | None = None,
        *,
        scenario_id: str | None = None,
        trigger: Trigger = Trigger.MANUAL,
    ) -> VerifyReport:
        team = await self.team(team_name)
        run = await self.active_run(team, challenge_id)
        return await self.verify_run(run, team=team, trigger=trigger, scenario_id=scenario_id)

    async def verify_run(
        self, run: Run, *, team: Team, trigger: Trigger, scenario_id: str | None = None
    ) -> VerifyReport:
        """Check every scenario of the run, or only `scenario_id` (UnknownScenario when the run has no such scenario,
        ChallengeUnavailable when it was skipped for this run). A scenario solved once stays solved; the run
        ends when the scenarios this verification checked all pass and every other one is solved."""
        if run.status != "active":
            raise RunConflict(
                f"run {run.id} has ended ({run.status}); nothing to verify",
                reason=Message("conflict.run_ended", {"challenge": run.challenge_id}),
            )
        began = time.perf_counter()
        try:
            report = await self._verify(run, team=team, trigger=trigger, scenario_id=scenario_id)
        except Exception:
            self._metrics.verifications.labels(trigger.value, "error").inc()
            raise
        finally:
            self._metrics.verification_seconds.labels(trigger.value).observe(time.perf_counter() - began)
        self._metrics.verifications.labels(trigger.value, report.result).inc()
        if report.newly_solved:
            self._metrics.scenarios_solved.labels(str(run.challenge_id)).inc(len(report.newly_solved))
        return report

    async def _verify(self, run: Run, *, team: Team, trigger: Trigger, scenario_id: str | None) -> VerifyReport:
        challenge = self._catalog.get(run.challenge_id)
        states = await self._store.runs.scenario_states(run.id)
        if any(s.scenario_id == scenario_id and s.status == "skipped" for s in states):
            raise ChallengeUnavailable(Message("run.scenario_skipped", {"scenario": scenario_id}))
        live = [challenge.checked_item(s.scenario_id) for s in states if s.status != "skipped"]
        active = [s for s in live if scenario_id in (None, s.id)]
        if not active and (live or scenario_id is not None):
            raise UnknownScenario(str(scenario_id), [s.id for s in live], where="the run checks")
        if not live and trigger is Trigger.MANUAL:
            # A lab with nothing on the cluster; its automatic and final verifications end it at the deadline.
            raise NothingToVerify(Message("run.nothing_to_verify", {"challenge": challenge.id}))
        namespaces = self._namespaces(challenge, team)
        cluster = await self._clusters.for_team(team.name) if active else self._clusters.shared
        snapshots = {
            key: await cluster_view.snapshot(
                cluster,
                team.name,
                namespaces[key],
                {kind for item in active if item.namespace == key for kind in item.kinds},
            )
            for key in dict.fromkeys(item.namespace for item in active)
        }
        results = tuple(ScenarioResult.of(item, snapshots[item.namespace]) for item in active)
        now = self._clock()
        before = {s.scenario_id for s in states if s.status == "solved"}
        _, new_states = await self._store.runs.record_verification(
            run.id,
            trigger=trigger.value,
            at=now,
            results=[r.to_json() for r in results],
            solved={r.scenario_id: r.status is Status.PASS for r in results},
            on_solved=self._announcements.solved(run, team) if self._announcements else None,
        )
        newly_solved = tuple(s.scenario_id for s in new_states if s.status == "solved" and s.scenario_id not in before)
        checked = {r.scenario_id for r in results}
        others = [s for s in new_states if s.status != "skipped" and s.scenario_id not in checked]
        others_solved = all(s.status == "solved" for s in others)
        ended: Run | None = None
        if challenge.scored_by_items:
            # A build (a lab) runs to its deadline: its final verification is its rubric, items counted as they stand.
            if trigger is Trigger.FINAL or now >= run.deadline:
                passed = sum(item.points for item, r in zip(active, results, strict=True) if r.status is Status.PASS)
                ended = await self._end(run, "finished", now, scoring.Score(run.deadline - run.started_at, 100, passed))
        elif all(r.status is Status.PASS for r in results) and others_solved:
            score = scoring.finished(scoring.plan_of(challenge, run), {s.id for s in live}, now - run.started_at)
            announced = self._announcements.finished(run, team, score) if self._announcements else None
            ended = await self._end(run, "finished", now, score, then=announced)
        elif (trigger is Trigger.FINAL or now >= run.deadline) and not await self._unanswered(
            cluster, snapshots.values()
        ):
            solved = {s.scenario_id for s in new_states if s.status == "solved"}
            ended = await self._end(
                run,
                "expired",
                now,
                scoring.expired(scoring.plan_of(challenge, run), solved, run.deadline - run.started_at),
            )
        self._changes.changed()  # once the verification and the end it may bring are committed
        return VerifyReport(
            run=run,
            trigger=trigger,
            at=now,
            results=results,
            states=tuple(new_states),
            newly_solved=newly_solved,
            ended=ended,
            # A verification that ends the run shows every diagnosis: nothing is left to solve, much to learn.
            diagnosed=frozenset(s.id for s in live) if ended is not None else await self.diagnosed(run),
            scenario_id=scenario_id,
        )

    async def answers(self, team: Team) -> bool:
        """Whether the API server of the team's cluster answers now (one cheap request)."""
        try:
            await (await self._clusters.for_team(team.name)).ping()
        except ClusterError:
            return False
        return True

    async def _unanswered(self, cluster: Cluster, snapshots: Iterable[Snapshot]) -> bool:
        """Whether nothing could be read because the API server does not answer at all: a run is not
        scored on that (the control-plane scenario takes it down); it ends at a verification once it answers."""
        taken = list(snapshots)
        if any(s.items for s in taken) or not any(s.errors for s in taken):
            return False
        try:
            await cluster.ping()
        except ClusterUnavailable:
            return True
        return False

    async def extend(self, run: Run, deadline: datetime, *, then: WriteStep | None = None) -> bool:
        """Move an active run's deadline (`then`, the caller's write about it, in the same transaction); False if
        the run has ended."""
        moved = await self._store.runs.extend_deadline(run.id, deadline, then=then)
        if moved:
            self._changes.changed()  # the page shows each run's time left
        return moved

    async def _end(
        self, run: Run, status: str, now: datetime, score: scoring.Score, *, then: WriteStep | None = None
    ) -> Run | None:
        notes = None
        challenge = self._catalog.get(run.challenge_id)
        if challenge.spec.drill is not None:  # a drill adds the points of its acknowledgement to the fix's
            spec = challenge.spec.drill
            answer = drill.Acknowledgement.of(
                await drill.incidents_of(self._store.incidents, spec, run, until=now), until=now
            )
            acknowledged = spec.acknowledge_points(answer.taken)
            score = dataclasses.replace(score, points=score.points + acknowledged)
            notes = {**(run.notes or {}), "drill": answer.to_json(acknowledged)}
        changed = await self._store.runs.finish(
            run.id,
            status=status,
            finished_at=now,
            elapsed_seconds=int(score.elapsed.total_seconds()),
            tier_percent=score.tier_percent,
            points=score.points,
            notes=notes,
            then=then,
        )
        if not changed:  # another verification ended it first
            return None
        self._metrics.runs_finished.labels(str(run.challenge_id), status).inc()
        log.info("run %s %s: %s%% tier, %s points", run.id, status, score.tier_percent, score.points)
        return await self._store.runs.get(run.id)

    # --- hints --------------------------------------------------------------------------------

    async def hints_due(
        self, run: Run, *, any_time: bool = False, states: Sequence[ScenarioState] | None = None
    ) -> list[HintDue]:
        """Hints whose offset has passed (any offset, for an instructor revealing one), for scenarios
        not solved, that were not posted yet: per scenario in order of level. `states`: the run's
        scenario states as a verification just left them (read from the store if not given)."""
        challenge = self._catalog.get(run.challenge_id)
        if states is None:
            states = await self._store.runs.scenario_states(run.id)
        posted = {(h.scenario_id, h.level) for h in await self._store.runs.hints_posted(run.id)}
        elapsed = timedelta.max if any_time else self._clock() - run.started_at
        due: list[HintDue] = []
        for state in states:
            if state.status != "pending":
                continue
            scenario = challenge.checked_item(state.scenario_id)
            for level in scenario.hints_due(elapsed):
                if (scenario.id, level) not in posted:
                    due.append(HintDue(scenario.id, level, scenario.hints[level]))
        return due

    async def record_hint(
        self, run: Run, hint: HintDue, *, source: HintSource = HintSource.auto, by: str | None = None
    ) -> bool:
        """True if this hint is recorded now; False if it had been posted already (never post it twice).
        `source`: how it came; `by`: who asked for it or revealed it."""
        recorded = await self._store.runs.record_hint(
            run.id, hint.scenario_id, hint.level, posted_at=self._clock(), revealed_by=by, source=source
        )
        if recorded:
            self.count_hints(run, 1)
        return recorded

    def count_hints(self, run: Run, posted: int) -> None:
        """Called once hints are recorded, whichever way they came."""
        self._metrics.hints_posted.labels(str(run.challenge_id)).inc(posted)
        self._changes.changed()

    async def diagnosed(self, run: Run, posting: Iterable[HintDue] = ()) -> frozenset[str]:
        """`diagnosed` for the run as the store has it, counting `posting` (hints about to go out) as posted."""
        posted = [(h.scenario_id, h.level) for h in await self._store.runs.hints_posted(run.id)]
        posted += [(h.scenario_id, h.level) for h in posting]
        return diagnosed(self._catalog.get(run.challenge_id), run, posted)

    # --- status and stop ----------------------------------------------------------------------

    async def status(self, team_name: str, challenge_id: int | None = None) -> StatusReport:
        team = await self.team(team_name)
        run = await self.active_run(team, challenge_id)
        return await self.status_of(run, team)

    async def status_of(self, run: Run, team: Team) -> StatusReport:
        states = await self._store.runs.scenario_states(run.id)
        used: dict[str, int] = {}
        automatic: dict[str, int] = {}
        posted = await self._store.runs.hints_posted(run.id)
        for hint in posted:
            counts = automatic if hint.source == HintSource.auto else used
            counts[hint.scenario_id] = counts.get(hint.scenario_id, 0) + 1
        challenge = self._catalog.get(run.challenge_id)
        return StatusReport(
            run=run,
            team=team,
            challenge=challenge,
            now=self._clock(),
            states=tuple(states),
            hints_used=used,
            hints_automatic=automatic,
            diagnosed=diagnosed(challenge, run, [(h.scenario_id, h.level) for h in posted]),
        )

    async def stop(self, team_name: str, challenge_id: int | None = None) -> Stopped:
        """End the active run as stopped and delete what it applied.

        A namespace that no longer exists ends the run all the same (nothing is left to delete, and the
        team could not start again before the deadline otherwise); one that lost the bot's label is
        refused, run and objects untouched.
        """
        team = await self.team(team_name)
        run = await self.active_run(team, challenge_id)
        if not self._catalog.get(run.challenge_id).checked:
            # A lab with nothing on the cluster made and applied nothing there: it only ends.
            return await self._stopped(run, team, deleted=0, namespace_gone=False)
        cluster = await self._clusters.for_team(team.name)
        # The cluster's own state first: an API server that does not answer refuses the stop, run untouched.
        await self._undo_breaks(cluster, team.name, [a for a in run.applied or [] if is_break(a)])
        try:
            await cluster.assert_managed(team.namespace)
        except NamespaceMissing:
            log.warning("run %s: namespace %s is gone; ending the run with nothing to delete", run.id, team.namespace)
            deleted, namespace_gone = 0, True
        else:
            applied = [ObjectRef(a["apiVersion"], a["kind"], a["name"]) for a in run.applied or [] if not is_break(a)]
            deleted, namespace_gone = await self._teardown(cluster, team.namespace, applied), False
        return await self._stopped(run, team, deleted=deleted, namespace_gone=namespace_gone)

    async def _stopped(self, run: Run, team: Team, *, deleted: int, namespace_gone: bool) -> Stopped:
        now = self._clock()
        stopped = await self._store.runs.finish(
            run.id,
            status="stopped",
            finished_at=now,
            elapsed_seconds=int((now - run.started_at).total_seconds()),
            tier_percent=0,
            points=0,
        )
        if stopped:
            self._metrics.runs_finished.labels(str(run.challenge_id), "stopped").inc()
            self._changes.changed()
        ended = await self._store.runs.get(run.id)
        return Stopped(run=ended or run, namespace=team.namespace, deleted=deleted, namespace_gone=namespace_gone)

    async def _undo_breaks(self, cluster: Cluster, team: str, records: Sequence[dict[str, Any]]) -> None:
        for record in reversed(records):
            await undo_break(cluster, team, record)

    async def _teardown(self, cluster: Cluster, namespace: str, refs: Sequence[ObjectRef]) -> int:
        deleted = 0
        for ref in reversed(refs):
            try:
                deleted += await cluster.delete(namespace, ref)
            except ClusterError:
                log.warning("could not delete %s in %s; it stays recorded on the run", ref, namespace)
        return deleted


def _applied_json(ref: ObjectRef, scenario_id: str) -> dict[str, str]:
    return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "scenario": scenario_id}
