"""pytest plugin: ``pytest_plugins = ["tests.peers.fixtures"]``.

Fixtures (function-scoped, async); everything they start is stopped at teardown, whatever the test did:

* ``exposition`` — a started ``Exposition`` (kube-state-metrics stand-in), empty until the test sets it;
* ``webhook_receiver`` — a started ``WebhookReceiver``: ``.url`` for Alertmanager, ``await .next()`` for a body;
* ``start_prometheus(target, *, alert_for="2s", alertmanager=None, rule_files=None, start_timeout=30.0)`` — starts
  a ``PrometheusProcess`` scraping `target` (an ``Exposition`` or ``host:port``) with the rules of
  ``alert_rules/`` whose ``for`` is `alert_for`, sending to `alertmanager` (an ``AlertmanagerProcess`` or a URL);
* ``start_alertmanager(webhook, **options)`` — starts an ``AlertmanagerProcess`` posting to `webhook` (a
  ``WebhookReceiver`` or a URL); `options` are its keyword arguments: ``bearer_token``, ``basic_auth``,
  ``max_alerts``, ``send_resolved``, ``group_by``, ``group_wait``, ``group_interval``, ``repeat_interval``,
  ``resolve_timeout``, ``external_url``, ``start_timeout``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest_asyncio

from .processes import AlertmanagerProcess, Exposition, PeerProcess, PrometheusProcess, WebhookReceiver

StartPrometheus = Callable[..., Awaitable[PrometheusProcess]]
StartAlertmanager = Callable[..., Awaitable[AlertmanagerProcess]]


@pytest_asyncio.fixture
async def exposition() -> AsyncIterator[Exposition]:
    served = Exposition()
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest_asyncio.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def _stop_all(started: list[PeerProcess]) -> None:
    errors: list[BaseException] = []
    for process in reversed(started):
        try:
            await process.stop()
        except Exception as exc:  # stop the others anyway, then report
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest_asyncio.fixture
async def start_prometheus(tmp_path: Path) -> AsyncIterator[StartPrometheus]:
    started: list[PeerProcess] = []

    async def start(
        target: Exposition | str,
        *,
        alert_for: str = "2s",
        alertmanager: AlertmanagerProcess | str | None = None,
        rule_files: Sequence[Path] | None = None,
        start_timeout: float = 30.0,
    ) -> PrometheusProcess:
        process = PrometheusProcess(
            tmp_path / f"prometheus-{len(started)}",
            scrape_target=target.target if isinstance(target, Exposition) else target,
            alert_for=alert_for,
            alertmanager_url=alertmanager.url if isinstance(alertmanager, AlertmanagerProcess) else alertmanager,
            rule_files=rule_files,
            start_timeout=start_timeout,
        )
        # Recorded before it starts, so that a start that fails half-way is stopped too.
        started.append(process)
        await process.start()
        return process

    try:
        yield start
    finally:
        await _stop_all(started)


@pytest_asyncio.fixture
async def start_alertmanager(tmp_path: Path) -> AsyncIterator[StartAlertmanager]:
    started: list[PeerProcess] = []

    async def start(webhook: WebhookReceiver | str, **options: Any) -> AlertmanagerProcess:
        process = AlertmanagerProcess(
            tmp_path / f"alertmanager-{len(started)}",
            webhook_url=webhook.url if isinstance(webhook, WebhookReceiver) else webhook,
            **options,
        )
        started.append(process)
        await process.start()
        return process

    try:
        yield start
    finally:
        await _stop_all(started)
