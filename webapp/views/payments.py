from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant, User
from wallet.money.activity import Activity
from wallet.money.shop_payments import ShopPayments
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .confirm import ConfirmStep, confirm_step
from .forms import field, new_request_key
from .stepup import pin_setup


@view_defaults(permission="authenticated")
class PaymentViews:
    """Pay a shop: /pay asks for its handle, /pay/<handle> takes the payment."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        services = request_services(request)
        self.payments: ShopPayments = services.shop_payments
        self.activity: Activity = services.activity

    @view_config(route_name="pay", renderer="pay_handle.jinja2")
    def choose(self) -> dict[str, Any] | Response:
        handle: str = self.request.params.get("handle", "").strip().lower()[:30]
        if handle:
            if self.payments.merchant_by_handle(handle) is not None:
                return HTTPSeeOther(self.request.route_url("pay_merchant", handle=handle))
            self.request.response.status = 404
            return {"error": "No shop has that payment handle.", "handle": handle}
        return {"error": "", "handle": ""}

    def _form(self, merchant: Merchant, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"merchant": merchant, "errors": errors or {}, "values": values or {},
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "balance": self.activity.balance(self.user),
                "max_transfer_paise": self.payments.max_transfer_paise}

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="GET")
    def form(self) -> dict[str, Any] | Response:
        merchant = self.payments.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        return pin_setup(self.request) or self._form(merchant)

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The form, then its confirm page with the PIN (as sending money)."""
        merchant = self.payments.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        values = {"amount": field(self.request, "amount"), "note": field(self.request, "note"),
                  "request_key": field(self.request, "request_key")}
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("pay_merchant", handle=merchant.handle),
                        "Pay now", values),
            lambda: self.payments.quote_payment(self.user, merchant, values["amount"],
                                                values["note"]),
            form=lambda errors, status: self._form(merchant, errors, values, status),
            done=lambda tx: HTTPSeeOther(self.request.route_url(
                "transaction", id=tx.id, _query={"sent": "1"})))
