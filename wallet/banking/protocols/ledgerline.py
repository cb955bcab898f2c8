"""The Ledgerline contract (``banks.<code>.protocol = ledgerline``): a second
bank dialect, documented in docs/webhooks.md.

    Ledgerline-Event-Id: <the bank's event id>
    Ledgerline-Timestamp: <unix seconds>
    Ledgerline-Signature: sha512=<base64 HMAC-SHA512(secret, "<event id>.<timestamp>.<raw body>")>
                          [,sha512=...]

    {"eventType": "COLLECTION.CREDITED", "createdAt": "2025-05-01T10:00:00Z",
     "data": {"collection": {"clientReference": "<our token>", "bankReference": "LL...",
              "status": "CREDITED", "amount": {"value": "500.50", "currency": "INR"},
              "statusReason": null}}}

Unlike the standard contract, the event id is signed too (a body cannot be
re-sent under another id), amounts are decimal strings (read strictly into
paise: "10.5", "1e3" or "-1.00" are refused), and a reason is an object
``{"code": ..., "message": ...}``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING, Any

from ...core.codes import DepositAnswer, PayoutAnswer
from ..verdicts import Verdict
from .amounts import AmountError, paise_from_money
from .base import (
    BankEvent,
    BankProtocol,
    DepositFailed,
    DepositStatus,
    DepositSucceeded,
    EventRefused,
    Headers,
    PayoutFailed,
    PayoutPaid,
    PayoutReturned,
    PayoutWord,
    SignedParts,
    StatementLine,
)
from .ledgerline_client import LedgerlineClient
from .rules import SignatureError, header_text, is_unix_seconds
from .wire import BankRecord, BankUnavailable

if TYPE_CHECKING:
    from ...core.observe import Observer
    from ..banks import BankConfig

_SIGNATURE = re.compile(r"sha512=([A-Za-z0-9+/]{86}==)", re.ASCII)
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{4,64}", re.ASCII)
#: eventType -> (the object under "data" it describes, the domain's event).
EVENTS: dict[str, tuple[str, type[BankEvent]]] = {
    "COLLECTION.CREDITED": ("collection", DepositSucceeded),
    "COLLECTION.REJECTED": ("collection", DepositFailed),
    "TRANSFER.SETTLED": ("transfer", PayoutPaid),
    "TRANSFER.DECLINED": ("transfer", PayoutFailed),
    "TRANSFER.RETURNED": ("transfer", PayoutReturned),
}
EVENT_TYPES = sorted(EVENTS)
# Its status words -> ours; any other (PROCESSING, INITIATED ...): no final word yet.
TRANSFER_STATUSES = {"SETTLED": PayoutAnswer.ACCEPTED, "DECLINED": PayoutAnswer.REJECTED,
                     "RETURNED": PayoutAnswer.REVERSED}
COLLECTION_STATUSES = {"CREDITED": DepositAnswer.SUCCESS, "REJECTED": DepositAnswer.FAILED}
STATEMENT_CATEGORIES = {"COLLECTION": "payment", "TRANSFER": "payout",
                        "TRANSFER_RETURN": "payout_reversal"}


def signature(secret: str, event_id: str, timestamp: str, body: bytes) -> str:
    signed = event_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha512).digest()).decode()


def reason_text(reason: Any) -> str:
    """A ``statusReason`` ({"code", "message"} or null) as one line of text."""
    if not isinstance(reason, dict):
        return ""
    message, code = reason.get("message"), reason.get("code")
    return str(message if isinstance(message, str) and message else code or "")[:200]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventRefused(EventRefused.MISSING_FIELDS, f"{where} must be an object")
    return value


def read_event(document: Any) -> BankEvent:
    """The domain's event in a parsed body, or EventRefused saying what is wrong."""
    event = _object(document, "the body")
    kind = event.get("eventType")
    if kind not in EVENTS:
        raise EventRefused(EventRefused.MISSING_FIELDS, f"eventType must be one of {EVENT_TYPES}")
    resource, event_class = EVENTS[kind]
    where = f"data.{resource}"
    record = _object(_object(event.get("data"), "data").get(resource), where)
    reference = record.get("clientReference")
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise EventRefused(EventRefused.MISSING_FIELDS,
                           f"{where}.clientReference is missing or malformed")
    try:
        amount_paise = paise_from_money(record.get("amount"), f"{where}.amount")
    except AmountError as exc:
        raise EventRefused(EventRefused.MISSING_FIELDS, str(exc)) from None
    reason = record.get("statusReason")
    if reason is not None and not isinstance(reason, dict):
        raise EventRefused(EventRefused.MISSING_FIELDS,
                           f"{where}.statusReason must be null or an object")
    return event_class(reference=reference, amount_paise=amount_paise,
                       currency=record["amount"]["currency"], reason=reason_text(reason))


