"""Checkout of a shop's payment request: /checkout/<pr_…>. The shop's name and
the amount come from the request (wallet.merchants.payment_requests), never from the
URL; paying is the domain's one rule (PaymentRequests.pay), at most once."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import RequestStatus
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.errors import PinRefused
from wallet.merchants.errors import RequestNotFound, RequestNotPayable
from wallet.merchants.payment_requests import Checkout, PaymentRequests, return_target
from wallet.money.activity import Activity
from wallet.money.errors import InsufficientBalance
from wallet.money.receipts import Receipts
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..receipts import receipt_view
from .confirm import confirm
from .forms import field, new_request_key
from .stepup import pin_setup

MAX_ID_CHARS = 40

STATUS_TEXT: dict[str, str] = {
    RequestStatus.PAID: "This payment request has already been paid.",
    RequestStatus.EXPIRED: "This payment request has expired: nothing was paid. Ask the shop "
                           "for a new one.",
    RequestStatus.CANCELLED: "The shop cancelled this payment request: nothing was paid.",
}


@view_defaults(route_name="checkout", renderer="checkout.jinja2", permission="authenticated")
class CheckoutViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        services = request_services(request)
        self.activity: Activity = services.activity
        self.requests: PaymentRequests = services.payment_requests
        self.receipts: Receipts = services.receipts
        public_id: str = request.matchdict["id"]
        self.public_id = public_id if len(public_id) <= MAX_ID_CHARS else ""  # (not found)

    def _page(self, checkout: Checkout, errors: dict[str, str] | None = None,
              status: int = 200, short: bool = False) -> dict[str, Any]:
        self.request.response.status = status
        paid_by_you = (checkout.status == RequestStatus.PAID
                       and checkout.request.payer_user_id == self.user.id)
        return {
            "checkout": checkout, "pr": checkout.request, "merchant": checkout.merchant,
            "errors": errors or {}, "request_key": new_request_key(),
            "balance": self.activity.balance(self.user), "short": short,
            "paid_by_you": paid_by_you,
            "status_text": "" if paid_by_you else STATUS_TEXT.get(checkout.status, ""),
            "return_url": return_target(checkout.request, checkout.merchant)
            if paid_by_you else None,
            # Not paying after all, or nothing to pay any more: back to the shop.
            "leave_url": None if paid_by_you else return_target(
                checkout.request, checkout.merchant,
                "abandoned" if checkout.status == RequestStatus.CREATED else checkout.status),
            # Paid: the payer's signed receipt (wallet.money.receipts) on this page too.
            "receipt": receipt_view(self.receipts.for_payer(
                self.user.id, checkout.request.transaction_id))
            if paid_by_you and checkout.request.transaction_id else None,
        }

    def _not_found(self) -> dict[str, Any]:
        self.request.override_renderer = "error.jinja2"
        self.request.response.status = 404
        return {"title": "No such payment request",
                "message": "This payment link is not valid. Ask the shop for a new one."}

    @view_config(request_method="GET")
    def show(self) -> dict[str, Any] | Response:
        try:
            checkout = self.requests.checkout(self.public_id)
        except RequestNotFound:
            return self._not_found()
        if not checkout.request.livemode:  # (a test request: its own page, never a wallet)
            return HTTPSeeOther(self.request.route_url("test_checkout", id=self.public_id))
        if checkout.status == RequestStatus.CREATED and (gate := pin_setup(self.request)):
            return gate
        return self._page(checkout)

    @view_config(request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The checkout page is its own confirm step: the request's amount and
        shop, and the PIN (webapp/views/confirm.py confirms its quote)."""
        try:
            quote = self.requests.quote(self.user, self.public_id)
        except RequestNotFound:
            return self._not_found()
        checkout, request_key = quote.checkout, field(self.request, "request_key")
        if not checkout.request.livemode:
            return HTTPSeeOther(self.request.route_url("test_checkout", id=self.public_id))
        try:
            quote.preview(request_key)
        except WalletError as exc:
            return self._page(checkout, _page_errors(exc), status=400)
        if (gate := pin_setup(self.request)) is not None:
            return gate
        outcome = confirm(self.request, quote, request_key)
        if isinstance(outcome, PinRefused):  # (answered, not raised: the wrong try counts)
            return self._page(checkout, {"pin": str(outcome)}, status=400)
        if isinstance(outcome, RequestNotPayable):  # paid by someone else, expired, cancelled
            return self._page(self.requests.checkout(self.public_id), {"form": str(outcome)},
                              status=409)
        if isinstance(outcome, InsufficientBalance):
            return self._page(checkout, {"form": str(outcome)}, status=400, short=True)
        if isinstance(outcome, WalletError):
            return self._page(checkout, _page_errors(outcome), status=400)
        target = return_target(outcome, checkout.merchant) or self.request.route_url(
            "transaction", id=outcome.transaction_id, _query={"sent": "1"})
        return HTTPSeeOther(target)


def _page_errors(exc: WalletError) -> dict[str, str]:
    """A refusal as the checkout page shows it: above the form, except a
    frozen wallet's, which the page's banner says already (once)."""
    return {"frozen" if exc.field == "frozen" else "form": str(exc)}
