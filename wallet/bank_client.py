"""HTTP client for a bank's API. Banks are slow and unreliable: every call has
a timeout, and an unclear answer raises :class:`BankUnavailable` rather than
being guessed at."""
from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, TypeAlias

from .banks import BankConfig
from .observe import observer

DEFAULT_TIMEOUT_S = 5.0

#: A JSON object as a bank sent it (a payment's or payout's record, a
#: statement line): its fields are the bank's, read with care.
BankRecord: TypeAlias = dict[str, Any]


class BankUnavailable(Exception):
    """Timeout, connection error, 5xx or a reply we cannot read: outcome unknown."""


class BankClient:
    def __init__(self, bank: BankConfig, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.bank = bank
        self.timeout_s = timeout_s

    def payment_status(self, reference: str) -> BankRecord | None:
        """The bank's record of a deposit, or None if the bank has none."""
        return self._call(f"/payments/{urllib.parse.quote(reference, safe='')}",
                          call="payment_status")

    def payout_status(self, reference: str) -> BankRecord | None:
        """The bank's record of a payout, or None if it has never heard of it."""
        return self._call(f"/payouts/{urllib.parse.quote(reference, safe='')}",
                          call="payout_status")

    def statement(self, day: dt.date) -> list[BankRecord]:
        """The bank's statement of our account for one day (India time)."""
        reply = self._call(f"/statement?date={day.isoformat()}", call="statement")
        if reply is None or not isinstance(reply.get("entries"), list):
            raise BankUnavailable(f"{self.bank.name} sent no statement for {day}")
        entries: list[BankRecord] = reply["entries"]
        return entries

    def send_payout(self, payload: Mapping[str, object]) -> BankRecord:
        """Ask the bank to pay out. Returns its answer (``status`` accepted or
        rejected); raises BankUnavailable when the outcome is unknown."""
        reply = self._call("/payouts", body=payload, call="send_payout")
        if reply is None or reply.get("status") not in ("accepted", "rejected", "reversed"):
            raise BankUnavailable(f"{self.bank.name} gave an unclear answer: {reply!r}")
        return reply

    def _call(self, path: str, body: Mapping[str, object] | None = None, *,
              call: str) -> BankRecord | None:
        """One API call, its latency and outcome reported to the observer."""
        started, outcome = time.monotonic(), "unavailable"
        try:
            reply = self._request(path, body)
            outcome = ("not_found" if reply is None
                       else "rejected" if isinstance(reply, dict)
                       and reply.get("status") == "rejected" else "ok")
            return reply
        finally:
            observer().bank_call(self.bank.code, call, outcome, time.monotonic() - started)

    def _request(self, path: str, body: Mapping[str, object] | None) -> BankRecord | None:
        request = urllib.request.Request(
            self.bank.api_url + path,
            data=None if body is None else json.dumps(body).encode(),
            method="GET" if body is None else "POST",
            headers={"Authorization": f"Bearer {self.bank.api_key}", "Accept": "application/json",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                record: BankRecord | None = json.load(response)
                return record
        except urllib.error.HTTPError as error:
            if error.code == 404 and body is None:
                return None
            if error.code == 422 and body is not None:
                # The one definite "no" to a payout (bad account, refused). Any
                # other 4xx (401, 409, 429...) says nothing about the money: unknown.
                try:
                    reply = json.load(error)
                except ValueError:
                    reply = {}
                if isinstance(reply, dict) and reply.get("status") == "rejected":
                    return {**reply, "status": "rejected"}
            raise BankUnavailable(f"{self.bank.name} answered {error.code}") from None
        except (OSError, ValueError) as error:  # timeouts, resets, bad JSON
            raise BankUnavailable(f"{self.bank.name}: {error}") from None
