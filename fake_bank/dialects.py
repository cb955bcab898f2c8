"""The two dialects the fake bank speaks, one per bank code
(``banks.<code>.protocol``: standard, the default, or ledgerline): the bodies
of its webhooks and the records its Ledgerline API answers with.

Written here on its own, as a bank would write it (the fake bank shares no
code with the wallet), so the tests check the wallet's readers against an
independent implementation of each contract (docs/webhooks.md).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import Payment, Payout
from .settings import ConfigurationError

STANDARD = "standard"
LEDGERLINE = "ledgerline"
DIALECTS = (STANDARD, LEDGERLINE)

#: Our reasons -> Ledgerline's reason codes.
REASON_CODES = {
    "beneficiary account does not exist": "BENEFICIARY_NOT_FOUND",
    "beneficiary account closed": "ACCOUNT_CLOSED",
    "declined by customer": "CUSTOMER_DECLINED",
    "insufficient funds": "INSUFFICIENT_FUNDS",
    "no such account": "ACCOUNT_NOT_FOUND",
}
#: Our payout and payment statuses -> Ledgerline's.
TRANSFER_STATUS = {"accepted": "SETTLED", "rejected": "DECLINED", "reversed": "RETURNED"}
COLLECTION_STATUS = {"pending": "INITIATED", "approved": "CREDITED", "declined": "REJECTED"}


def dialects_of(settings: Mapping[str, Any], codes: list[str]) -> dict[str, str]:
    """Each bank code's dialect, from ``banks.<code>.protocol``."""
    dialects = {}
    for code in codes:
        dialect = str(settings.get(f"banks.{code}.protocol") or STANDARD).strip()
        if dialect not in DIALECTS:
            raise ConfigurationError(f"banks.{code}.protocol: one of {', '.join(DIALECTS)}")
        dialects[code] = dialect
    return dialects


def compact(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def rupees(paise: int) -> dict[str, str]:
    """An amount as Ledgerline writes it: a decimal string, never a number."""
    return {"value": f"{paise // 100}.{paise % 100:02d}", "currency": "INR"}


def status_reason(reason: str) -> dict[str, str] | None:
    return {"code": REASON_CODES.get(reason, "OTHER"), "message": reason} if reason else None


def iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def transfer(payout: Payout) -> dict[str, Any]:
    return {"transferId": f"LLT{payout.id:012d}", "clientReference": payout.reference,
            "status": TRANSFER_STATUS[payout.status], "amount": rupees(payout.amount_paise),
            "beneficiary": {"accountNumber": payout.account_number, "ifsc": payout.ifsc},
            "statusReason": status_reason(payout.reason), "createdAt": iso(payout.created_at)}


def collection(payment: Payment) -> dict[str, Any]:
    return {"collectionId": f"LLC{payment.id:012d}", "clientReference": payment.reference,
            "status": COLLECTION_STATUS[payment.status], "amount": rupees(payment.amount_paise),
            "statusReason": status_reason(payment.reason), "createdAt": iso(payment.created_at)}


def deposit_event(dialect: str, payment: Payment) -> str:
    """The webhook body telling the wallet how a payment to it ended."""
    approved = payment.status == "approved"
    if dialect == LEDGERLINE:
        return compact({
            "eventType": "COLLECTION.CREDITED" if approved else "COLLECTION.REJECTED",
            "createdAt": iso(payment.decided_at), "data": {"collection": collection(payment)}})
    return compact({
        "type": "deposit.succeeded" if approved else "deposit.failed",
        "reference": payment.reference,
        "amount_paise": payment.amount_paise,
        "currency": payment.currency,
        "bank_txn_id": f"{payment.bank_code.upper()}{payment.id:010d}",
        "reason": payment.reason,
    })


def payout_event(dialect: str, payout: Payout) -> str | None:
    """The webhook body telling the wallet what became of a payout, if this
    dialect tells (the standard one only tells of a reversal)."""
    if dialect == LEDGERLINE:
        return compact({"eventType": f"TRANSFER.{TRANSFER_STATUS[payout.status]}",
                        "createdAt": iso(payout.reversed_at or payout.created_at),
                        "data": {"transfer": transfer(payout)}})
    if payout.status != "reversed":
        return None
    return compact({"type": "payout.reversed", "reference": payout.reference,
                    "amount_paise": payout.amount_paise, "currency": "INR",
                    "reason": payout.reason})
