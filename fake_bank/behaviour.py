"""Misbehaviour knobs: how slow and unreliable the fake bank is.

Settings (``fake_bank.*``) set the defaults; with ``fake_bank.allow_overrides``
a request may override them with headers, for tests:

    X-Fake-Bank-Latency-Ms: 1500
    X-Fake-Bank-Fail: 1                 (this request fails with a 503)
    X-Fake-Bank-Webhook: normal | lost | twice | delayed
    X-Fake-Bank-Webhook-Delay-S: 30

Random choices come from one generator seeded with ``fake_bank.seed``, so a
run is repeatable.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.request import Request

WEBHOOK_MODES = ("normal", "lost", "twice", "delayed")


@dataclass
class Knobs:
    #: The bank answers about this long after the request arrived, its own
    #: bookkeeping included (as a real bank's response time would).
    latency_ms: int = 0
    failure_rate: float = 0.0
    webhook_mode: str = "normal"
    webhook_delay_s: int = 30
    fail_now: bool = False
    # Payout API only:
    timeout_rate: float = 0.0  # answer only after timeout_s (the payout is still made)
    timeout_s: float = 12.0
    reply_lost_rate: float = 0.0  # make the payout, then answer 502 as if the reply was lost
    reverse_rate: float = 0.0  # accept, then reverse after reverse_after_s
    reverse_after_s: float = 2.0
    arrived_s: float = 0.0  # time.monotonic() when the request arrived


class Behaviour:
    def __init__(self, settings: Mapping[str, Any]):
        self.defaults = Knobs(
            latency_ms=int(settings.get("fake_bank.latency_ms", 0)),
            failure_rate=float(settings.get("fake_bank.failure_rate", 0)),
            webhook_mode=settings.get("fake_bank.webhook_mode", "normal"),
            webhook_delay_s=int(settings.get("fake_bank.webhook_delay_s", 30)),
            timeout_rate=float(settings.get("fake_bank.timeout_rate", 0)),
            timeout_s=float(settings.get("fake_bank.timeout_s", 12)),
            reply_lost_rate=float(settings.get("fake_bank.reply_lost_rate", 0)),
            reverse_rate=float(settings.get("fake_bank.reverse_rate", 0)),
            reverse_after_s=float(settings.get("fake_bank.reverse_after_s", 2)),
        )
        if self.defaults.webhook_mode not in WEBHOOK_MODES:
            raise ValueError(f"fake_bank.webhook_mode must be one of {WEBHOOK_MODES}")
        self.allow_overrides = str(settings.get("fake_bank.allow_overrides", "false")) == "true"
        self._rng = random.Random(int(settings.get("fake_bank.seed", 0)))
        self._lock = threading.Lock()

    def random(self) -> float:
        with self._lock:
            return self._rng.random()

    def for_request(self, request: Request) -> Knobs:
        knobs = Knobs(**vars(self.defaults))
        knobs.arrived_s = time.monotonic()
        if self.allow_overrides:
            headers = request.headers
            if "X-Fake-Bank-Latency-Ms" in headers:
                knobs.latency_ms = int(headers["X-Fake-Bank-Latency-Ms"])
            if headers.get("X-Fake-Bank-Webhook") in WEBHOOK_MODES:
                knobs.webhook_mode = headers["X-Fake-Bank-Webhook"]
            if "X-Fake-Bank-Webhook-Delay-S" in headers:
                knobs.webhook_delay_s = int(headers["X-Fake-Bank-Webhook-Delay-S"])
            knobs.fail_now = headers.get("X-Fake-Bank-Fail") == "1"
        if not knobs.fail_now and knobs.failure_rate:
            knobs.fail_now = self.random() < knobs.failure_rate
        return knobs

    def update(self, changes: Mapping[str, Any]) -> Knobs:
        """Change the defaults at run time (the test-only control endpoint)."""
        with self._lock:
            for key, value in changes.items():
                if not hasattr(self.defaults, key) or key in ("fail_now", "arrived_s"):
                    raise ValueError(f"unknown knob {key!r}")
                setattr(self.defaults, key, type(getattr(self.defaults, key))(value))
            return self.defaults

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.random() < rate

    @staticmethod
    def wait(knobs: Knobs) -> None:
        """Sleep until ``latency_ms`` after the request arrived."""
        remaining_s = knobs.latency_ms / 1000 - (time.monotonic() - knobs.arrived_s)
        if remaining_s > 0:
            time.sleep(remaining_s)
