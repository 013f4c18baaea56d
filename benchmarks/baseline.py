"""The machine's limit for "store first, answer 200", which the ingest benchmark holds the bot's webhook to.

``python -m benchmarks.baseline --port P --database-url URL`` serves ``POST /webhooks/alertmanager`` and
nothing else: it parses the Alertmanager body (JSON), writes each of its alerts as a row in one transaction
on the same database as the bot (the same engine settings: `bot.store.db.create_engine`), commits, and
answers 200. No authentication, no validation beyond JSON, no incident, no Discord: what any webhook that
keeps what it accepted has to pay at the least. `BaselineProcess` runs it as its own process, as the bot is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from aiohttp import web

from bot.store.db import create_engine
from tests.peers.processes import HOST, PeerProcess

#: The baseline's own table, next to the bot's in the same database.
_METADATA = sa.MetaData()
_ALERTS = sa.Table(
    "baseline_alert",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
)
_INSERT = sa.insert(_ALERTS)
READY_PATH = "/-/ready"
WEBHOOK_PATH = "/webhooks/alertmanager"


def _rows(body: bytes) -> list[dict[str, object]]:
    notification = json.loads(body)
    group_key = notification["groupKey"]
    return [
        {
            "group_key": group_key,
            "fingerprint": alert["fingerprint"],
            "status": alert["status"],
            "starts_at": datetime.fromisoformat(alert["startsAt"]).astimezone(UTC),
            "labels": alert["labels"],
            "annotations": alert["annotations"],
        }
        for alert in notification["alerts"]
    ]


async def serve(port: int, database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_METADATA.create_all)

    async def receive(request: web.Request) -> web.Response:
        rows = _rows(await request.read())
        async with engine.begin() as connection:
            await connection.execute(_INSERT, rows)
        return web.json_response({"status": "ok"})

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, receive)
    app.router.add_get(READY_PATH, ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await engine.dispose()


class BaselineProcess(PeerProcess):
    """The baseline webhook as a process of its own, on the database at `database_url`."""

    name = "baseline"
    READY_PATH = READY_PATH

    def __init__(self, workdir: Path, *, database_url: str) -> None:
        super().__init__(sys.executable, workdir)
        self.database_url = database_url

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PATH}"

    def _write_config(self) -> None:
        return None  # the command line says it all

    def _args(self) -> list[str]:
        return [
            self.executable,
            "-m",
            "benchmarks.baseline",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
        ]

    def _environment(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.database_url))


if __name__ == "__main__":
    main()
