"""The API of a bank speaking Ledgerline (docs/webhooks.md):

    POST <api_url>/v2/transfers                      pay out: {"transfer": {...}}
    GET  <api_url>/v2/transfers?clientReference=R    {"transfers": [...]}; [] : none
    GET  <api_url>/v2/collections/<R>                {"collection": {...}}; 404: none
    GET  <api_url>/v2/statements/<YYYY-MM-DD>        {"statement": {"lines": [...]}}
    GET  <api_url>/v2/beneficiaries/<number>?ifsc=I  {"beneficiary": {...}}; 404: none

each with ``X-Api-Key: <api_key>``. A declined transfer is an ordinary 200
whose status says DECLINED; every other non-2xx answer says nothing about the
money (outcome unknown). Each call returns the record inside the envelope.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import TYPE_CHECKING, Any

from .amounts import money_from_paise
from .base import PayoutRequest
from .wire import BankRecord, BankUnavailable, http_json, observed

if TYPE_CHECKING:
    from ...core.observe import Observer
    from ..banks import BankConfig


def _declined(reply: BankRecord) -> bool:
    return isinstance(reply, dict) and reply.get("status") == "DECLINED"


def transfer_request(payload: PayoutRequest) -> dict[str, object]:
    """Our payout request in Ledgerline's words."""
    return {"clientReference": payload["reference"],
            "amount": money_from_paise(payload["amount_paise"]),
            "beneficiary": {"accountNumber": payload["account_number"],
                            "ifsc": payload["ifsc"]}}


class LedgerlineClient:
    def __init__(self, bank: BankConfig, timeout_s: float, observer: Observer):
        self.bank = bank
        self.timeout_s = timeout_s
        self.observer = observer

    def send_payout(self, payload: PayoutRequest) -> BankRecord:
        """The transfer as the bank made (or refused) it; BankUnavailable if unknown."""
        def call() -> BankRecord | None:
            status, reply = self._http("/v2/transfers", transfer_request(payload))
            transfer: BankRecord | None = self._inside(status, reply, "transfer")
            return transfer
        record = observed(self.observer, self.bank.code, "send_payout", call, _declined)
        if not isinstance(record, dict):
            raise BankUnavailable(f"{self.bank.name} gave no transfer for "
                                  f"{payload['reference']}: {record!r:.200}")
        return record

    def payout_status(self, reference: str) -> BankRecord | None:
        """The bank's transfer with our reference, or None if it has none."""
        query = urllib.parse.urlencode({"clientReference": reference})

        def call() -> BankRecord | None:
            status, reply = self._http(f"/v2/transfers?{query}")
            found = self._inside(status, reply, "transfers")
            if not isinstance(found, list) or len(found) > 1:
                raise BankUnavailable(f"{self.bank.name}: an unclear search for {reference}")
            record: BankRecord | None = found[0] if found else None
            return record
        return observed(self.observer, self.bank.code, "payout_status", call, _declined)

    def payment_status(self, reference: str) -> BankRecord | None:
        """The bank's collection (a deposit) with our reference, or None."""
        path = f"/v2/collections/{urllib.parse.quote(reference, safe='')}"

        def call() -> BankRecord | None:
            status, reply = self._http(path)
            if status == 404:
                return None
            collection: BankRecord | None = self._inside(status, reply, "collection")
            return collection
        return observed(self.observer, self.bank.code, "payment_status", call,
                        lambda reply: False)

    def statement(self, day: dt.date) -> list[BankRecord]:
        """The lines of the bank's statement of our account for one day (India time)."""
        def call() -> BankRecord | None:
            status, reply = self._http(f"/v2/statements/{day.isoformat()}")
            statement: BankRecord | None = self._inside(status, reply, "statement")
            return statement
        statement = observed(self.observer, self.bank.code, "statement", call,
                             lambda reply: False)
        lines = statement.get("lines") if isinstance(statement, dict) else None
        if not isinstance(lines, list):
            raise BankUnavailable(f"{self.bank.name} sent no statement for {day}")
        return lines

    def account_holder(self, account_number: str, ifsc: str) -> BankRecord | None:
        """The bank's beneficiary record of one of its accounts
        (``accountHolderName``), or None if it has no such account there."""
        path = (f"/v2/beneficiaries/{urllib.parse.quote(account_number, safe='')}?"
                + urllib.parse.urlencode({"ifsc": ifsc}))

        def call() -> BankRecord | None:
            status, reply = self._http(path)
            if status == 404:
                return None
            beneficiary: BankRecord | None = self._inside(status, reply, "beneficiary")
            return beneficiary
        return observed(self.observer, self.bank.code, "account_holder", call,
                        lambda reply: False)

    def _http(self, path: str, payload: dict[str, object] | None = None) -> tuple[int, Any]:
        return http_json(self.bank.name, self.bank.api_url + path, payload=payload,
                         timeout_s=self.timeout_s, headers={"X-Api-Key": self.bank.api_key})

    def _inside(self, status: int, reply: Any, key: str) -> Any:
        """The ``key`` of a 2xx reply's envelope; BankUnavailable otherwise."""
        if not 200 <= status < 300:
            raise BankUnavailable(f"{self.bank.name} answered {status}")
        if not isinstance(reply, dict) or key not in reply:
            raise BankUnavailable(f"{self.bank.name} sent no {key}: {reply!r:.200}")
        return reply[key]
