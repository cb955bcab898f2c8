"""What every bank client shares: JSON over HTTP with a timeout, one
exception for "the outcome is unknown", and each call's latency and outcome
reported to the observer. Banks are slow and unreliable: an unclear answer
raises :class:`BankUnavailable` rather than being guessed at."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from ...core.observe import Observer

#: A JSON object as a bank sent it (a payment's or payout's record, a
#: statement line): its fields are the bank's, read with care.
BankRecord: TypeAlias = dict[str, Any]


class BankUnavailable(Exception):
    """Timeout, connection error, 5xx or a reply we cannot read: outcome unknown."""


def http_json(bank_name: str, url: str, *, payload: Mapping[str, object] | None,
              headers: Mapping[str, str], timeout_s: float) -> tuple[int, Any]:
    """GET (or POST ``payload`` as JSON) ``url``: the HTTP status and the
    reply's JSON (None for an error reply that is not JSON). A 2xx reply that
    is not JSON, a timeout or a broken connection raise BankUnavailable."""
    request = urllib.request.Request(
        url, data=None if payload is None else json.dumps(payload).encode(),
        method="GET" if payload is None else "POST",
        headers={"Accept": "application/json", "Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status: int = response.status
            return status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except (OSError, ValueError):
            return error.code, None
    except (OSError, ValueError) as error:  # timeouts, resets, bad JSON
        raise BankUnavailable(f"{bank_name}: {error}") from None


def observed(observer: Observer, bank_code: str, call: str,
             fn: Callable[[], BankRecord | None],
             rejected: Callable[[BankRecord], bool]) -> BankRecord | None:
    """Run one API call, its latency and outcome (ok, not_found, rejected,
    unavailable) reported to ``observer`` (the client's)."""
    started, outcome = time.monotonic(), "unavailable"
    try:
        reply = fn()
        outcome = ("not_found" if reply is None else "rejected" if rejected(reply) else "ok")
        return reply
    finally:
        observer.bank_call(bank_code, call, outcome, time.monotonic() - started)
