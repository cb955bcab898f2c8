"""Payment links, for shops' servers (a shop's key, ``merchant:links``):
make one (Idempotency-Key, as payment requests), list them, read one with
its payments, cancel one. Customers pay a link at its ``url`` through the
checkout of payment requests (wallet.merchants.payment_links). Every view
keeps to the key's mode (``caller_livemode``): a test key makes and finds
test links only, a live key live ones."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant
from wallet.merchants.models import PaymentLink
from wallet.merchants.payment_links import DEFAULT_LINK_EXPIRY_S, NewLink
from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_money_request
from ..problems import validation_error
from ..security import caller_livemode
from ..validation import json_body

LINKS = str(Permission.LINKS)
#: The user app's page of a link, where customers pay it.
LINK_PATH = "/l/{id}"
AMOUNT_FIELDS = ("amount_paise", "min_amount_paise", "max_amount_paise")


def link_url(request: Request, public_id: str) -> str:
    return request_services(request).settings.user_app_url + LINK_PATH.format(id=public_id)


def shown(request: Request, link: PaymentLink, *, with_payments: bool = False) -> Json:
    links = request_services(request).payment_links
    payments = None
    if with_payments:
        payments = [render.link_payment(row) for row in links.payments(link)]
    return render.payment_link(link, status=links.status_of(link),
                               url=link_url(request, link.public_id), payments=payments)


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def _new_link(body: Json) -> NewLink | Response:
    """The body as the domain's NewLink; amounts and seconds only as JSON
    integers (100.0, "100" and true are refused)."""
    for name in (*AMOUNT_FIELDS, "expires_in_s"):
        if name in body and type(body[name]) is not int:
            return validation_error(name, f"{name} must be a whole number, like 12050.")
    return NewLink(amount_mode=body["amount_mode"], description=body["description"],
                   amount=body.get("amount_paise"), min_amount=body.get("min_amount_paise"),
                   max_amount=body.get("max_amount_paise"),
                   single_use=body.get("single_use", False),
                   expires_in_s=body.get("expires_in_s", DEFAULT_LINK_EXPIRY_S),
                   reference=body.get("reference"))


@view_config(route_name="payment_links", request_method="POST", openapi=True,
             permission=LINKS)
def create_payment_link(request: Request) -> Response:
    new = _new_link(json_body(request))
    if isinstance(new, Response):
        return new

    def operation(key: str, body: Json) -> tuple[int, Json]:
        made = request_services(request).payment_links.create(
            _shop(request), new, livemode=caller_livemode(request))
        return 201, shown(request, made)

    return run_money_request(request, operation)


@view_config(route_name="payment_links", request_method="GET", openapi=True,
             renderer="json", permission=LINKS)
def list_payment_links(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    rows, next_cursor = request_services(request).payment_links.page(
        _shop(request), status=params.get("status"),
        cursor=int(cursor) if cursor else None, limit=int(params.get("limit", 20)),
        livemode=caller_livemode(request))
    return {"items": [shown(request, row) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="payment_link", request_method="GET", openapi=True,
             renderer="json", permission=LINKS)
def get_payment_link(request: Request) -> Any:
    found = request_services(request).payment_links.of_merchant(
        _shop(request), request.matchdict["payment_link_id"], livemode=caller_livemode(request))
    return shown(request, found, with_payments=True)


@view_config(route_name="payment_link_cancel", request_method="POST", openapi=True,
             renderer="json", permission=LINKS)
def cancel_payment_link(request: Request) -> Any:
    cancelled = request_services(request).payment_links.cancel(
        _shop(request), request.matchdict["payment_link_id"], livemode=caller_livemode(request))
    return shown(request, cancelled)
