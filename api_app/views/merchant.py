"""The endpoints of shops' servers (permission ``merchant``: a shop's secret
key, never a user's token): payment requests and their refunds. Creating a
request and refunding go through the money-request runner (rate limit per
shop, Idempotency-Key scoped to the shop)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import RequestStatus
from wallet.core.models import Merchant
from wallet.merchants.models import PaymentRequest
from wallet.merchants.payment_requests import DEFAULT_EXPIRY_S, NewRequest
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_amount_request
from ..problems import problem, validation_error
from ..security import caller_livemode
from ..validation import json_body

#: The checkout page of the user app, where the customer pays.
CHECKOUT_PATH = "/checkout/{id}"
#: A test request's checkout: "Simulate success" or "failure", no sign-in.
TEST_CHECKOUT_PATH = "/test/checkout/{id}"


def checkout_url(request: Request, public_id: str, *, livemode: bool = True) -> str:
    path = CHECKOUT_PATH if livemode else TEST_CHECKOUT_PATH
    return request_services(request).settings.user_app_url + path.format(id=public_id)


def shown(request: Request, payment_request: PaymentRequest) -> Json:
    refunds = request_services(request).refunds
    if not payment_request.livemode:
        refunded = refunds.test_refunded_paise(payment_request)
    else:
        refunded = (0 if payment_request.transaction_id is None else
                    refunds.refunded_paise(payment_request.transaction_id))
    return render.payment_request(
        payment_request, refunded_paise=refunded,
        checkout_url=checkout_url(request, payment_request.public_id,
                                  livemode=payment_request.livemode))


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def _found(request: Request) -> PaymentRequest:
    """The shop's payment request named by the path (RequestNotFound -> 404:
    another shop's id is no more found than an unknown one)."""
    return request_services(request).payment_requests.of_merchant(
        _shop(request), request.matchdict["payment_request_id"],
        livemode=caller_livemode(request))


@view_config(route_name="payment_requests", request_method="POST", openapi=True,
             permission="merchant")
def create_payment_request(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        new = NewRequest(order_reference=body["order_reference"], amount_paise=amount,
                         description=body.get("description", ""), expires_in_s=expires_in_s,
                         return_url=body.get("return_url"))
        made, created = request_services(request).payment_requests.create(
            _shop(request), new, livemode=caller_livemode(request))
        return (201 if created else 200), shown(request, made)

    expires_in_s = json_body(request).get("expires_in_s", DEFAULT_EXPIRY_S)
    if type(expires_in_s) is not int:
        return validation_error("expires_in_s", "expires_in_s must be a whole number of "
                                "seconds, like 1800.")
    return run_amount_request(request, operation)


@view_config(route_name="payment_requests", request_method="GET", openapi=True,
             renderer="json", permission="merchant")
def list_payment_requests(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    rows, next_cursor = request_services(request).payment_requests.page(
        _shop(request), status=params.get("status"),
        cursor=int(cursor) if cursor else None, limit=int(params.get("limit", 20)),
        livemode=caller_livemode(request))
    return {"items": [shown(request, row) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="payment_request", request_method="GET", openapi=True,
             renderer="json", permission="merchant")
def get_payment_request(request: Request) -> Any:
    return shown(request, _found(request))


@view_config(route_name="payment_request_cancel", request_method="POST", openapi=True,
             renderer="json", permission="merchant")
def cancel_payment_request(request: Request) -> Any:
    cancelled = request_services(request).payment_requests.cancel(
        _shop(request), request.matchdict["payment_request_id"],
        livemode=caller_livemode(request))
    return shown(request, cancelled)


@view_config(route_name="payment_request_refunds", request_method="POST", openapi=True,
             permission="merchant")
def create_refund(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        refunds = request_services(request).refunds
        if not paid.livemode:  # (found in the caller's mode: a test key's)
            refund = refunds.refund_test(_shop(request), paid.public_id, amount,
                                         body.get("reason", ""))
        else:
            refund = refunds.refund(_shop(request), payment_id, amount, key,
                                    body.get("reason", ""))
        return 201, render.refund(refund, payment_request_id=paid.public_id)

    paid = _found(request)
    if paid.status != RequestStatus.PAID or (paid.livemode and paid.transaction_id is None):
        return problem("not_refundable", f"This payment request is {paid.status}: only a paid "
                       "one can be refunded.")
    payment_id = paid.transaction_id or 0
    return run_amount_request(request, operation)


@view_config(route_name="payment_request_refunds", request_method="GET", openapi=True,
             renderer="json", permission="merchant")
def list_refunds(request: Request) -> Any:
    found = _found(request)
    service = request_services(request).refunds
    if not found.livemode:
        refunds = service.of_test_request(found)
    else:
        refunds = ([] if found.transaction_id is None else
                   service.of_payment(found.transaction_id))
    return {"items": [render.refund(refund, payment_request_id=found.public_id)
                      for refund in refunds]}
