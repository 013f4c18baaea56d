"""Readiness: whether the bot can do its work now, checked in the background, answered from the last result.

`GET /readyz` never checks anything itself: it reads what the last round found. A probe asked by anyone, any
number of times at once, then costs a dictionary read, not a database transaction and a call to the API
server each (which once let a flood of probes hold the store's write lock and stall the webhook).

The rounds run every `interval` seconds, each check bounded by `CHECK_TIMEOUT`:

* the store answers a read (`Store.reachable`): never a write, which would queue behind the bot's own;
* the data volume of a SQLite store (`DataVolume`) has room and takes a write: SQLite fails only at its next
  write on a full or read-only volume, which no read of the database shows;
* the Kubernetes API answers ``GET /version``.

Checks of the process's own state (the Discord gateway's connection) cost nothing and are read at each
answer (`instant`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
InstantCheck = Callable[[], None]
#: Seconds one check of a round may take before it counts as failed.
CHECK_TIMEOUT = 3.0
#: Seconds between two rounds. Half the chart's readiness period (10 s): a probe sees a change within one period.
INTERVAL = 5.0
OK = "ok"
NOT_CHECKED = "not checked yet"


class Readiness:
    """`checks` run in the background every `interval` seconds; `instant` ones at each `state()`. Each raises
    when its dependency is not fine; its message is the answer for it."""

    def __init__(
        self,
        *,
        checks: Mapping[str, Check],
        instant: Mapping[str, InstantCheck] | None = None,
        interval: float = INTERVAL,
    ) -> None:
        self._checks = dict(checks)
        self._instant = dict(instant or {})
        self._interval = interval
        self._results = dict.fromkeys(self._checks, NOT_CHECKED)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """One round now (the first answer is a real one), then one every `interval` seconds."""
        await self.refresh()
        self._task = asyncio.create_task(self._every_interval(), name="readiness checks")

    async def aclose(self) -> None:
        """Stop the rounds. One under way finishes first (each check is bounded by CHECK_TIMEOUT): cancelled
        in the middle of its read, the store's connection would be closed by a task of its own that outlives
        the store."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            await task

    async def refresh(self) -> None:
        """Run every background check once, at the same time, and keep what each found."""
        names = list(self._checks)
        found = await asyncio.gather(*(_outcome(self._checks[name]) for name in names))
        for name, result in zip(names, found, strict=True):
            if result != self._results.get(name):
                log.log(logging.INFO if result == OK else logging.WARNING, "readiness: %s: %s", name, result)
            self._results[name] = result

    def state(self) -> tuple[bool, dict[str, str]]:
        """Whether every check passed, and each one's answer: "ok" or what is wrong."""
        results = {**self._results, **{name: _instant_outcome(check) for name, check in self._instant.items()}}
        return all(result == OK for result in results.values()), results

    async def _every_interval(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
                return
            await self.refresh()


async def _outcome(check: Check) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g}s"
    except Exception as exc:  # a check's failure is its answer, whatever it is
        return str(exc) or type(exc).__name__
    return OK


def _instant_outcome(check: InstantCheck) -> str:
    try:
        check()
    except Exception as exc:  # as above
        return str(exc) or type(exc).__name__
    return OK


#: The file the write probe creates and removes in the data folder.
PROBE_FILE = ".kubecamp-write-probe"


class DataVolume:
    """The folder a SQLite store lives in: at least `min_free_bytes` free on its filesystem, and a file can be
    created and written there.

    The probe runs in a worker thread (a volume in trouble can block a write for long). While one has not
    returned, the next round waits for that same one instead of starting another: a hung volume holds one
    thread, not one more per round."""

    def __init__(self, folder: Path, *, min_free_bytes: int) -> None:
        self.folder = folder
        self.min_free_bytes = min_free_bytes
        self._probe: asyncio.Future[None] | None = None

    async def check(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(asyncio.to_thread(self._check_now))
        # Shielded: a check that times out leaves the probe running for the next round to wait on.
        await asyncio.shield(self._probe)

    def _check_now(self) -> None:
        stats = os.statvfs(self.folder)
        free = stats.f_bavail * stats.f_frsize  # what an unprivileged process may still use
        if free < self.min_free_bytes:
            raise OSError(
                f"the data volume at {self.folder} has {_mib(free)} free, under the minimum of "
                f"{_mib(self.min_free_bytes)} (KUBECAMP_DATA_MIN_FREE_MIB)"
            )
        probe = self.folder / PROBE_FILE
        try:
            # Created, written and removed; not fsynced: a full or read-only volume refuses the open or the
            # write already, and a flush each round would cost the disk more than the check is worth.
            with probe.open("wb") as file:
                file.write(b"ok")
            probe.unlink()
        except OSError as error:
            raise OSError(f"the data folder {self.folder} cannot be written: {error.strerror or error}") from error


def _mib(size: int) -> str:
    return f"{size / 1024**2:.0f} MiB"
