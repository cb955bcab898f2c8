"""Rate limits on money requests: a fixed one-minute window per token (per
shop, for shops' keys: rotating or adding keys does not add budget) and per
address, answered with 429 and ``Retry-After``. In production the counters
live in Redis, shared by every API process; in development (one process) in
memory."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wallet.core import redis_urls

log = logging.getLogger(__name__)

WINDOW_S = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


class Counter(Protocol):
    def hit(self, keys: list[str], window_s: int) -> tuple[list[int], int]:
        """Count one hit of each key in the current window: (hits so far per
        key, seconds left in the window)."""


class MemoryCounter:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = {}

    def hit(self, keys: list[str], window_s: int) -> tuple[list[int], int]:
        now = self.clock()
        window = int(now // window_s)
        found = []
        with self.lock:
            if len(self.counts) > 100_000:  # old windows: forget them
                self.counts = {k: v for k, v in self.counts.items() if k[1] == window}
            for key in keys:
                hits = self.counts.get((key, window), 0) + 1
                self.counts[(key, window)] = hits
                found.append(hits)
        return found, int((window + 1) * window_s - now) + 1


class RedisCounter:
    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        import redis

        # redis:// or redis+sentinel:// (follows the master after a failover).
        self.redis: Any = redis_urls.client(url, socket_timeout_s=1, connect_timeout_s=1)
        self.errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.clock = clock

    def hit(self, keys: list[str], window_s: int) -> tuple[list[int], int]:
        now = self.clock()
        window = int(now // window_s)
        pipe = self.redis.pipeline(transaction=False)  # one round trip for all keys
        for key in keys:
            name = f"wallet:ratelimit:{key}:{window}"
            pipe.incr(name)
            pipe.expire(name, window_s + 5)
        try:
            replies = pipe.execute()
        except self.errors as exc:
            # Redis down (restarting, unreachable): the limits lapse for a moment
            # rather than every money request failing; the domain's own limits hold.
            log.warning("rate-limit counters unavailable (%s): not counting",
                        type(exc).__name__)
            return [0] * len(keys), window_s
        return [int(hits) for hits in replies[0::2]], int((window + 1) * window_s - now) + 1


class RateLimiter:
    def __init__(self, counter: Counter, per_token: int, per_ip: int,
                 per_merchant: int | None = None, per_user: int | None = None):
        self.counter = counter
        self.per_token = per_token
        self.per_ip = per_ip
        self.per_merchant = per_token if per_merchant is None else per_merchant
        self.per_user = 2 * per_token if per_user is None else per_user

    def money_request(self, token_id: int, ip: str, user_id: int | None = None) -> Verdict:
        """One more money request from this token (of this user) and address."""
        keys = [f"token:{token_id}", f"ip:{ip}"] + ([] if user_id is None else
                                                     [f"user:{user_id}"])
        hits, left_s = self.counter.hit(keys, WINDOW_S)
        token_hits, ip_hits = hits[0], hits[1]
        if len(hits) > 2 and hits[2] > self.per_user:
            return Verdict(False, max(left_s, 1))
        if token_hits > self.per_token or ip_hits > self.per_ip:
            return Verdict(False, max(left_s, 1))
        return Verdict(True)

    def merchant_request(self, merchant_id: int, ip: str) -> Verdict:
        """One more money request from this shop (any of its keys) and address."""
        (shop_hits, ip_hits), left_s = self.counter.hit(
            [f"merchant:{merchant_id}", f"ip:{ip}"], WINDOW_S)
        if shop_hits > self.per_merchant or ip_hits > self.per_ip:
            return Verdict(False, max(left_s, 1))
        return Verdict(True)
