"""The API of a bank speaking the standard contract (docs/webhooks.md):

    GET  <api_url>/payments/<reference>    a deposit's record; 404: none
    GET  <api_url>/payouts/<reference>     a payout's record; 404: none
    POST <api_url>/payouts                 pay out; 200 accepted, 422 rejected
    GET  <api_url>/statement?date=D        our account's movements on day D
    GET  <api_url>/accounts/<number>?ifsc=I  whose account it is; 404: none

each with ``Authorization: Bearer <api_key>``.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import TYPE_CHECKING

from .base import PayoutRequest
from .wire import BankRecord, BankUnavailable, http_json, observed

if TYPE_CHECKING:
    from ...core.observe import Observer
    from ..banks import BankConfig

#: The payout API's definite answers.
PAYOUT_STATUSES = ("accepted", "rejected", "reversed")


def _rejected(reply: BankRecord) -> bool:
    return isinstance(reply, dict) and reply.get("status") == "rejected"


class StandardClient:
    def __init__(self, bank: BankConfig, timeout_s: float, observer: Observer):
        self.bank = bank
        self.timeout_s = timeout_s
        self.observer = observer

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
        if not isinstance(reply, dict) or not isinstance(reply.get("entries"), list):
            raise BankUnavailable(f"{self.bank.name} sent no statement for {day}")
        entries: list[BankRecord] = reply["entries"]
        return entries

    def account_holder(self, account_number: str, ifsc: str) -> BankRecord | None:
        """The bank's record of one of its accounts (its holder's ``name``), or
        None if it has no such account at that branch."""
        query = urllib.parse.urlencode({"ifsc": ifsc})
        return self._call(f"/accounts/{urllib.parse.quote(account_number, safe='')}?{query}",
                          call="account_holder")

    def send_payout(self, payload: PayoutRequest) -> BankRecord:
        """Ask the bank to pay out. Returns its answer (``status`` accepted or
        rejected); raises BankUnavailable when the outcome is unknown."""
        reply = self._call("/payouts", body=payload, call="send_payout")
        if not isinstance(reply, dict) or reply.get("status") not in PAYOUT_STATUSES:
            raise BankUnavailable(f"{self.bank.name} gave an unclear answer: {reply!r}")
        return reply

    def _call(self, path: str, body: PayoutRequest | None = None, *,
              call: str) -> BankRecord | None:
        return observed(self.observer, self.bank.code, call,
                        lambda: self._request(path, body), _rejected)

    def _request(self, path: str, body: PayoutRequest | None) -> BankRecord | None:
        status, reply = http_json(
            self.bank.name, self.bank.api_url + path, payload=body, timeout_s=self.timeout_s,
            headers={"Authorization": f"Bearer {self.bank.api_key}"})
        if 200 <= status < 300:
            record: BankRecord | None = reply  # (any JSON: its readers check its shape)
            return record
        if status == 404 and body is None:
            return None
        if status == 422 and body is not None and _rejected(reply):
            # The one definite "no" to a payout (bad account, refused). Any
            # other 4xx (401, 409, 429...) says nothing about the money: unknown.
            return {**reply, "status": "rejected"}
        raise BankUnavailable(f"{self.bank.name} answered {status}")
