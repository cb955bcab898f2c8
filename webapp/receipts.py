"""Receipts on pages (wallet.money.receipts): the payer's receipt as a QR code
and text, and the check a shop's counter or anyone makes of one. (The public
keys' document is webcommon.receipt_keys.)"""
from __future__ import annotations

from typing import Any

import segno
from pyramid.request import Request

from wallet.core.models import Transaction
from wallet.money.receipts import IssuedReceipt, Refusal, Verified
from webcommon import request_services

#: What a pasted receipt may be (a version-1 receipt is well under this).
MAX_PASTE_CHARS = 4000


def receipt_view(receipt: IssuedReceipt | None) -> dict[str, Any] | None:
    """What the receipt macro shows: the text, its summary and its QR (an SVG data URI)."""
    if receipt is None:
        return None
    qr = segno.make(receipt.text, error="m").svg_data_uri(scale=4, border=2)
    return {"text": receipt.text, "summary": receipt.facts.summary(),
            "reference": receipt.facts.reference, "qr": qr}


def receipt_of(request: Request, tx: Transaction) -> dict[str, Any] | None:
    """The payer's receipt of ``tx`` for a page, or None (not theirs to show, or none)."""
    if tx.payer_user_id is None or tx.payer_user_id != getattr(request.identity, "id", None):
        return None
    return receipt_view(request_services(request).receipts.for_transaction(tx))


def checked(request: Request, text: str) -> dict[str, Any] | None:
    """The verdict on ``text`` (None when nothing was given)."""
    if not text.strip():
        return None
    return verdict(request_services(request).receipts.verify(text))


def pasted(request: Request) -> str:
    value = request.POST.get("receipt", "")
    return value[:MAX_PASTE_CHARS] if isinstance(value, str) else ""


def verdict(outcome: Verified | Refusal) -> dict[str, Any]:
    """How a check's outcome reads on a page."""
    if isinstance(outcome, Refusal):
        return {"genuine": False, "reason": outcome.reason, "message": outcome.message}
    facts = outcome.facts
    return {"genuine": True, "facts": facts, "summary": facts.summary(),
            "reference": facts.reference}
