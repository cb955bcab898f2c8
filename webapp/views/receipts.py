"""/receipts/verify: anyone (signed in or not) checks a payment receipt
(wallet.money.receipts) by pasting its code; a GET form, since checking
changes nothing."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request

from webcommon.views import view_config

from ..receipts import MAX_PASTE_CHARS, checked


@view_config(route_name="receipts_verify", renderer="receipts_verify.jinja2",
             request_method="GET")
def verify_receipt_page(request: Request) -> dict[str, Any]:
    value = request.GET.get("receipt", "")
    text = value[:MAX_PASTE_CHARS] if isinstance(value, str) else ""
    return {"text": text, "verdict": checked(request, text)}
