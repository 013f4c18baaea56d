"""What every benchmark shares: a measure with its target, percentiles, the machine, a class to run in."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.discord.live import process_environment
from tests.discord_emulator.emulator import DiscordEmulator
from tests.discord_emulator.fixtures import Classroom, seed_classroom
from tests.emulators.kube import KubeCluster
from tests.peers.processes import KubecampProcess


@dataclass(frozen=True)
class Measure:
    """One row of the results table: `value` in `unit`, and the target it is held to (None: reported only).
    `higher_is_better` says which side of the target passes."""

    benchmark: str
    what: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def row(self) -> str:
        target = "" if self.target is None else f"{'≥' if self.higher_is_better else '≤'} {_number(self.target)}"
        verdict = {None: "", True: "✅", False: "❌"}[self.met]
        return f"| {self.benchmark} | {self.what} | {_number(self.value)} {self.unit} | {target} | {verdict} |"


TABLE_HEAD = "| benchmark | measure | result | target | met |\n|---|---|---|---|---|"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q` (0–100) percentile by nearest rank."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def machine() -> str:
    """CPU model, cores, memory, OS and Python: the line the README's table is dated with."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
        memory = f"{kib / 1024**2:.0f} GiB"
    except (OSError, StopIteration):
        memory = "? GiB"
    cores = len(os.sched_getaffinity(0))
    system = f"{platform.system()} {platform.release()}"
    return f"{model}, {cores} cores, {memory}, {system}, Python {platform.python_version()}"


@dataclass
class Bench:
    """A class to measure: the Discord emulator with its classroom, the emulated cluster, and a
    ``kubecamp run`` process (not started) configured for them."""

    discord: DiscordEmulator
    room: Classroom
    kube: KubeCluster
    bot: KubecampProcess

    @property
    def webhook_url(self) -> str:
        return f"{self.bot.url}/webhooks/alertmanager"


#: Discord's limit on messages to one channel (per route and channel, like Discord's buckets).
CHANNEL_RATE_LIMIT = (5, 5.0)


@asynccontextmanager
async def bench(workdir: Path, *, edit_interval: float = 5.0, database_url: str | None = None) -> AsyncIterator[Bench]:
    """The emulators started (Discord with per-channel buckets of `CHANNEL_RATE_LIMIT`) and the bot process
    prepared in `workdir`, not started, its store at `database_url` (else a SQLite file in `workdir`);
    everything stopped on exit."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    async with DiscordEmulator(rate_limit=CHANNEL_RATE_LIMIT) as discord, KubeCluster() as kube:
        room = seed_classroom(discord)
        environment = process_environment(
            data, discord, room, kube, edit_interval=edit_interval, database_url=database_url
        )
        bot = KubecampProcess(workdir / "process", environment=environment)
        try:
            yield Bench(discord, room, kube, bot)
        finally:
            await bot.stop()
