"""Test mode in the user app: the checkout of a test payment request
(/test/checkout/<pr_…>) and the page of a test AutoPay mandate
(/test/mandates/<md_…>). No sign-in, no PIN, no wallet: a clear TEST banner
and buttons that simulate what a customer would do. Nothing here moves
money; the rules (a live object is not found here, paid once) are the
domain's (PaymentRequests.simulate, Mandates.simulate)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import RequestStatus
from wallet.core.errors import WalletError
from wallet.merchants.errors import MandateNotFound, RequestNotFound
from wallet.merchants.mandate_rules import FREQUENCY_TEXT
from wallet.merchants.payment_requests import Checkout, return_target
from webcommon import request_services
from webcommon.views import view_config

from .forms import field

MAX_ID_CHARS = 40
OUTCOMES = {"succeed": True, "fail": False}
MANDATE_ACTIONS = {"approve": True, "revoke": False}


def _id(request: Request) -> str:
    public_id: str = request.matchdict["id"]
    return public_id if len(public_id) <= MAX_ID_CHARS else ""  # (not found)


def _not_found(request: Request, what: str) -> dict[str, Any]:
    request.override_renderer = "error.jinja2"
    request.response.status = 404
    return {"title": f"No such test {what}",
            "message": "This test link is not valid. Make a new one with your test key."}


def _checkout_page(request: Request, checkout: Checkout, *, message: str = "",
                   error: str = "", status: int = 200) -> dict[str, Any]:
    request.response.status = status
    return {"checkout": checkout, "pr": checkout.request, "merchant": checkout.merchant,
            "message": message, "error": error,
            "return_url": return_target(checkout.request, checkout.merchant)}


@view_config(route_name="test_checkout", renderer="test_checkout.jinja2", request_method="GET")
def test_checkout(request: Request) -> dict[str, Any]:
    try:
        checkout = request_services(request).payment_requests.test_checkout(_id(request))
    except RequestNotFound:
        return _not_found(request, "payment request")
    return _checkout_page(request, checkout)


@view_config(route_name="test_checkout", renderer="test_checkout.jinja2", request_method="POST")
def simulate_checkout(request: Request) -> dict[str, Any] | Response:
    requests = request_services(request).payment_requests
    try:
        checkout = requests.test_checkout(_id(request))
    except RequestNotFound:
        return _not_found(request, "payment request")
    outcome = field(request, "outcome")
    if outcome not in OUTCOMES:
        return _checkout_page(request, checkout, error="Choose success or failure.", status=400)
    try:
        done = requests.simulate(checkout.request.public_id, succeed=OUTCOMES[outcome])
    except WalletError as exc:  # expired, cancelled: nothing happened
        return _checkout_page(request, requests.test_checkout(checkout.request.public_id),
                              error=str(exc), status=409)
    if done.status == RequestStatus.PAID:
        target = return_target(done, checkout.merchant)
        return HTTPSeeOther(target or request.route_url("test_checkout", id=done.public_id))
    return _checkout_page(request, requests.test_checkout(done.public_id),
                          message="Simulated failure: nothing was paid and the payment "
                                  "request is still open.")


def _mandate_page(request: Request, public_id: str, *, error: str = "",
                  status: int = 200) -> dict[str, Any]:
    try:
        view = request_services(request).mandates.for_test(public_id)
    except MandateNotFound:
        return _not_found(request, "mandate")
    request.response.status = status
    return {"mandate": view.mandate, "merchant": view.merchant, "error": error,
            "frequency_text": FREQUENCY_TEXT}


@view_config(route_name="test_mandate", renderer="test_mandate.jinja2", request_method="GET")
def test_mandate(request: Request) -> dict[str, Any]:
    return _mandate_page(request, _id(request))


@view_config(route_name="test_mandate", renderer="test_mandate.jinja2", request_method="POST")
def simulate_mandate(request: Request) -> dict[str, Any] | Response:
    public_id, action = _id(request), field(request, "action")
    if action not in MANDATE_ACTIONS:
        return _mandate_page(request, public_id, error="Choose approve or revoke.", status=400)
    try:
        request_services(request).mandates.simulate(public_id, approve=MANDATE_ACTIONS[action])
    except MandateNotFound:
        return _not_found(request, "mandate")
    except WalletError as exc:
        return _mandate_page(request, public_id, error=str(exc), status=409)
    return HTTPSeeOther(request.route_url("test_mandate", id=public_id))
