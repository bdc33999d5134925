"""Per-channel, per-method pacing for Slack Web API calls, and Retry-After.

Slack allows about one chat.postMessage per second per channel (short bursts are
tolerated) and answers 429 with Retry-After beyond it. A `Pacer` keeps one token bucket
per (method, channel): a call waits for a token of its own channel only, so a channel that
is rate limited (or flooded with alerts) never holds up another. A 429 holds that key
until its Retry-After has passed.

Time is a monotonic clock and a sleep, both injectable (tests and the benchmark).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int = 1


# A little under the allowed rate: calls spaced exactly at it arrive a little early or
# late (network jitter), and one early arrival costs a whole Retry-After second.
MARGIN = 0.97


# Slack's documented special limit for posting: about one message per second per
# channel; short bursts are tolerated (by an undocumented amount: three here).
def post_rates(posts_per_second: float = 1.0) -> dict[str, Rate]:
    """The pace for `posts_per_second` chat.postMessage calls per channel
    (LICENSEBOT_SLACK_POST_RATE)."""
    return {"chat.postMessage": Rate(posts_per_second * MARGIN, burst=3)}


DEFAULT_RATES: dict[str, Rate] = post_rates()


@dataclass
class _Bucket:
    tokens: float
    updated: float
    held_until: float = 0.0
    lock: asyncio.Lock | None = None


class Pacer:
    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rates = DEFAULT_RATES if rates is None else rates
        self._monotonic = monotonic
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, method: str, channel: str) -> _Bucket:
        key = (method, channel)
        bucket = self._buckets.get(key)
        if bucket is None:
            rate = self._rates.get(method)
            burst = float(rate.burst if rate else 1)
            bucket = _Bucket(burst, self._monotonic(), lock=asyncio.Lock())
            self._buckets[key] = bucket
        return bucket

    async def acquire(self, method: str, channel: str) -> None:
        """Wait until a call of `method` in `channel` may go out, and take its turn."""
        bucket = self._bucket(method, channel)
        rate = self._rates.get(method)
        assert bucket.lock is not None
        async with bucket.lock:  # first come, first served within one key
            while True:
                now = self._monotonic()
                wait = bucket.held_until - now
                if rate is not None:
                    elapsed = max(0.0, now - bucket.updated)
                    bucket.tokens = min(
                        float(rate.burst), bucket.tokens + elapsed * rate.per_second
                    )
                    bucket.updated = max(now, bucket.updated)
                    if bucket.tokens < 1:
                        wait = max(wait, (1 - bucket.tokens) / rate.per_second)
                if wait <= 0:
                    if rate is not None:
                        bucket.tokens -= 1
                    return
                await self._sleep(wait)

    def hold(self, method: str, channel: str, seconds: float) -> None:
        """Slack said 429 with Retry-After: nothing more on this key for `seconds`."""
        bucket = self._bucket(method, channel)
        bucket.held_until = max(bucket.held_until, self._monotonic() + seconds)
        # One call when the hold ends, then the steady rate again.
        bucket.tokens = 1.0
        bucket.updated = bucket.held_until

    def held_for(self, method: str, channel: str) -> float:
        """Seconds left of a Retry-After hold on this key (0 when none)."""
        bucket = self._buckets.get((method, channel))
        return max(0.0, bucket.held_until - self._monotonic()) if bucket else 0.0
