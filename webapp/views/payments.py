from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant, MerchantStore, User
from wallet.money.activity import Activity
from wallet.money.errors import STORE_CLOSED
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
            found = self.payments.store_by_handle(handle)
            if found is not None and found[1].closed_at is None:
                return HTTPSeeOther(self.request.route_url("pay_merchant", handle=handle))
            self.request.response.status = 404 if found is None else 410
            return {"error": "No shop has that payment handle." if found is None
                    else STORE_CLOSED, "handle": handle}
        return {"error": "", "handle": ""}

    def _store(self) -> tuple[Merchant, MerchantStore]:
        """The store the path's handle pays, and its shop (one query)."""
        found = self.payments.store_by_handle(self.request.matchdict["handle"])
        if found is None:
            raise HTTPNotFound()
        return found

    def _closed(self, merchant: Merchant, store: MerchantStore) -> dict[str, Any]:
        self.request.response.status = 410
        return {"merchant": merchant, "store": store, "closed": STORE_CLOSED}

    def _form(self, merchant: Merchant, store: MerchantStore,
              errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"merchant": merchant, "store": store, "closed": "",
                "errors": errors or {}, "values": values or {},
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "balance": self.activity.balance(self.user),
                "max_transfer_paise": self.payments.max_transfer_paise}

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="GET")
    def form(self) -> dict[str, Any] | Response:
        merchant, store = self._store()
        if store.closed_at is not None:
            return self._closed(merchant, store)
        return pin_setup(self.request) or self._form(merchant, store)

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The form, then its confirm page with the PIN (as sending money)."""
        merchant, store = self._store()
        if store.closed_at is not None:
            return self._closed(merchant, store)
        values = {"amount": field(self.request, "amount"), "note": field(self.request, "note"),
                  "request_key": field(self.request, "request_key")}
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("pay_merchant", handle=store.handle),
                        "Pay now", values),
            lambda: self.payments.quote_payment(self.user, merchant, values["amount"],
                                                values["note"], store=store),
            form=lambda errors, status: self._form(merchant, store, errors, values, status),
            done=lambda tx: HTTPSeeOther(self.request.route_url(
                "transaction", id=tx.id, _query={"sent": "1"})))
