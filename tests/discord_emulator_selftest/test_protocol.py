"""The emulator's wire behaviour, checked with a raw HTTP/websocket client: Discord's payloads, errors and limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.discord_emulator import DiscordEmulator, Intents, Permissions
from tests.discord_emulator.fixtures import Classroom

# Handler exceptions are only logged by discord.py: make them fail the test.
pytestmark = pytest.mark.usefixtures("discord_client_errors")


class Raw:
    """A bare client: REST with the bot token, and a gateway socket it drives by hand."""

    def __init__(self, emulator: DiscordEmulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, form: aiohttp.FormData | None = None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bot {self.emulator.token}"} if auth else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if form is not None:
            kwargs["data"] = form
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.emulator.api_url + path, **kwargs) as response:
            text = await response.text()
            data = json.loads(text) if response.headers.get("Content-Type") == "application/json" else text
            return response.status, dict(response.headers), data

    async def connect(self, intents: int = Intents.GUILDS, path: str = "/") -> tuple[dict[str, Any], dict[str, Any]]:
        """HELLO, IDENTIFY, READY: returns (hello, ready)."""
        url = f"ws://127.0.0.1:{self.emulator.port}{path}?v=10&encoding=json"
        self.ws = await self.session.ws_connect(url)
        hello = await self.receive()
        await self.send({"op": 2, "d": {"token": self.emulator.token, "intents": intents, "properties": {}}})
        return hello, await self.receive()

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        assert self.ws is not None
        message = await self.ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def receive_event(self, name: str) -> dict[str, Any]:
        while True:
            frame = await self.receive()
            if frame.get("t") == name:
                return frame


@pytest_asyncio.fixture
async def raw(discord_emulator: DiscordEmulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        client = Raw(discord_emulator, session)
        yield client
        if client.ws is not None:
            await client.ws.close()


def errors_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    errors: dict[str, Any] = body["errors"]
    return errors


# ---------------------------------------------------------------------- REST basics


async def test_json_answers_say_exactly_application_json(raw: Raw) -> None:
    status, headers, body = await raw.call("GET", "/users/@me")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["bot"] is True and body["id"] == str(raw.emulator.world.bot.id)
    assert headers["Via"] == "1.1 google"


async def test_without_the_bot_token_the_api_answers_401_and_counts_it(raw: Raw) -> None:
    status, _, body = await raw.call("GET", "/users/@me", auth=False)
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert raw.emulator.invalid_request_count == 1


async def test_unknown_routes_are_404_and_recorded(raw: Raw) -> None:
    status, _, body = await raw.call("GET", "/guilds/1/audit-logs")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    status, _, body = await raw.call("PUT", "/users/@me")
    assert (status, body) == (405, {"message": "405: Method Not Allowed", "code": 0})
    assert [r.key for r in raw.emulator.unhandled] == ["GET /guilds/1/audit-logs", "PUT /users/@me"]
    status, _, body = await raw.call("GET", "/channels/123")
    assert (status, body) == (404, {"message": "Unknown Channel", "code": 10003})


async def test_rate_limit_buckets_answer_with_discords_headers(raw: Raw, discord_classroom: Classroom) -> None:
    raw.emulator.set_rate_limit("GET /channels/{channel_id}", 2, 5.0)
    path = f"/channels/{discord_classroom.alerts.id}"
    first = await raw.call("GET", path)
    second = await raw.call("GET", path)
    status, headers, body = await raw.call("GET", path)
    assert [first[0], second[0], status] == [200, 200, 429]
    assert (first[1]["X-RateLimit-Limit"], first[1]["X-RateLimit-Remaining"]) == ("2", "1")
    assert second[1]["X-RateLimit-Remaining"] == "0"
    assert first[1]["X-RateLimit-Bucket"] == headers["X-RateLimit-Bucket"]
    assert (
        headers["X-RateLimit-Scope"] == "user" and headers["Via"] == "1.1 google" and int(headers["Retry-After"]) >= 4
    )
    assert body["message"] == "You are being rate limited." and body["global"] is False and body["retry_after"] > 4
    # Another channel is another bucket (channel_id is a major parameter).
    other = await raw.call("GET", f"/channels/{discord_classroom.channel('team-red').id}")
    assert other[0] == 200 and other[1]["X-RateLimit-Remaining"] == "1"
    assert raw.emulator.invalid_request_count == 1


async def test_injected_faults_look_like_discord_and_cloudflare(raw: Raw, discord_classroom: Classroom) -> None:
    path = f"/channels/{discord_classroom.alerts.id}/messages"
    raw.emulator.inject(429, retry_after=0.5, global_=True, route=f"POST {path}")
    status, headers, body = await raw.call("POST", path, {"content": "x"})
    assert status == 429 and headers["X-RateLimit-Global"] == "true" and headers["Via"] == "1.1 google"
    assert body == {"message": "You are being rate limited.", "retry_after": 0.5, "global": True}
    raw.emulator.inject(429, cloudflare=True)
    status, headers, body = await raw.call("POST", path, {"content": "x"})
    assert status == 429 and "Via" not in headers and isinstance(body, str)
    raw.emulator.inject(503)
    status, _, body = await raw.call("POST", path, {"content": "x"})
    assert status == 503 and body["code"] == 0
    # A fault after the effect: the message exists although the answer was an error.
    raw.emulator.inject(500, after=True, route="POST /channels/{channel_id}/messages")
    status, _, _ = await raw.call("POST", path, {"content": "sent but unanswered"})
    assert status == 500
    assert [m.content for m in raw.emulator.messages(discord_classroom.alerts)] == ["sent but unanswered"]
    status, _, _ = await raw.call("POST", path, {"content": "fine"})
    assert status == 200


async def test_too_many_invalid_requests_get_the_ip_banned() -> None:
    async with DiscordEmulator(invalid_request_limit=3) as emulator, aiohttp.ClientSession() as session:
        raw = Raw(emulator, session)
        for _ in range(3):
            assert (await raw.call("GET", "/users/@me", auth=False))[0] == 401
        status, headers, body = await raw.call("GET", "/users/@me")
        assert status == 429 and "Via" not in headers and "1015" in body


async def test_the_global_limit_applies_to_bot_requests_but_not_to_interactions(raw: Raw) -> None:
    raw.emulator.ratelimits.global_limit = 2
    statuses = [(await raw.call("GET", "/users/@me"))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert raw.emulator.requests[-1].response["global"] is True


# ---------------------------------------------------------------------- message limits


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "x" * 2001}, ["content"]),
        ({"embeds": [{"title": "t" * 257}]}, ["embeds", "0", "title"]),
        ({"embeds": [{"description": "d" * 4097}]}, ["embeds", "0", "description"]),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ["embeds", "0", "fields"]),
        ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, ["embeds", "0", "fields", "0", "name"]),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, ["embeds", "0", "fields", "0", "value"]),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ["embeds", "0", "footer", "text"]),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, ["embeds", "0", "author", "name"]),
        ({"embeds": [{"description": "d" * 3500}, {"description": "d" * 3500}]}, ["embeds"]),
        ({"embeds": [{"title": "t"}] * 11}, ["embeds"]),
        (
            {
                "content": "x",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"}]}
                    for i in range(6)
                ],
            },
            ["components"],
        ),
        (
            {
                "content": "x",
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"} for i in range(6)],
                    }
                ],
            },
            ["components", "0", "components"],
        ),
        (
            {
                "content": "x",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "c" * 101}]}
                ],
            },
            ["components", "0", "components", "0", "custom_id"],
        ),
        (
            {
                "content": "x",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "l" * 81, "custom_id": "c"}]}
                ],
            },
            ["components", "0", "components", "0", "label"],
        ),
        (
            {
                "content": "x",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "a", "custom_id": "same"},
                            {"type": 2, "style": 1, "label": "b", "custom_id": "same"},
                        ],
                    }
                ],
            },
            ["components", "0", "components", "1", "custom_id"],
        ),
    ],
    ids=[
        "content",
        "title",
        "description",
        "25-fields",
        "field-name",
        "field-value",
        "footer",
        "author",
        "6000-total",
        "10-embeds",
        "5-rows",
        "5-per-row",
        "custom-id",
        "label",
        "duplicate-custom-id",
    ],
)
async def test_message_limits_are_discords(
    raw: Raw, discord_classroom: Classroom, body: dict[str, Any], path: list[str]
) -> None:
    status, _, answer = await raw.call("POST", f"/channels/{discord_classroom.alerts.id}/messages", body)
    assert status == 400
    node = errors_of(answer)
    for part in path:
        node = node[part]
    assert node["_errors"][0]["message"]
    assert raw.emulator.messages(discord_classroom.alerts) == []


async def test_an_empty_message_and_an_unknown_message(raw: Raw, discord_classroom: Classroom) -> None:
    status, _, body = await raw.call("POST", f"/channels/{discord_classroom.alerts.id}/messages", {"content": ""})
    assert (status, body) == (400, {"message": "Cannot send an empty message", "code": 50006})
    status, _, body = await raw.call("GET", f"/channels/{discord_classroom.alerts.id}/messages/42")
    assert (status, body) == (404, {"message": "Unknown Message", "code": 10008})


async def test_enforce_nonce_returns_the_earlier_message(raw: Raw, discord_classroom: Classroom) -> None:
    path = f"/channels/{discord_classroom.alerts.id}/messages"
    first = await raw.call("POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    again = await raw.call("POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    assert first[0] == again[0] == 200
    assert first[2]["id"] == again[2]["id"]
    unenforced = await raw.call("POST", path, {"content": "twice", "nonce": "n-1"})
    assert unenforced[2]["id"] != first[2]["id"]
    raw.emulator.clock.advance(6 * 60)  # past Discord's few minutes
    later = await raw.call("POST", path, {"content": "once", "nonce": "n-1", "enforce_nonce": True})
    assert later[2]["id"] not in (first[2]["id"], unenforced[2]["id"])
    assert len(raw.emulator.messages(discord_classroom.alerts)) == 3


async def test_multipart_uploads_keep_their_bytes(raw: Raw, discord_classroom: Classroom) -> None:
    form = aiohttp.FormData(quote_fields=False)
    payload = {"content": "logs", "attachments": [{"id": 0, "filename": "pod.log", "description": "kubectl logs"}]}
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", b"line 1\nline 2\n", filename="pod.log", content_type="application/octet-stream")
    status, _, body = await raw.call("POST", f"/channels/{discord_classroom.alerts.id}/messages", form=form)
    assert status == 200
    [attachment] = body["attachments"]
    assert (attachment["filename"], attachment["size"], attachment["description"]) == ("pod.log", 14, "kubectl logs")
    async with raw.session.get(attachment["url"]) as response:
        assert await response.read() == b"line 1\nline 2\n"
    assert raw.emulator.requests[-1].files[0].data == b"line 1\nline 2\n"


async def test_threads_names_archiving_and_locking(raw: Raw, discord_classroom: Classroom) -> None:
    alerts = discord_classroom.alerts.id
    status, _, body = await raw.call("POST", f"/channels/{alerts}/threads", {"name": "n" * 101, "type": 11})
    assert status == 400 and "name" in errors_of(body)
    status, _, thread = await raw.call("POST", f"/channels/{alerts}/threads", {"name": "standalone", "type": 11})
    assert status == 201 and thread["type"] == 11 and thread["thread_metadata"]["archived"] is False
    assert raw.emulator.messages(alerts) == []
    assert [m.type for m in raw.emulator.messages(alerts, include_system=True)] == [18]  # "started a thread"
    status, _, _ = await raw.call("PATCH", f"/channels/{thread['id']}", {"archived": True})
    assert status == 200
    status, _, body = await raw.call("PATCH", f"/channels/{thread['id']}", {"name": "renamed"})
    assert (status, body) == (400, {"message": "Thread is archived", "code": 50083})
    # Writing into an archived (unlocked) thread unarchives it, as on Discord.
    status, _, _ = await raw.call("POST", f"/channels/{thread['id']}/messages", {"content": "back"})
    assert status == 200 and raw.emulator.world.channel(int(thread["id"])).archived is False
    status, _, message = await raw.call("POST", f"/channels/{alerts}/messages", {"content": "starter"})
    await raw.call("POST", f"/channels/{alerts}/messages/{message['id']}/threads", {"name": "from message"})
    status, _, body = await raw.call("POST", f"/channels/{alerts}/messages/{message['id']}/threads", {"name": "again"})
    assert (status, body) == (400, {"message": "A thread has already been created for this message", "code": 160004})


async def test_the_bot_needs_permissions_like_on_discord(raw: Raw, discord_classroom: Classroom) -> None:
    emulator = raw.emulator
    hidden = emulator.add_text_channel(
        discord_classroom.guild, "staff", overwrites=[_deny_view(discord_classroom.bot_role.id)]
    )
    status, _, body = await raw.call("POST", f"/channels/{hidden.id}/messages", {"content": "x"})
    assert (status, body) == (403, {"message": "Missing Access", "code": 50001})
    with pytest.raises(PermissionError):
        emulator.post_message(discord_classroom.channel("team-blue"), discord_classroom.students["red"][0], "hi")
    assert emulator.world.permissions_in(discord_classroom.channel("team-blue").id, discord_classroom.instructor.id) & (
        Permissions.VIEW_CHANNEL
    )


def _deny_view(role_id: int) -> Any:
    from tests.discord_emulator import Overwrite

    return Overwrite(role_id, 0, deny=Permissions.VIEW_CHANNEL)


# ---------------------------------------------------------------------- gateway and interactions


async def test_identify_ready_guild_create_heartbeat_and_resume(raw: Raw, discord_classroom: Classroom) -> None:
    hello, ready = await raw.connect(Intents.GUILDS)
    assert hello == {"op": 10, "d": {"heartbeat_interval": 5000}, "s": None, "t": None}
    assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
    assert ready["d"]["guilds"] == [{"id": str(discord_classroom.id), "unavailable": True}]
    assert ready["d"]["resume_gateway_url"].endswith("/resume")
    assert ready["d"]["application"]["id"] == str(raw.emulator.world.application_id)
    guild = await raw.receive()
    assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
    assert guild["d"]["member_count"] == 7
    # Without GUILD_PRESENCES Discord sends only the bot's own member.
    assert [m["user"]["id"] for m in guild["d"]["members"]] == [str(raw.emulator.world.bot.id)]
    assert {c["name"] for c in guild["d"]["channels"]} == {"alerts", "team-blue", "team-red"}
    await raw.send({"op": 1, "d": 2})
    assert await raw.receive() == {"op": 11, "d": None, "s": None, "t": None}
    session_id = ready["d"]["session_id"]
    assert raw.ws is not None
    await raw.ws.close(code=4000)  # 1000/1001 would end the session, as on Discord
    # Missed while away, replayed on RESUME before RESUMED.
    raw.emulator.add_role(discord_classroom.guild, "team-green")
    raw.ws = await raw.session.ws_connect(ready["d"]["resume_gateway_url"] + "?v=10&encoding=json")
    await raw.receive()
    await raw.send({"op": 6, "d": {"token": raw.emulator.token, "session_id": "nope", "seq": 2}})
    assert await raw.receive() == {"op": 9, "d": False, "s": None, "t": None}
    await raw.send({"op": 6, "d": {"token": raw.emulator.token, "session_id": session_id, "seq": 2}})
    replayed = await raw.receive()
    assert (replayed["t"], replayed["s"], replayed["d"]["role"]["name"]) == ("GUILD_ROLE_CREATE", 3, "team-green")
    resumed = await raw.receive()
    assert (resumed["t"], resumed["s"]) == ("RESUMED", 4)


async def test_a_bad_token_closes_the_gateway_with_4004(raw: Raw) -> None:
    raw.ws = await raw.session.ws_connect(raw.emulator.gateway_url + "?v=10&encoding=json")
    await raw.receive()
    await raw.send({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
    message = await raw.ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 4004


async def test_message_content_needs_the_privileged_intent(raw: Raw, discord_classroom: Classroom) -> None:
    await raw.connect(Intents.GUILDS | Intents.GUILD_MESSAGES)
    student = discord_classroom.students["blue"][0]
    raw.emulator.post_message("team-blue", student, "secret")
    created = await raw.receive_event("MESSAGE_CREATE")
    assert created["d"]["content"] == "" and created["d"]["member"]["roles"]
    raw.emulator.post_message("team-blue", student, f"<@{raw.emulator.world.bot.id}> help")
    created = await raw.receive_event("MESSAGE_CREATE")
    assert created["d"]["content"].endswith("help")


async def _register(raw: Raw, classroom: Classroom, commands: list[dict[str, Any]]) -> None:
    app = raw.emulator.world.application_id
    status, _, body = await raw.call("PUT", f"/applications/{app}/guilds/{classroom.id}/commands", commands)
    assert status == 200, body


async def test_interaction_callbacks_follow_discords_rules(raw: Raw, discord_classroom: Classroom) -> None:
    emulator = raw.emulator
    await _register(
        raw,
        discord_classroom,
        [
            {
                "name": "go",
                "description": "Go",
                "options": [{"type": 6, "name": "who", "description": "Who", "required": True}],
            },
            {
                "name": "admin",
                "description": "Instructors",
                "default_member_permissions": str(Permissions.MANAGE_GUILD),
            },
        ],
    )
    await raw.connect()
    student = discord_classroom.students["blue"][0]
    with pytest.raises(PermissionError, match="default_member_permissions"):
        await emulator.slash(discord_classroom.guild, "alerts", student, "admin", wait=False)
    with pytest.raises(ValueError, match="required"):
        await emulator.slash(discord_classroom.guild, "alerts", student, "go", wait=False)
    with pytest.raises(LookupError, match="registered"):
        await emulator.slash(discord_classroom.guild, "alerts", student, "nope", wait=False)
    record = await emulator.slash(
        discord_classroom.guild, "alerts", student, "go", {"who": discord_classroom.instructor}, wait=False
    )
    event = await raw.receive_event("INTERACTION_CREATE")
    data = event["d"]
    assert data["attachment_size_limit"] == 10 * 1024 * 1024 and data["data"]["name"] == "go"
    assert data["data"]["options"] == [{"name": "who", "type": 6, "value": str(discord_classroom.instructor.id)}]
    assert str(discord_classroom.instructor.id) in data["data"]["resolved"]["members"]
    assert int(data["member"]["permissions"]) & Permissions.VIEW_CHANNEL
    callback = f"/interactions/{data['id']}/{data['token']}/callback?with_response=true"
    status, _, body = await raw.call(
        "POST", callback, {"type": 9, "data": {"title": "t" * 46, "custom_id": "m", "components": []}}, auth=False
    )
    assert status == 400 and "title" in errors_of(body)["data"]
    status, _, body = await raw.call("POST", callback, {"type": 5, "data": {"flags": 64}}, auth=False)
    assert status == 200 and body["interaction"]["response_message_loading"] is True
    status, _, body = await raw.call("POST", callback, {"type": 4, "data": {"content": "again"}}, auth=False)
    assert (status, body) == (400, {"message": "Interaction has already been acknowledged.", "code": 40060})
    original = f"/webhooks/{emulator.world.application_id}/{data['token']}/messages/@original"
    status, _, body = await raw.call("PATCH", original, {"content": "done"}, auth=False)
    assert status == 200 and body["content"] == "done" and body["flags"] == 64
    assert record.ephemeral and record.original is not None and record.original.content == "done"
    emulator.clock.advance(15 * 60 + 1)
    status, _, body = await raw.call("PATCH", original, {"content": "later"}, auth=False)
    assert (status, body) == (401, {"message": "Invalid Webhook Token", "code": 50027})

    late = await emulator.slash(discord_classroom.guild, "alerts", student, "go", {"who": student}, wait=False)
    emulator.clock.advance(3.1)
    status, _, body = await raw.call(
        "POST", f"/interactions/{late.id}/{late.token}/callback", {"type": 4, "data": {"content": "x"}}, auth=False
    )
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})
    assert late.rejected == [(404, {"message": "Unknown interaction", "code": 10062})]


async def test_bulk_overwrite_keeps_ids_and_validates(raw: Raw, discord_classroom: Classroom) -> None:
    await _register(raw, discord_classroom, [{"name": "one", "description": "1"}])
    first = raw.emulator.commands(discord_classroom.guild)[0]["id"]
    await _register(
        raw, discord_classroom, [{"name": "one", "description": "one"}, {"name": "two", "description": "2"}]
    )
    commands = raw.emulator.commands(discord_classroom.guild)
    assert [c["id"] == first for c in commands] == [True, False]
    app = raw.emulator.world.application_id
    status, _, body = await raw.call(
        "PUT", f"/applications/{app}/guilds/{discord_classroom.id}/commands", [{"name": "Bad Name", "description": "x"}]
    )
    assert status == 400 and "name" in errors_of(body)["0"]
    # A guild the application is not installed in: Discord answers 403 Missing Access, never 404.
    for method in ("PUT", "GET"):
        status, _, body = await raw.call(method, f"/applications/{app}/guilds/345678901234567890/commands", [])
        assert (status, body["code"]) == (403, 50001)


async def test_waiting_for_an_answer_fails_fast_when_discord_would_give_up(
    raw: Raw, discord_classroom: Classroom
) -> None:
    await _register(raw, discord_classroom, [{"name": "mute", "description": "Never answers"}])
    await raw.connect()
    record = await raw.emulator.slash(discord_classroom.guild, "alerts", "instructor", "mute", wait=False)
    raw.emulator.clock.advance(3.5)
    with pytest.raises(AssertionError, match="The application did not respond"):
        await record.wait_response(timeout=1)


async def test_an_incoming_webhook_posts_into_its_channel_with_its_token_only(
    raw: Raw, discord_classroom: Classroom
) -> None:
    alerts = discord_classroom.alerts
    url = raw.emulator.add_webhook(alerts, "Alertmanager")
    path = url.removeprefix(raw.emulator.api_url)
    embed = {"title": "[FIRING:1] Down", "description": "x"}
    status, _, _ = await raw.call("POST", path, {"embeds": [embed]}, auth=False)
    assert status == 204
    status, _, message = await raw.call("POST", path + "?wait=true", {"content": "second"}, auth=False)
    assert status == 200 and message["webhook_id"] == path.split("/")[2]
    [first, second] = raw.emulator.messages(alerts)
    assert first.embeds[0]["title"] == "[FIRING:1] Down" and second.content == "second"
    wrong = path.rsplit("/", 1)[0] + "/not-the-token"
    status, _, body = await raw.call("POST", wrong, {"content": "nope"}, auth=False)
    assert (status, body["code"]) == (401, 50027)
    status, _, body = await raw.call("POST", path, {"content": "x" * 2001}, auth=False)
    assert status == 400
    assert len(raw.emulator.messages(alerts)) == 2
