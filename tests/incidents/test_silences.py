"""bot.incidents.silences against a real Alertmanager 0.25 (tests/peers), and stubs for what it cannot be made
to do (5xx, no answer)."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from bot.errors import KubecampError
from bot.incidents.silences import (
    Alertmanager,
    AlertmanagerUnavailable,
    SilenceInvalid,
    SilenceNotFound,
    SilenceRefused,
)
from tests.peers.processes import AlertmanagerProcess, WebhookReceiver

MATCHERS = {"alertname": "KubecampImagePullFailing", "namespace": "kubecamp-blue"}


async def _create(client: Alertmanager, *, starts_in: timedelta = timedelta(0), hours: float = 1) -> str:
    now = datetime.now(UTC)
    return await client.create_silence(
        MATCHERS,
        starts_at=now + starts_in,
        ends_at=now + starts_in + timedelta(hours=hours),
        created_by="instructor#1234",
        comment="kubecamp-bot: incident #7",
    )


async def test_create_then_get_shows_it_active_with_the_matchers(
    client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    silence_id = await _create(client)

    silence = await client.get_silence(silence_id)
    assert silence["id"] == silence_id
    assert silence["status"]["state"] == "active"
    assert sorted(silence["matchers"], key=lambda m: m["name"]) == [
        {"name": "alertname", "value": "KubecampImagePullFailing", "isRegex": False, "isEqual": True},
        {"name": "namespace", "value": "kubecamp-blue", "isRegex": False, "isEqual": True},
    ]
    assert silence["createdBy"] == "instructor#1234"
    assert silence["comment"] == "kubecamp-bot: incident #7"
    assert datetime.fromisoformat(silence["endsAt"]) > datetime.now(UTC) + timedelta(minutes=59)
    assert [s["id"] for s in await alertmanager.silences()] == [silence_id]


async def test_expire_makes_it_expired_and_expiring_again_is_fine(client: Alertmanager) -> None:
    silence_id = await _create(client)

    await client.expire_silence(silence_id)
    assert (await client.get_silence(silence_id))["status"]["state"] == "expired"
    # Alertmanager answers 200 for a silence that already expired: unsilencing twice is not an error.
    await client.expire_silence(silence_id)
    assert (await client.get_silence(silence_id))["status"]["state"] == "expired"


async def test_a_pending_silence_expires_too(client: Alertmanager) -> None:
    silence_id = await _create(client, starts_in=timedelta(minutes=30))
    assert (await client.get_silence(silence_id))["status"]["state"] == "pending"

    await client.expire_silence(silence_id)
    assert (await client.get_silence(silence_id))["status"]["state"] == "expired"


async def test_unknown_id_is_not_found(client: Alertmanager, alertmanager: AlertmanagerProcess) -> None:
    unknown = str(uuid.uuid4())
    # Alertmanager 0.25 answers DELETE with 500 "silence not found", GET with 404.
    with pytest.raises(SilenceNotFound, match=unknown) as expired:
        await client.expire_silence(unknown)
    assert expired.value.silence_id == unknown
    assert alertmanager.url in str(expired.value)
    with pytest.raises(SilenceNotFound):
        await client.get_silence(unknown)


async def test_an_id_that_is_not_a_uuid_is_refused_before_any_request(
    client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    silence_id = await _create(client)
    # Alertmanager would clean this path into DELETE /api/v2/silences (405), or worse on another endpoint.
    for bad in ("nope/../../silences", f"../silence/{silence_id}", ""):
        with pytest.raises(SilenceInvalid, match="is not a UUID"):
            await client.expire_silence(bad)
        with pytest.raises(SilenceInvalid, match="is not a UUID"):
            await client.get_silence(bad)
    assert [s["status"]["state"] for s in await alertmanager.silences()] == ["active"]


async def test_empty_matchers_are_refused_before_any_request(webhook_receiver: WebhookReceiver) -> None:
    # Pointed at a server that records every POST: nothing may arrive.
    am = Alertmanager(base_url=webhook_receiver.url.removesuffix("/hook"))
    now = datetime.now(UTC)
    try:
        with pytest.raises(SilenceInvalid, match="without matchers would silence every alert") as refused:
            await am.create_silence(
                {}, starts_at=now, ends_at=now + timedelta(hours=1), created_by="x", comment="everything"
            )
    finally:
        await am.close()
    assert isinstance(refused.value, SilenceRefused)
    assert isinstance(refused.value, ValueError)
    assert refused.value.status is None
    assert webhook_receiver.notifications == []


async def test_naive_times_are_refused_before_any_request(client: Alertmanager) -> None:
    with pytest.raises(SilenceInvalid, match="starts_at is a naive datetime"):
        await client.create_silence(
            MATCHERS,
            starts_at=datetime.now(),  # noqa: DTZ005 - naive: the point of the test
            ends_at=datetime.now(UTC),
            created_by="x",
            comment="y",
        )


async def test_end_before_start_is_refused_with_alertmanagers_reason(
    client: Alertmanager, alertmanager: AlertmanagerProcess
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(SilenceRefused) as refused:
        await client.create_silence(
            MATCHERS, starts_at=now, ends_at=now - timedelta(minutes=5), created_by="x", comment="backwards"
        )
    assert refused.value.status == 400
    assert refused.value.reason == "Failed to create silence: start time must be before end time"
    assert "refused to create a silence (400): Failed to create silence" in str(refused.value)
    assert isinstance(refused.value, KubecampError)
    assert await alertmanager.silences() == []


async def test_a_stopped_alertmanager_is_unavailable(client: Alertmanager, alertmanager: AlertmanagerProcess) -> None:
    silence_id = await _create(client)
    await alertmanager.stop()

    with pytest.raises(AlertmanagerUnavailable, match="is unreachable") as unavailable:
        await client.expire_silence(silence_id)
    assert isinstance(unavailable.value.__cause__, aiohttp.ClientConnectionError)
    with pytest.raises(AlertmanagerUnavailable):
        await _create(client)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_port_is_unavailable_and_the_message_hides_credentials(closed_port: int) -> None:
    am = Alertmanager(base_url=f"http://bot:hunter2@127.0.0.1:{closed_port}/alertmanager")
    try:
        with pytest.raises(AlertmanagerUnavailable) as unavailable:
            await _create(am)
    finally:
        await am.close()
    message = str(unavailable.value)
    assert f"http://127.0.0.1:{closed_port}/alertmanager" in message
    assert "hunter2" not in message
    assert "bot@" not in message
    assert isinstance(unavailable.value.__cause__, aiohttp.ClientError)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


async def test_no_answer_within_the_timeout_is_unavailable(silent_port: int) -> None:
    am = Alertmanager(base_url=f"http://127.0.0.1:{silent_port}", timeout=0.3)
    try:
        with pytest.raises(AlertmanagerUnavailable, match=r"did not answer DELETE .* within 0.3s") as unavailable:
            await am.expire_silence(str(uuid.uuid4()))
    finally:
        await am.close()
    assert isinstance(unavailable.value.__cause__, TimeoutError)


@pytest_asyncio.fixture
async def failing_server() -> AsyncIterator[str]:
    """Answers 503 with a text body, as a proxy in front of a down Alertmanager would."""

    async def down(_: web.Request) -> web.Response:
        return web.Response(status=503, text="upstream connect error")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", down)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_a_5xx_is_unavailable(failing_server: str) -> None:
    am = Alertmanager(base_url=failing_server)
    try:
        with pytest.raises(
            AlertmanagerUnavailable, match=r"failed to create a silence \(503\): upstream connect error"
        ):
            await _create(am)
        with pytest.raises(AlertmanagerUnavailable, match=r"\(503\)"):
            await am.expire_silence(str(uuid.uuid4()))
    finally:
        await am.close()


async def test_credentials_in_the_url_go_as_basic_auth_and_a_non_api_answer_is_unavailable(
    webhook_receiver: WebhookReceiver,
) -> None:
    # The receiver answers 200 with an empty body to any POST: not Alertmanager's API.
    base = webhook_receiver.url.removesuffix("/hook")
    am = Alertmanager(base_url=base.replace("http://", "http://bot:hunter%202@") + "/alertmanager/")
    try:
        with pytest.raises(AlertmanagerUnavailable, match="answered POST silences with no JSON") as unavailable:
            await _create(am)
    finally:
        await am.close()
    assert "hunter" not in str(unavailable.value)
    [request] = webhook_receiver.notifications
    assert request.path == "/alertmanager/api/v2/silences"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"bot:hunter 2").decode()
    body = request.json()
    assert body["matchers"][0] == {
        "name": "alertname",
        "value": "KubecampImagePullFailing",
        "isRegex": False,
        "isEqual": True,
    }
    assert body["startsAt"].endswith("Z")
