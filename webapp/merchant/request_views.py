"""Merchant app: the shop's payment requests (made by its server through the
API), newest first with paging, in the mode of the Test/Live switch
(webapp/merchant/modes.py). Read only. Included by webapp.merchant."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from wallet.core.models import Merchant
from wallet.core.text import whole_number
from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.views import view_config

from .modes import session_livemode

PAGE = 20


def includeme(config: Configurator) -> None:
    config.add_route("payment_requests", "/payment-requests")
    config.scan(__name__)


@view_config(route_name="payment_requests", renderer="merchant/payment_requests.jinja2",
             permission=Permission.REPORTS, request_method="GET")
def payment_requests(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    livemode = session_livemode(request)
    rows, next_cursor = request_services(request).payment_requests.page(
        merchant, cursor=whole_number(request.params.get("cursor", "")), limit=PAGE,
        livemode=livemode)
    return {"requests": rows, "next_cursor": next_cursor, "livemode": livemode,
            "here": "payment_requests"}
