"""The counter's check of a customer's payment receipt (wallet.money.receipts):
/verify, a paste box (a scanner types the QR code's text into it). A genuine
receipt is then looked up among this shop's payments, so a genuine receipt of a
payment to another shop (a fraudster's own "Chai Point") is not taken for ours."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from wallet.core.models import Merchant
from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.views import view_config

from ..receipts import MAX_PASTE_CHARS, checked


def includeme(config: Configurator) -> None:
    config.add_route("verify", "/verify")
    config.scan(__name__)


def _for_this_shop(request: Request, result: dict[str, Any]) -> dict[str, Any]:
    """A genuine receipt that is not a payment to this shop reads NOT genuine here."""
    merchant: Merchant = request.identity
    payment = request_services(request).receipts.paid_to(result["facts"], merchant.id)
    if payment is None:
        return {"genuine": False, "reason": "other_shop",
                "message": f"The wallet did sign this receipt, but it is not a payment to "
                           f"your shop: it was paid to {result['facts'].payee_name} "
                           f"({result['facts'].payee_ref})."}
    return {**result, "note": f"in your payments ({payment.status})"}


@view_config(route_name="verify", renderer="merchant/verify.jinja2", request_method="GET",
             permission=Permission.COUNTER)
def verify_page(request: Request) -> dict[str, Any]:
    value = request.GET.get("receipt", "")
    text = value[:MAX_PASTE_CHARS] if isinstance(value, str) else ""
    result = checked(request, text)
    if result is not None and result["genuine"]:
        result = _for_this_shop(request, result)
    return {"text": text, "verdict": result}
