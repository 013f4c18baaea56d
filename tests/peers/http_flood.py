"""A flood of GETs from a process of its own, so that the test measuring something else meanwhile keeps its own
event loop: ``python -m tests.peers.http_flood URL CLIENTS``.

`CLIENTS` clients GET `URL` over and over, each on its own connection, from when the process starts until its
standard input is closed; then it prints how many answers of each status it got, as JSON ({"200": 1234}), and
exits. A refused or dropped connection counts as status 0.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys

import aiohttp


async def flood(url: str, clients: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    stop = asyncio.Event()

    async def client() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    async with session.get(url) as response:
                        await response.read()
                        statuses[response.status] += 1
                except aiohttp.ClientError:
                    statuses[0] += 1

    async def until_stdin_closes() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        stop.set()

    await asyncio.gather(until_stdin_closes(), *(client() for _ in range(clients)))
    return statuses


def main() -> None:
    url, clients = sys.argv[1], int(sys.argv[2])
    print(json.dumps({str(status): count for status, count in asyncio.run(flood(url, clients)).items()}))


if __name__ == "__main__":
    main()