class LedgerlineProtocol(BankProtocol):
    name = "ledgerline"
    event_id_header = "Ledgerline-Event-Id"
    signature_header = "Ledgerline-Signature"
    holder_name_field = "accountHolderName"

    def read_signature(self, headers: Headers) -> SignedParts:
        header = header_text(headers.get("ledgerline-signature"), "Ledgerline-Signature")
        timestamp = headers.get("ledgerline-timestamp")
        if not is_unix_seconds(timestamp):
            raise SignatureError(Verdict.BAD_SIGNATURE,
                                 "Ledgerline-Timestamp is missing or malformed")
        candidates = [match.group(1) for part in header.split(",")
                      if (match := _SIGNATURE.fullmatch(part.strip()))]
        if not candidates:
            raise SignatureError(Verdict.BAD_SIGNATURE, "signature has no valid sha512= value")
        return SignedParts(str(timestamp), tuple(candidates), self.event_id(headers))

    def mac(self, secret: str, parts: SignedParts, body: bytes) -> str:
        # A missing event id signs as "" (the delivery is then refused for its id).
        return signature(secret, parts.event_id or "", parts.timestamp, body)

    def parse_event(self, body: bytes) -> BankEvent:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EventRefused(EventRefused.MALFORMED_JSON, "the body is not JSON") from None
        return read_event(document)

    def client(self, bank: BankConfig, timeout_s: float,
               observer: Observer) -> LedgerlineClient:
        return LedgerlineClient(bank, timeout_s, observer)

    def payout_word(self, record: BankRecord) -> PayoutWord:
        status = record.get("status") if isinstance(record, dict) else None
        said = status if isinstance(status, str) and status else "no status"
        reason = reason_text(record.get("statusReason")) if isinstance(record, dict) else ""
        return PayoutWord(TRANSFER_STATUSES.get(said), said, reason)

    def deposit_status(self, record: BankRecord) -> DepositStatus:
        if not isinstance(record, dict):
            return DepositStatus(None, "no status")
        status = record.get("status")
        said = status if isinstance(status, str) and status else "no status"
        money = record.get("amount")
        try:
            amount_paise: int | None = paise_from_money(money, "amount")
        except AmountError:
            amount_paise = None  # settled with none, it is flagged for a human
        currency = money.get("currency") if isinstance(money, dict) else None
        return DepositStatus(COLLECTION_STATUSES.get(said), said, amount_paise,
                             currency if isinstance(currency, str) else None,
                             reason_text(record.get("statusReason")))

    def statement_lines(self, entries: list[BankRecord]) -> list[StatementLine]:
        lines = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise BankUnavailable(f"an unreadable statement line: {entry!r:.200}")
            category, reference = entry.get("category"), entry.get("clientReference")
            try:
                amount_paise = paise_from_money(entry.get("amount"), "amount")
            except AmountError as exc:
                raise BankUnavailable(f"an unreadable statement line: {exc}") from None
            if category not in STATEMENT_CATEGORIES or not isinstance(reference, str):
                raise BankUnavailable(f"an unreadable statement line: {entry!r:.200}")
            lines.append(StatementLine(STATEMENT_CATEGORIES[category], reference, amount_paise))
        return lines
