"""Per-key request rate limits: a token bucket per API key, in each process."""

from __future__ import annotations

import math
import threading
import time

from .errors import TooManyRequests

_MAX_KEYS = 100_000  # buckets kept; beyond that the oldest state is dropped (fails open)


class RateLimited(TooManyRequests):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """At most `per_minute` requests a minute per key (bursts up to that many), 0: none."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * self._rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / self._rate)
                raise RateLimited(
                    f"Too many requests: this API key may make {self.per_minute} requests per "
                    f"minute. Retry in {wait} s.",
                    retry_after=wait,
                )
            if len(self._buckets) >= _MAX_KEYS and key not in self._buckets:
                self._buckets.clear()
            self._buckets[key] = (tokens - 1, now)
