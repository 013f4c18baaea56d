"""Alertmanager's webhook under fuzz, over real HTTP on loopback against a real SQLite store.

Hypothesis sends what Alertmanager never would — any JSON, version-4 bodies with a wrong type at any level,
strings up to twice the body limit, nesting 12 000 levels deep, bytes that are not UTF-8, broken JSON, other
content types, wrong credentials (also as header bytes that are not UTF-8), each now and then slowly, in
pieces — and every answer must be a 4xx with a JSON error, while a valid notification posted alongside is
still taken (200) and /healthz (on the probe listener beside it) still answers. Nothing is stored but that
notification, no 5xx is counted, and the memory traced stays bounded. What the server takes for a body is bounded
by the limit, not by what is sent; bodies that stall or are cut off get 408 or 400 without holding up anyone else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.store import Store
from bot.web import WebhookAuth
from tests.incidents.test_payload import JSON
from tests.test_web import TOKEN, Hook, notification, open_hook, raw_post

pytestmark = pytest.mark.reliability

USER, PASSWORD = "alertmanager", "basic-secret"
#: The webhook's body limit here (the bot's default is 1 MiB): big enough for bodies past the model's own
#: length limits (16 384 characters a label), small enough to send hundreds of examples near it.
LIMIT = 64 * 1024
#: Slow bodies here pause at most 4 × 20 ms: far from this, so a 408 in the fuzz would be a bug.
BODY_TIMEOUT = 2.0
#: Memory (tracemalloc) one round of the fuzz — the fuzzed request, the control, /healthz — may take beyond
#: twice the fuzzed body, the client's copies while it sends. The server reads at most LIMIT of a body; what
#: `json.loads` and pydantic build from that, the requests' buffers and the store's round trip came to under
#: 0.4 MiB measured. `test_what_the_server_takes_is_bounded_by_the_limit_not_by_the_body` bounds the server's
#: share alone.
ROUND_MEMORY = 16 * LIMIT
#: Memory still held after a round: Hypothesis keeps a record of every example (about 7 MiB after 400); a
#: server keeping a little of each request would cross this long before the end.
HELD_MEMORY = 16 * 1024 * 1024
EXAMPLES = 400
#: The valid notification posted with every example; the fuzz builds on another group.
CONTROL = notification(groupKey='{}:{alertname="Control"}', fingerprint="c0ffee")


@dataclass(frozen=True)
class Request:
    """One fuzzed request: its body, the statuses it may get, and how it is sent."""

    body: bytes
    expected: frozenset[int]
    headers: Mapping[str, str] = field(default_factory=dict)  # over the valid token and Content-Type
    pieces: int = 1  # a slow client: the body in this many pieces…
    pause: float = 0.0  # …with this pause before each
    #: Authorization as raw bytes, sent over a bare socket (aiohttp's client sends UTF-8 only).
    wire_authorization: bytes | None = None


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _expect(body: bytes, *statuses: int) -> frozenset[int]:
    """`statuses`, or 413 for a body over the limit, whatever else it is."""
    return frozenset({413} if len(body) > LIMIT else statuses)


# -- bodies --------------------------------------------------------------------------------------------------------

ANY_JSON = JSON.map(lambda value: Request(_encode(value), _expect(_encode(value), 422)))

_LISTS = st.lists(JSON, max_size=3)
_OBJECTS = st.dictionaries(st.text(max_size=8), JSON, max_size=3)
#: A value of another JSON type than the one the field takes, and none pydantic would convert to it (a number
#: is a Unix time, a boolean an integer).
_WRONG: dict[type, st.SearchStrategy[Any]] = {
    str: _LISTS | _OBJECTS | st.booleans() | st.none(),
    int: _LISTS | _OBJECTS | st.none() | st.text(alphabet="abcxyz", min_size=1),
    dict: _LISTS | st.text() | st.integers() | st.booleans() | st.none(),
    list: _OBJECTS | st.text() | st.integers() | st.booleans() | st.none(),
}
#: endsAt may be null (not ended): anything else of another type.
_WRONG_END = _LISTS | _OBJECTS | st.booleans()

Path = tuple[str | int, ...]


def _paths(value: Any, at: Path = ()) -> Iterator[Path]:
    """The path of every value inside `value`, at every level."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*at, key)
        yield from _paths(inner, (*at, key))


