"""The kubelet's container lifecycle over simulated time: pulls, starts, exits, restarts and back-offs.

The kubelet keeps one ``ContainerRuntime`` per container in memory (as the real one keeps its
``flowcontrol.Backoff`` entries) and replays, on every sync, what happened since the previous one:
the pod worker re-syncs a pod 10 s after a sync that failed, so a container in back-off is looked at
every 10 s and a container that exits is looked at the moment it exits (PLEG). Sources, all
kubernetes/kubernetes v1.33:

* pkg/kubelet/images/image_manager.go ``EnsureImageExists``: ``Pulling image %q``, ``Failed to pull
  image %q: %v``, ``Back-off pulling image %q`` (the waiting message appends ``: <err>: <msg>`` of the
  previous pull since 1.30), ``Failed to apply default image tag %q: %v`` (``InvalidImageName``);
  per-image back-off ``IsInBackOffSinceUpdate``.
* pkg/kubelet/kuberuntime/kuberuntime_manager.go ``doBackOff``: a container that exited restarts at
  once the first time, then waits ``back-off %s restarting failed container=%s pod=%s`` (event
  ``Back-off restarting failed container %s in pod %s``), counted from its ``finishedAt``.
* pkg/kubelet/kuberuntime/kuberuntime_container.go ``startContainer``: events ``Error: <reason>``,
  ``Created container: %s``, ``Started container %s``.
* pkg/kubelet/kubelet.go: ``backOffPeriod`` 10 s, ``MaxContainerBackOff`` and ``MaxImageBackOff``
  300 s; staging/src/k8s.io/client-go/util/flowcontrol/backoff.go: the delay doubles per ``Next``
  and an entry older than twice the maximum (10 min) starts again at 10 s. Jitter is left out.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from .resources import Obj

BACKOFF_PERIOD = 10.0  # pkg/kubelet/kubelet.go backOffPeriod; also the pod worker's retry after a failed sync
MAX_BACKOFF = 300.0  # pkg/kubelet/kubelet.go MaxContainerBackOff, pkg/kubelet/images MaxImageBackOff
NEVER = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for whole seconds: ``10s``, ``1m20s``, ``5m0s``."""
    whole = int(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


@dataclass
class Backoff:
    """One ``flowcontrol.Backoff`` entry (client-go util/flowcontrol/backoff.go), without jitter."""

    duration: float = 0.0
    last_update: datetime.datetime | None = None

    def _expired(self, at: datetime.datetime) -> bool:
        return self.last_update is None or (at - self.last_update).total_seconds() > 2 * MAX_BACKOFF

    def next(self, at: datetime.datetime) -> None:
        self.duration = BACKOFF_PERIOD if self._expired(at) else min(self.duration * 2, MAX_BACKOFF)
        self.last_update = at

    def in_backoff_since(self, event: datetime.datetime, now: datetime.datetime) -> bool:
        """``IsInBackOffSince``: still waiting ``duration`` after ``event``."""
        return not self._expired(event) and (now - event).total_seconds() < self.duration

    def in_backoff_since_update(self, now: datetime.datetime) -> bool:
        """``IsInBackOffSinceUpdate``: still waiting ``duration`` after the last ``next``."""
        if self.last_update is None or self._expired(now):
            return False
        return (now - self.last_update).total_seconds() < self.duration


@dataclass(frozen=True)
class Occurrence:
    """An event the kubelet emits during a run, ``offset`` seconds after the container started."""

    offset: float
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class Plan:
    """What a container does once started; fixed at start, as a process reads its environment once."""

    exit_after: float | None = None  # None: runs until it is stopped
    exit_reason: str = "Error"
    exit_code: int = 1
    during: tuple[Occurrence, ...] = ()  # e.g. liveness failures and the Killing that ends the run
    files: tuple[tuple[str, str], ...] = ()  # the mounted config it read at start
    output: str | None = None  # what a process that fails at start prints (None: its image's own log)


@dataclass(frozen=True)
class Start:
    """Why the container can or cannot be started now."""

    invalid_image: str | None = None  # InvalidImageName message
    pull_error: str | None = None  # the registry's answer when the image cannot be pulled
    pull_events: tuple[tuple[str, str, str], ...] = ()  # (type, reason, message) of a successful pull
    config_error: str | None = None  # CreateContainerConfigError message
    plan: Plan = Plan()


@dataclass
class Emitted:
    """One event key's occurrences in a sync: how many, the first and the last time."""

    type: str
    reason: str
    message: str
    count: int
    first: datetime.datetime
    last: datetime.datetime


@dataclass
class ContainerRuntime:
    """What the kubelet remembers about one container of one pod."""

    name: str
    image: str
    restart_policy: str
    init: bool
    pod_ref: str  # format.Pod: name_namespace(uid)
    next_sync: datetime.datetime
    waiting: tuple[str, str | None] | None = ("ContainerCreating", None)
    started_at: datetime.datetime | None = None
    plan: Plan = Plan()
    restarts: int = 0
    instances: int = 0  # containers created so far
    last_terminated: Obj | None = None
    last_finished: datetime.datetime | None = None
    last_instance: int = 0  # which container ``last_terminated`` was
    terminated: Obj | None = None  # the final state of a container that is not restarted
    restart_backoff: Backoff = field(default_factory=Backoff)
    pull_backoff: Backoff = field(default_factory=Backoff)
    previous_pull_error: str | None = None
    reported: int = 0  # how many of ``plan.during`` the current run has emitted
    events: dict[tuple[str, str, str], Emitted] = field(default_factory=dict)

    def emit(self, at: datetime.datetime, type_: str, reason: str, message: str) -> None:
        key = (type_, reason, message)
        seen = self.events.get(key)
        if seen is None:
            self.events[key] = Emitted(type_, reason, message, 1, at, at)
        else:
            seen.count += 1
            seen.last = at

    def take_events(self) -> list[Emitted]:
        events = sorted(self.events.values(), key=lambda e: e.first)
        self.events = {}
        return events

    def advance(
        self, now: datetime.datetime, start: Callable[[], Start], stamp: Callable[[datetime.datetime], str]
    ) -> None:
        """Replay every sync and exit due up to ``now``."""
        while self.next_sync <= now:
            at = self.next_sync
            if self.started_at is not None:
                self._exit(at, stamp)
                if self.terminated is not None:
                    return
            self._sync(at, start)
        self._report(now)

    def _report(self, until: datetime.datetime) -> None:
        """Emit what the running process went through up to ``until`` (probe failures so far)."""
        if self.started_at is None:
            return
        for occurrence in self.plan.during[self.reported :]:
            at = self.started_at + datetime.timedelta(seconds=occurrence.offset)
            if at > until:
                break
            self.emit(at, *_fields(occurrence))
            self.reported += 1

    def _restarts_after(self, code: int) -> bool:
        if self.init:
            return code != 0 and self.restart_policy != "Never"
        return self.restart_policy == "Always" or (code != 0 and self.restart_policy == "OnFailure")

    def _exit(self, at: datetime.datetime, stamp: Callable[[datetime.datetime], str]) -> None:
        assert self.started_at is not None
        started = self.started_at
        self._report(at)
        terminated = {
            "exitCode": self.plan.exit_code,
            "reason": self.plan.exit_reason,
            "startedAt": stamp(started),
            "finishedAt": stamp(at),
        }
        self.started_at = None
        if self._restarts_after(self.plan.exit_code):
            self.last_terminated = terminated
            self.last_finished = at
            self.last_instance = self.instances
        else:
            self.terminated = terminated
            self.next_sync = NEVER

    def _sync(self, at: datetime.datetime, starting: Callable[[], Start]) -> None:
        self.next_sync = at + datetime.timedelta(seconds=BACKOFF_PERIOD)
        if self.last_finished is not None:
            if self.restart_backoff.in_backoff_since(self.last_finished, at):
                self.emit(
                    at,
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {self.name} in pod {self.pod_ref}",
                )
                self.waiting = (
                    "CrashLoopBackOff",
                    f"back-off {go_duration(self.restart_backoff.duration)} restarting failed "
                    f"container={self.name} pod={self.pod_ref}",
                )
                return
            self.restart_backoff.next(at)
        start = starting()  # only now: a container in back-off is not looked at further
        if start.invalid_image is not None:
            self.emit(at, "Warning", "InspectFailed", start.invalid_image)
            self._fail(at, "InvalidImageName", start.invalid_image)
            return
        if start.pull_error is not None:
            self._pull_failed(at, start.pull_error)
            return
        self.previous_pull_error = None
        for type_, reason, message in start.pull_events:
            self.emit(at, type_, reason, message)
        if start.config_error is not None:
            self._fail(at, "CreateContainerConfigError", start.config_error, event=start.config_error)
            return
        if self.instances:
            self.restarts += 1
        self.instances += 1
        self.emit(at, "Normal", "Created", f"Created container: {self.name}")
        self.emit(at, "Normal", "Started", f"Started container {self.name}")
        self.waiting = None
        self.started_at = at
        self.reported = 0
        self.plan = start.plan
        exit_after = start.plan.exit_after
        self.next_sync = NEVER if exit_after is None else at + datetime.timedelta(seconds=exit_after)

    def _pull_failed(self, at: datetime.datetime, error: str) -> None:
        image = self.image
        if self.pull_backoff.in_backoff_since_update(at):
            self.emit(at, "Normal", "BackOff", f'Back-off pulling image "{image}"')
            message = f'Back-off pulling image "{image}"'
            if self.previous_pull_error:
                message += f": {self.previous_pull_error}"
            self._fail(at, "ImagePullBackOff", message)
            return
        self.emit(at, "Normal", "Pulling", f'Pulling image "{image}"')
        self.emit(at, "Warning", "Failed", f'Failed to pull image "{image}": {error}')
        self.pull_backoff.next(at)
        self.previous_pull_error = f"ErrImagePull: {error}"
        self._fail(at, "ErrImagePull", error)

    def _fail(self, at: datetime.datetime, reason: str, message: str, *, event: str | None = None) -> None:
        self.emit(at, "Warning", "Failed", f"Error: {event or reason}")
        self.waiting = (reason, message)

    @property
    def running(self) -> bool:
        return self.started_at is not None


def _fields(occurrence: Occurrence) -> tuple[str, str, str]:
    return occurrence.type, occurrence.reason, occurrence.message
