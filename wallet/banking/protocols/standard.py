"""The standard bank contract (docs/webhooks.md), the one the wallet started with.

    X-Bank-Event-Id: <the bank's event id>
    X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=...]

    {"type": "deposit.succeeded", "reference": "<our token>", "amount_paise": 50050,
     "currency": "INR", "bank_txn_id": "...", "reason": ""}

Several v1 values may be sent, and several secrets may be valid at once, so a
bank can rotate its secret without a moment of rejected webhooks.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING, Any

from ...core.codes import DepositAnswer, PayoutAnswer
from ..verdicts import Verdict
from .base import (
    BankEvent,
    BankProtocol,
    DepositFailed,
    DepositStatus,
    DepositSucceeded,
    EventRefused,
    Headers,
    PayoutReturned,
    PayoutWord,
    SignedParts,
    StatementLine,
)
from .rules import SignatureError, check_signature, header_text, is_unix_seconds
from .standard_client import StandardClient
from .wire import BankRecord, BankUnavailable

if TYPE_CHECKING:
    from ...core.observe import Observer
    from ..banks import BankConfig

_HEX64 = re.compile(r"[0-9a-f]{64}")
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{4,64}", re.ASCII)
#: Event type -> the domain's event.
EVENTS: dict[str, type[BankEvent]] = {
    "deposit.succeeded": DepositSucceeded,
    "deposit.failed": DepositFailed,
    "payout.reversed": PayoutReturned,
}
EVENT_TYPES = sorted(EVENTS)
# The status API's words -> ours; "pending" and anything else: no final word yet.
DEPOSIT_STATUSES = {"approved": DepositAnswer.SUCCESS, "declined": DepositAnswer.FAILED}


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def read_signature_header(header: str | None) -> SignedParts:
    """The t= and v1= values of an X-Bank-Signature header."""
    header = header_text(header, "X-Bank-Signature")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and _HEX64.fullmatch(value):
            candidates.append(value)
    if timestamp is None or not is_unix_seconds(timestamp):
        raise SignatureError(Verdict.BAD_SIGNATURE, "signature has no valid t= timestamp")
    if not candidates:
        raise SignatureError(Verdict.BAD_SIGNATURE, "signature has no valid v1= value")
    return SignedParts(timestamp, tuple(candidates), None)


def _mac(secret: str, parts: SignedParts, body: bytes) -> str:
    return expected_signature(secret, parts.timestamp, body)


def verify(header: str | None, body: bytes, secrets: tuple[str, ...], now_s: float) -> None:
    """Raise SignatureError unless ``header`` signs ``body`` recently."""
    check_signature(read_signature_header(header), body, secrets, now_s, _mac)


def check_event(event: object) -> str:
    """What is wrong with an event's fields, or '' if nothing."""
    if not isinstance(event, dict):
        return "the body must be a JSON object"
    if event.get("type") not in EVENT_TYPES:
        return f"type must be one of {EVENT_TYPES}"
    reference = event.get("reference")
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        return "reference is missing or malformed"
    amount = event.get("amount_paise")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 10**15:
        return "amount_paise must be a positive integer"
    if not isinstance(event.get("currency"), str) or len(event["currency"]) != 3:
        return "currency must be a 3-letter code"
    return ""


def _text(value: Any) -> str:
    """A bank's free text (a reason, a status word) as a string; "" for none."""
    return str(value) if value else ""


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class StandardProtocol(BankProtocol):
    name = "standard"
    event_id_header = "X-Bank-Event-Id"
    signature_header = "X-Bank-Signature"
    holder_name_field = "name"

    def read_signature(self, headers: Headers) -> SignedParts:
        parts = read_signature_header(headers.get("x-bank-signature"))
        return SignedParts(parts.timestamp, parts.signatures, self.event_id(headers))

    def mac(self, secret: str, parts: SignedParts, body: bytes) -> str:
        return _mac(secret, parts, body)

    def parse_event(self, body: bytes) -> BankEvent:
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EventRefused(EventRefused.MALFORMED_JSON, "the body is not JSON") from None
        problem = check_event(event)
        if problem:
            raise EventRefused(EventRefused.MISSING_FIELDS, problem)
        return EVENTS[event["type"]](reference=event["reference"],
                                     amount_paise=event["amount_paise"],
                                     currency=event["currency"],
                                     reason=_text(event.get("reason")))

    def client(self, bank: BankConfig, timeout_s: float, observer: Observer) -> StandardClient:
        return StandardClient(bank, timeout_s, observer)

    def payout_word(self, record: BankRecord) -> PayoutWord:
        status = record.get("status") if isinstance(record, dict) else None
        outcome = PayoutAnswer(status) if status in PayoutAnswer.ALL else None
        return PayoutWord(outcome, _text(status) or "no status",
                          _text(record.get("reason")) if isinstance(record, dict) else "")

    def deposit_status(self, record: BankRecord) -> DepositStatus:
        if not isinstance(record, dict):
            return DepositStatus(None, "no status")
        status: Any = record.get("status")  # any JSON value
        currency = record.get("currency")
        return DepositStatus(
            DEPOSIT_STATUSES.get(status) if isinstance(status, str) else None,
            _text(status) or "no status", _int_or_none(record.get("amount_paise")),
            currency if isinstance(currency, str) else None, _text(record.get("reason")))

    def statement_lines(self, entries: list[BankRecord]) -> list[StatementLine]:
        lines = []
        for entry in entries:
            kind = entry.get("type") if isinstance(entry, dict) else None
            reference = entry.get("reference") if isinstance(entry, dict) else None
            amount = _int_or_none(entry.get("amount_paise")) if isinstance(entry, dict) else None
            if kind not in StatementLine.KINDS or not isinstance(reference, str) or amount is None:
                raise BankUnavailable(f"an unreadable statement line: {entry!r:.200}")
            lines.append(StatementLine(str(kind), reference, amount))
        return lines
