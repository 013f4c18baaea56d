"""Rate limits, injected faults and the invalid-request counter, answered the way Discord answers them.

https://discord.com/developers/docs/topics/rate-limits
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RATE_LIMITED_MESSAGE = "You are being rate limited."
INVALID_REQUEST_WINDOW = 600.0


@dataclass
class Limit:
    limit: int
    window: float


@dataclass
class _Bucket:
    limit: Limit
    count: int = 0
    reset_at: float = 0.0


def bucket_hash(route_key: str) -> str:
    return hashlib.sha1(route_key.encode(), usedforsecurity=False).hexdigest()[:32]


class RateLimiter:
    """Per-route buckets keyed like Discord: route template + major parameters (channel, guild, webhook)."""

    def __init__(self, default: Limit, global_limit: int | None = None) -> None:
        self.default = default
        self.overrides: dict[str, Limit] = {}
        self.global_limit = global_limit
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global_window: deque[float] = deque()

    def set_limit(self, route_key: str, limit: int, window: float) -> None:
        self.overrides[route_key] = Limit(limit, window)
        for (key, _), bucket in list(self._buckets.items()):
            if key == route_key:
                bucket.limit = self.overrides[route_key]

    def check_global(self, now: float) -> float | None:
        """Seconds to wait if the bot's global limit (requests per second) is exceeded, else None."""
        if self.global_limit is None:
            return None
        while self._global_window and now - self._global_window[0] >= 1.0:
            self._global_window.popleft()
        if len(self._global_window) >= self.global_limit:
            return max(0.0, 1.0 - (now - self._global_window[0]))
        self._global_window.append(now)
        return None

    def hit(self, route_key: str, major: str, now: float) -> tuple[bool, dict[str, str], float]:
        """Count one request. Returns (allowed, rate limit headers, retry_after)."""
        limit = self.overrides.get(route_key, self.default)
        bucket = self._buckets.setdefault((route_key, major), _Bucket(limit))
        if now >= bucket.reset_at:
            bucket.count = 0
            bucket.reset_at = now + bucket.limit.window
        bucket.count += 1
        reset_after = max(0.0, bucket.reset_at - now)
        remaining = max(0, bucket.limit.limit - bucket.count)
        headers = {
            "X-RateLimit-Limit": str(bucket.limit.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route_key),
        }
        if bucket.count > bucket.limit.limit:
            headers["X-RateLimit-Scope"] = "user"
            headers["Retry-After"] = str(math.ceil(reset_after))
            return False, headers, reset_after
        return True, headers, 0.0


def rate_limited_body(retry_after: float, *, is_global: bool) -> dict[str, Any]:
    return {"message": RATE_LIMITED_MESSAGE, "retry_after": round(retry_after, 3), "global": is_global}


@dataclass
class Fault:
    """One injected fault; ``emulator.inject(...)`` returns it so a test can see what it hit."""

    status: int
    times: int
    route: str | None = None
    method: str | None = None
    retry_after: float = 0.2
    global_: bool = False
    cloudflare: bool = False
    after: bool = False
    body: Any = None
    match: Callable[[str, str, str], bool] | None = None
    hits: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.times - len(self.hits)

    def matches(self, method: str, route: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.route is not None:
            wanted = self.route
            if " " in wanted:
                wanted_method, wanted = wanted.split(" ", 1)
                if wanted_method.upper() != method:
                    return False
            if wanted != route and not re.fullmatch(wanted, path):
                return False
        return self.match is None or self.match(method, route, path)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the fault."""
        if self.status == 429 and self.cloudflare:
            # A Cloudflare ban: no Via header, an HTML body — discord.py raises instead of retrying.
            body = b"<html><body>Error 1015: You are being rate limited.</body></html>"
            return 429, {"Content-Type": "text/html", "Retry-After": str(math.ceil(self.retry_after))}, body
        if self.status == 429:
            headers = {
                "Content-Type": "application/json",
                "Retry-After": str(math.ceil(self.retry_after)),
                "Via": "1.1 google",
                "X-RateLimit-Scope": "global" if self.global_ else "user",
            }
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                    }
                )
            answer = self.body if self.body is not None else rate_limited_body(self.retry_after, is_global=self.global_)
            return 429, headers, json.dumps(answer).encode()
        if self.body is not None:
            return self.status, {"Content-Type": "application/json"}, json.dumps(self.body).encode()
        if self.status in (502, 504, 524):
            page = f"<html><head><title>{self.status} Bad Gateway</title></head><body>cloudflare</body></html>"
            return self.status, {"Content-Type": "text/html"}, page.encode()
        text = {500: "500: Internal Server Error", 503: "upstream connect error or disconnect/reset before headers"}
        error = {"message": text.get(self.status, f"{self.status}: Error"), "code": 0}
        return self.status, {"Content-Type": "application/json"}, json.dumps(error).encode()


class InvalidRequests:
    """Discord bans an IP for a while after 10 000 requests answered 401, 403 or 429 within 10 minutes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._times: deque[float] = deque()

    def record(self, now: float) -> None:
        self.total += 1
        self._times.append(now)

    def count(self, now: float) -> int:
        while self._times and now - self._times[0] >= INVALID_REQUEST_WINDOW:
            self._times.popleft()
        return len(self._times)

    def banned(self, now: float) -> bool:
        return self.count(now) >= self.limit
