"""``python -m benchmarks [name …]``: run the benchmarks (all by default) and print the results table."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import TABLE_HEAD, Measure, machine

#: name → module; each has ``async def run(workdir: Path, *, scale: float = 1.0) -> list[Measure]``
#: (`scale` shrinks the load, for the tests that keep the benchmarks working).
BENCHMARKS = {
    "ingest": "benchmarks.ingest",
    "storm": "benchmarks.storm",
    "verify": "benchmarks.verify",
    "footprint": "benchmarks.footprint",
}


async def _run(names: list[str]) -> list[Measure]:
    measures: list[Measure] = []
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        with tempfile.TemporaryDirectory(prefix=f"kubecamp-bench-{name}-") as workdir:
            print(f"running {name} …", file=sys.stderr, flush=True)
            found = await module.run(Path(workdir))
        for measure in found:
            print(measure.row(), file=sys.stderr, flush=True)
        measures += found
    return measures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    measures = asyncio.run(_run(names))
    print(f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}.\n")
    print(TABLE_HEAD)
    for measure in measures:
        print(measure.row())
    return 0 if all(m.met is not False for m in measures) else 1


if __name__ == "__main__":
    sys.exit(main())
