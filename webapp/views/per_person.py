"""A bound on how often one person may ask for something costly (reading a
QR picture, asking a bank whose account a number is), counted in this
process: a person's share of the server and of the banks, not a quota."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from pyramid.registry import Registry

__all__ = ["PerPersonLimiter", "limiter_of"]


class PerPersonLimiter:
    """At most ``per_minute`` pictures per person in any minute, counted in
    this process (a bound on one person's share of its CPU, not a quota)."""

    def __init__(self, per_minute: int,
                 clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        with self._lock:
            if len(self._seen) > 10_000:  # forget the idle ones now and then
                self._seen = {key: times for key, times in self._seen.items()
                              if times and times[-1] > now - 60}
            times = self._seen.setdefault(user_id, deque())
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True


def limiter_of(registry: Registry, name: str, per_minute: int) -> PerPersonLimiter:
    """The app's limiter called ``name`` (made on first use)."""
    found = registry.get(name)
    if found is None:
        found = registry[name] = PerPersonLimiter(per_minute)
    limiter: PerPersonLimiter = found
    return limiter
