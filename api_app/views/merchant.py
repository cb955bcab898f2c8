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
from wallet.merchants.stores import StoreRef
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


def shown(request: Request, payment_request: PaymentRequest, store: StoreRef | None) -> Json:
    refunds = request_services(request).refunds
    if not payment_request.livemode:
        refunded = refunds.test_refunded_paise(payment_request)
    else:
        refunded = (0 if payment_request.transaction_id is None else
                    refunds.refunded_paise(payment_request.transaction_id))
    return render.payment_request(
        payment_request, refunded_paise=refunded, store=store,
        checkout_url=checkout_url(request, payment_request.public_id,
                                  livemode=payment_request.livemode))


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def _found(request: Request) -> tuple[PaymentRequest, StoreRef | None]:
    """The shop's payment request named by the path, of the caller's mode,
    with its store (one query; RequestNotFound -> 404: another shop's id, or
    the other mode's, is no more found than an unknown one)."""
    return request_services(request).payment_requests.of_merchant_with_store(
        _shop(request), request.matchdict["payment_request_id"],
        livemode=caller_livemode(request))


def _store_named(body: Json) -> tuple[int | None, str | None] | Response:
    """The store a new request names: ``store_id`` or ``store`` (its handle),
    not both (the schema checked their types)."""
    store_id, handle = body.get("store_id"), body.get("store")
    if store_id is not None and handle is not None:
        return validation_error("store", "Name the store by store or by store_id, not both.")
    return store_id, handle


@view_config(route_name="payment_requests", request_method="POST", openapi=True,
             permission="merchant")
def create_payment_request(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        new = NewRequest(order_reference=body["order_reference"], amount_paise=amount,
                         description=body.get("description", ""), expires_in_s=expires_in_s,
                         return_url=body.get("return_url"), store_id=store[0],
                         store_handle=store[1])
        requests = request_services(request).payment_requests
        made, created = requests.create(_shop(request), new, livemode=caller_livemode(request))
        return (201 if created else 200), shown(request, made, requests.store_ref(made))

    expires_in_s = json_body(request).get("expires_in_s", DEFAULT_EXPIRY_S)
    if type(expires_in_s) is not int:
        return validation_error("expires_in_s", "expires_in_s must be a whole number of "
                                "seconds, like 1800.")
    store = _store_named(json_body(request))
    if isinstance(store, Response):
        return store
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
    stores = request_services(request).stores.refs(_shop(request)) if rows else {}
    return {"items": [shown(request, row, stores.get(row.store_id)) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="payment_request", request_method="GET", openapi=True,
             renderer="json", permission="merchant")
def get_payment_request(request: Request) -> Any:
    return shown(request, *_found(request))


@view_config(route_name="payment_request_cancel", request_method="POST", openapi=True,
             renderer="json", permission="merchant")
def cancel_payment_request(request: Request) -> Any:
    requests = request_services(request).payment_requests
    cancelled = requests.cancel(_shop(request), request.matchdict["payment_request_id"],
                                livemode=caller_livemode(request))
    return shown(request, cancelled, requests.store_ref(cancelled))


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
        return 201, render.refund(refund, payment_request_id=paid.public_id,
                             store=store)

    paid, store = _found(request)
    if paid.status != RequestStatus.PAID or (paid.livemode and paid.transaction_id is None):
        return problem("not_refundable", f"This payment request is {paid.status}: only a paid "
                       "one can be refunded.")
    payment_id = paid.transaction_id or 0
    return run_amount_request(request, operation)


@view_config(route_name="payment_request_refunds", request_method="GET", openapi=True,
             renderer="json", permission="merchant")
def list_refunds(request: Request) -> Any:
    found, store = _found(request)
    service = request_services(request).refunds
    if not found.livemode:
        refunds = service.of_test_request(found)
    else:
        refunds = ([] if found.transaction_id is None else
                   service.of_payment(found.transaction_id))
    return {"items": [render.refund(refund, payment_request_id=found.public_id, store=store)
                      for refund in refunds]}
