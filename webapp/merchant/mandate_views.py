"""Merchant app: the shop's AutoPay mandates (newest first, with paging) and
each mandate's debits. Read only: mandates are made and debits presented by
the shop's server through the API; the customer approves, pauses and revokes
in the user app. Included by webapp.merchant (its routes and views)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from wallet.core.models import Merchant
from wallet.core.text import whole_number
from wallet.merchants.errors import MandateNotFound
from wallet.merchants.mandate_rules import FREQUENCY_TEXT, ist_day
from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.views import view_config

from .modes import session_livemode

PAGE = 20


def includeme(config: Configurator) -> None:
    config.add_route("mandates", "/mandates")
    config.add_route("mandate", "/mandates/{id}")
    config.scan(__name__)


@view_config(route_name="mandates", renderer="merchant/mandates.jinja2",
             permission=Permission.REPORTS, request_method="GET")
def mandates(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    text = request.params.get("cursor", "")
    cursor = whole_number(text)
    livemode = session_livemode(request)
    rows, next_cursor = request_services(request).mandates.page(merchant, cursor=cursor,
                                                                limit=PAGE, livemode=livemode)
    return {"mandates": rows, "next_cursor": next_cursor, "frequency_text": FREQUENCY_TEXT,
            "livemode": livemode, "here": "mandates"}


@view_config(route_name="mandate", renderer="merchant/mandate.jinja2",
             permission=Permission.REPORTS, request_method="GET")
def mandate(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    services = request_services(request)
    try:
        found = services.mandates.of_merchant(merchant, request.matchdict["id"],
                                              livemode=session_livemode(request))
    except MandateNotFound:
        raise HTTPNotFound() from None
    return {"mandate": found, "debits": services.mandate_debits.of_mandate(found),
            "frequency_text": FREQUENCY_TEXT, "start_date": ist_day(found.starts_at),
            "end_date": ist_day(found.ends_at) - dt.timedelta(days=1)}