def _set(data: Any, path: Path, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _get(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


NOTIFICATION_PATHS = sorted(_paths(notification()), key=str)


@st.composite
def wrong_types(draw: st.DrawFn) -> Request:
    """A version-4 body with one value, at any level, of a wrong type."""
    data = notification()
    path = draw(st.sampled_from(NOTIFICATION_PATHS))
    wrong = _WRONG_END if path[-1] == "endsAt" else _WRONG[type(_get(data, path))]
    _set(data, path, draw(wrong))
    body = _encode(data)
    return Request(body, _expect(body, 422))


#: Strings the model bounds at 16 384 characters or less; groupKey (65 536) is left out: it may be long.
HUGE_SLOTS: list[Path] = [
    ("receiver",),
    ("externalURL",),
    ("alerts", 0, "generatorURL"),
    ("alerts", 0, "fingerprint"),
    ("alerts", 0, "labels", "pod"),
    ("alerts", 0, "annotations", "summary"),
    ("commonLabels", "namespace"),
]


@st.composite
def huge_strings(draw: st.DrawFn) -> Request:
    """A string of 16 385 characters up to twice the body limit: in a field, as a label name, or the body."""
    size = draw(st.integers(16_385, 2 * LIMIT))
    piece = draw(st.text(min_size=1, max_size=3))
    text = (piece * (size // len(piece) + 1))[:size]
    data = notification()
    where = draw(st.sampled_from([*HUGE_SLOTS, "label name", "body"]))
    if where == "body":
        body = _encode(text)
    else:
        if where == "label name":
            data["alerts"][0]["labels"][text] = "x"
        else:
            _set(data, where, text)
        body = _encode(data)
    return Request(body, _expect(body, 422))


@st.composite
def deep_nesting(draw: st.DrawFn) -> Request:
    """Arrays or objects nested up to 12 000 deep, as the body or as an alert's labels. Past Python's
    recursion limit the body is refused as no JSON (400), short of it as the wrong shape (422)."""
    depth = draw(st.integers(1, 12_000))
    opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested = opening * depth + "0" + closing * depth
    if draw(st.booleans()):
        body = nested.encode()
    else:
        data = notification()
        data["alerts"][0]["labels"] = "NESTED"
        body = _encode(data).replace(b'"NESTED"', nested.encode())
    return Request(body, _expect(body, 400, 422))


_INVALID_UTF8 = st.binary(min_size=1, max_size=8).filter(lambda raw: not _utf8(raw))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@st.composite
def not_utf8(draw: st.DrawFn) -> Request:
    """Bytes that are not UTF-8 in a label value, a Latin-1 body, or any bytes at all (which `json.loads`
    may take for UTF-16 or -32: two bytes can be JSON then, of the wrong shape)."""
    kind = draw(st.sampled_from(["in a label", "latin-1", "any bytes"]))
    if kind == "in a label":
        body = _encode(notification()).replace(b"web-1", b"web-" + draw(_INVALID_UTF8))
        return Request(body, _expect(body, 400))
    if kind == "latin-1":
        body = json.dumps(notification(receiver="café-" + draw(st.text())), ensure_ascii=False)
        return Request(body.encode("latin-1", "replace"), frozenset({400}))
    body = draw(st.binary(max_size=256))
    return Request(body, _expect(body, 400, 422))


@st.composite
def broken_json(draw: st.DrawFn) -> Request:
    """A notification cut short, or followed by something that is not whitespace."""
    whole = _encode(notification())
    if draw(st.booleans()):
        return Request(whole[: draw(st.integers(0, len(whole) - 1))], frozenset({400}))
    tail = draw(st.text(min_size=1).filter(lambda text: bool(text.strip())))
    return Request(whole + tail.encode(), frozenset({400}))


MEDIA_TYPES = st.sampled_from(
    [
        *("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"),
        *("application/json-seq", "text/json", "application/problem+json", "application/x-json", ""),
    ]
) | st.from_regex(r"\A[a-z]{1,12}/[a-z0-9.+-]{1,20}(; charset=utf-8)?\Z").filter(
    lambda media: not media.startswith("application/json;") and media != "application/json"
)


@st.composite
def wrong_media_types(draw: st.DrawFn) -> Request:
    """A valid notification as anything but ``application/json``."""
    return Request(_encode(notification()), frozenset({415}), headers={"Content-Type": draw(MEDIA_TYPES)})


#: Header text aiohttp's client sends as is: no control characters (it refuses them).
_HEADER_TEXT = st.text(st.characters(exclude_categories=["Cc", "Cs"]) | st.just("\t"))
#: Header bytes a server's HTTP parser takes (visible ASCII, space, tab, and bytes ≥ 0x80), most not UTF-8.
_HEADER_BYTES = st.binary(max_size=40).map(lambda raw: bytes(b if b >= 0x20 and b != 0x7F else 0x20 for b in raw))
_NEAR_TOKENS = st.sampled_from([TOKEN[:-1], TOKEN + "x", TOKEN.upper(), f"{TOKEN} {TOKEN}", ""])
_NEAR_BASICS = st.sampled_from([f"{USER}:", f"{USER}:{PASSWORD}x", f":{PASSWORD}", f"{USER}{PASSWORD}", "é:ü"])


@st.composite
def wrong_credentials(draw: st.DrawFn) -> Request:
    """A valid notification with credentials that are not the configured ones."""
    body = _encode(notification())
    kind = draw(st.sampled_from(["any text", "near token", "near basic", "bytes"]))
    if kind == "bytes":
        scheme = draw(st.sampled_from([b"Bearer ", b"Basic ", b""]))
        return Request(body, frozenset({401}), wire_authorization=scheme + draw(_HEADER_BYTES))
    if kind == "any text":
        value = draw(st.sampled_from(["Bearer ", "Basic ", "bearer", ""])) + draw(_HEADER_TEXT)
    elif kind == "near token":
        value = f"{draw(st.sampled_from(['Bearer', 'Token', 'Bearer:']))} {draw(_NEAR_TOKENS)}"
    else:
        value = "Basic " + base64.b64encode(draw(_NEAR_BASICS).encode()).decode()
    return Request(body, frozenset({401}), headers={"Authorization": value})


@st.composite
def sometimes_slowly(draw: st.DrawFn, requests: st.SearchStrategy[Request]) -> Request:
    """`requests`, one in three sent in 2 to 4 pieces with a pause before each: those the server reads whole.
    (One it answers before reading it all — 401, 413, 415 — it does not wait for; a client that then hangs up
    mid-body leaves aiohttp lingering on the connection for its `lingering_time`, a task the leak check sees.)"""
    request = draw(requests)
    if request.wire_authorization is not None or not request.expected <= {400, 422} or draw(st.integers(0, 2)) > 0:
        return request
    pieces, pause = draw(st.integers(2, 4)), draw(st.sampled_from([0.0, 0.005, 0.02]))
    return Request(request.body, request.expected, request.headers, pieces, pause)


REQUESTS = sometimes_slowly(
    ANY_JSON
    | wrong_types()
    | huge_strings()
    | deep_nesting()
    | not_utf8()
    | broken_json()
    | wrong_media_types()
    | wrong_credentials()
)


async def _in_pieces(body: bytes, pieces: int, pause: float) -> AsyncIterator[bytes]:
    size = -(-len(body) // pieces)  # ceiling: `pieces` pieces at most
    for start in range(0, max(len(body), 1), size or 1):
        await asyncio.sleep(pause)
        yield body[start : start + size]


async def _send(hook: Hook, request: Request) -> tuple[int, dict[str, object]]:
    if request.wire_authorization is not None:
        headers = {"Authorization": request.wire_authorization, "Content-Type": b"application/json"}
        answered = await raw_post(hook.url, headers, request.body)
        assert answered is not None
        return answered[0], json.loads(answered[1])
    raw = request.body if request.pieces == 1 else _in_pieces(request.body, request.pieces, request.pause)
    return await hook.post(None, raw=raw, headers=dict(request.headers))


# -- the fuzz ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def hook(store: Store) -> AsyncIterator[Hook]:
    auth = WebhookAuth(token=TOKEN, username=USER, password=PASSWORD)
    async with open_hook(store, auth=auth, max_body_bytes=LIMIT, body_timeout=BODY_TIMEOUT) as opened:
        yield opened


@pytest.fixture
async def control(hook: Hook) -> int:
    """The incident of the valid notification, kept before the fuzz starts."""
    status, answer = await hook.post(CONTROL)
    assert (status, answer["changed"]) == (200, True)
    return int(answer["incident"])  # type: ignore[call-overload]


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


async def _health(hook: Hook) -> int:
    async with hook.session.get(f"{hook.health_url}/healthz") as response:
        return response.status


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible, and no example database is needed
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one server and store for the whole fuzz, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(request=REQUESTS)
@example(request=Request(b"[" * 10_000 + b"]" * 10_000, frozenset({400})))
@example(request=Request(b'{"a":' * 10_000 + b"}" * 10_000, frozenset({400})))
@example(request=Request(_encode("x" * (LIMIT - 2)), frozenset({422})))  # exactly the limit
@example(request=Request(_encode("x" * (LIMIT - 1)), frozenset({413})))  # one byte over
async def test_anything_but_a_notification_gets_a_4xx_and_changes_nothing(
    hook: Hook, control: int, traced: None, request: Request
) -> None:
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fuzzed, accepted, health = await asyncio.gather(_send(hook, request), hook.post(CONTROL), _health(hook))
    taken = tracemalloc.get_traced_memory()[1] - held
    status, answer = fuzzed
    assert status in request.expected, answer
    assert answer["status"] == "error" and answer["error"]
    assert accepted == (200, {"status": "ok", "incident": control, "changed": False})
    assert health == 200
    assert not [code for code in hook.answered() if code >= 500]
    [incident] = await hook.incidents.recent()  # the control's, unchanged
    assert (incident.id, incident.version) == (control, 1)
    assert taken < 2 * len(request.body) + ROUND_MEMORY
    assert tracemalloc.get_traced_memory()[0] < HELD_MEMORY


#: What the server may take for one body of any size, streamed: up to the limit of it as it reads, that once
#: more joined, and the request's own buffers (about 0.3 MiB measured). A server reading past the limit would
#: take the whole body, 64 times the limit at most here.
SERVER_MEMORY = 4 * LIMIT + 512 * 1024


@pytest.mark.parametrize("size", [LIMIT // 2, 4 * LIMIT, 64 * LIMIT], ids=["half-the-limit", "4x", "64x"])
async def test_what_the_server_takes_is_bounded_by_the_limit_not_by_the_body(
    hook: Hook, traced: None, size: int
) -> None:
    chunk = b" " * 4096  # JSON's whitespace: the body is no JSON at any size
    headers = {"Authorization": f"Bearer {TOKEN}".encode(), "Content-Type": b"application/json"}
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    # Chunked, one chunk held at a time, all of it sent even once refused: what is traced is the server's.
    answered = await raw_post(hook.url, headers, (chunk for _ in range(size // len(chunk))))
    taken = tracemalloc.get_traced_memory()[1] - held
    assert answered is not None
    assert answered[0] == (400 if size <= LIMIT else 413), answered
    assert taken < SERVER_MEMORY


async def test_stalled_and_abandoned_bodies_hold_up_no_one(store: Store) -> None:
    """Twenty clients stop sending their bodies after 0 to 19 bytes and ten hang up there; meanwhile /healthz
    and a notification are answered at once. The stalled ones get 408 once the body timeout has passed, those
    that hung up count as 400, none as 5xx."""
    body_timeout = 1.0
    async with open_hook(store, max_body_bytes=LIMIT, body_timeout=body_timeout) as hook:
        headers = {"Authorization": f"Bearer {TOKEN}".encode(), "Content-Type": b"application/json"}
        body = _encode(notification())
        loop = asyncio.get_running_loop()
        began = loop.time()
        stalled = asyncio.gather(*(raw_post(hook.url, headers, body, sent=n) for n in range(20)))
        hung_up = await asyncio.gather(*(raw_post(hook.url, headers, body, sent=n, hang_up=True) for n in range(10)))
        assert hung_up == [None] * 10

        assert await _health(hook) == 200
        other = notification(groupKey='{}:{alertname="Other"}', fingerprint="0123")
        assert (await hook.post(other))[0] == 200
        assert not stalled.done()  # served while the stalled requests still wait for their bodies

        answers = await stalled
        assert loop.time() - began >= body_timeout
        for answered in answers:
            assert answered is not None
            assert (answered[0], json.loads(answered[1])["error"]) == (408, "the body did not arrive within 1 s")
        async with asyncio.timeout(5):
            while hook.answered()[400] < 10:  # noqa: ASYNC110 (a counter: nothing to wait on)
                await asyncio.sleep(0.01)
        assert not [code for code in hook.answered() if code >= 500]
        [incident] = await hook.incidents.recent()
        assert incident.group_key == other["groupKey"]
