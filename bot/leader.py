"""Leader election on a `coordination.k8s.io/v1` Lease, for an active + warm standby pair on one database.

The algorithm is client-go's (`k8s.io/client-go/tools/leaderelection`): a candidate takes the Lease when
nobody holds it, or when the record has not changed for `leaseDurationSeconds` *as this candidate has seen
it* (its own monotonic clock, so the two pods' clocks never have to agree); the holder renews every third of
the duration. Every write carries the `resourceVersion` it read, so when two candidates race for an expired
Lease the API server takes one update and answers the other 409: two never both lead. A holder that has not
renewed within two thirds of the duration (the API server unreachable) stops leading, before any follower
may take over. On a clean stop the holder clears `holderIdentity`, so the follower takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.cluster import Cluster, ObjectNotFound
from bot.errors import ClusterError

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _micro_time(moment: datetime) -> str:
    """A `MicroTime` as the API server writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseSettings:
    namespace: str
    name: str
    #: Who this candidate is: the pod's name.
    identity: str
    duration_seconds: float = 15.0

    @property
    def renew_every(self) -> float:
        return self.duration_seconds / 3

    @property
    def renew_deadline(self) -> float:
        """Seconds without a successful renewal after which the holder gives up leading."""
        return self.duration_seconds * 2 / 3


class LeaderElector:
    """Takes and keeps the Lease. `leading` is set while this candidate holds it; `lost` once it stopped
    holding it after having led (the process then exits: a fresh start comes back as a follower)."""

    def __init__(
        self,
        *,
        cluster: Cluster,
        lease: LeaseSettings,
        clock: Callable[[], datetime] = _now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cluster = cluster
        self._lease = lease
        self._clock = clock
        self._monotonic = monotonic
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        #: The last record seen (its spec) and when it was first seen as it is (monotonic seconds).
        self._observed: dict[str, Any] | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def identity(self) -> str:
        return self._lease.identity

    def check_read(self) -> None:
        """A readiness check: until the Lease has been read once, this replica does not know who leads."""
        if self._observed is None:
            raise ConnectionError(f"the Lease {self._lease.namespace}/{self._lease.name} not read yet")

    @property
    def holder(self) -> str | None:
        """Who holds the Lease, as last read (None: nobody, or not read yet)."""
        holder = (self._observed or {}).get("holderIdentity")
        return str(holder) if holder else None

    @property
    def _path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self._lease.namespace}/leases"

    def start(self) -> None:
        self._task = asyncio.create_task(self._campaign(), name="leader election")

    async def _campaign(self) -> None:
        while True:
            await self.attempt()
            await asyncio.sleep(self._lease.renew_every)

    async def attempt(self) -> bool:
        """One round: take or renew the Lease. True when this candidate holds it afterwards."""
        try:
            held = await self._try_acquire_or_renew()
        except ClusterError as exc:
            log.warning("leader election: %s", exc)
            held = False
        if held:
            self._renewed_at = self._monotonic()
            if not self.leading.is_set():
                log.info("leader election: %s now leads (Lease %s)", self.identity, self._lease.name)
                self.leading.set()
        elif self.leading.is_set() and (
            self.holder not in (None, self.identity)
            or self._monotonic() - self._renewed_at >= self._lease.renew_deadline
        ):
            log.error("leader election: %s could not renew the Lease and stops leading", self.identity)
            self.leading.clear()
            self.lost.set()
        return self.leading.is_set()

    async def _try_acquire_or_renew(self) -> bool:
        now = self._clock()
        try:
            lease = await self._cluster.call("GET", f"{self._path}/{self._lease.name}")
        except ObjectNotFound:
            spec = self._spec(now, acquired=now, transitions=0)
            await self._cluster.call(
                "POST", self._path, body={"metadata": {"name": self._lease.name}, "spec": spec}
            )  # a second candidate creating it at the same moment gets 409 AlreadyExists
            self._observe(spec)
            return True
        spec = lease.get("spec") or {}
        self._observe(spec)
        holder = spec.get("holderIdentity")
        mine = holder == self.identity
        expired = self._monotonic() - self._observed_at >= float(spec.get("leaseDurationSeconds") or 0)
        if holder and not mine and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        acquired = spec.get("acquireTime") if mine else None
        new = self._spec(now, acquired=acquired or now, transitions=transitions if mine else transitions + 1)
        # The resourceVersion read: if another candidate wrote in between, the API server answers 409.
        await self._cluster.call(
            "PUT",
            f"{self._path}/{self._lease.name}",
            body={"metadata": {**lease["metadata"], "name": self._lease.name}, "spec": new},
        )
        self._observe(new)
        return True

    def _spec(self, now: datetime, *, acquired: datetime | str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self._lease.duration_seconds)),
            "acquireTime": acquired if isinstance(acquired, str) else _micro_time(acquired),
            "renewTime": _micro_time(now),
            "leaseTransitions": transitions,
        }

    def _observe(self, spec: dict[str, Any]) -> None:
        if spec != self._observed:
            self._observed = dict(spec)
            self._observed_at = self._monotonic()

    async def aclose(self) -> None:
        """Stop campaigning; a holder clears the Lease's holder so the follower takes over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self.leading.is_set():
            return
        self.leading.clear()
        try:
            lease = await self._cluster.call("GET", f"{self._path}/{self._lease.name}")
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = _micro_time(self._clock())
            released = {
                "leaseDurationSeconds": 1,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": int(spec.get("leaseTransitions") or 0),
            }
            await self._cluster.call(
                "PUT", f"{self._path}/{self._lease.name}", body={"metadata": lease["metadata"], "spec": released}
            )
            log.info("leader election: %s gave up the Lease", self.identity)
        except ClusterError as exc:  # the follower takes over once the Lease expires
            log.warning("leader election: could not give up the Lease: %s", exc)
