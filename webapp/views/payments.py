from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.errors import WalletError
from wallet.models import Merchant, User
from wallet.transfers import WalletService
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field, new_request_key, parse_rupees


@view_defaults(permission="authenticated")
class PaymentViews:
    """Pay a shop: /pay asks for its handle, /pay/<handle> takes the payment."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.wallet: WalletService = request_services(request).wallet

    @view_config(route_name="pay", renderer="pay_handle.jinja2")
    def choose(self) -> dict[str, Any] | Response:
        handle: str = self.request.params.get("handle", "").strip().lower()[:30]
        if handle:
            if self.wallet.merchant_by_handle(handle) is not None:
                return HTTPSeeOther(self.request.route_url("pay_merchant", handle=handle))
            self.request.response.status = 404
            return {"error": "No shop has that payment handle.", "handle": handle}
        return {"error": "", "handle": ""}

    def _form(self, merchant: Merchant, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"merchant": merchant, "errors": errors or {}, "values": values or {},
                "request_key": new_request_key(), "balance": self.wallet.balance(self.user),
                "max_transfer_paise": self.wallet.max_transfer_paise}

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="GET")
    def form(self) -> dict[str, Any]:
        merchant = self.wallet.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        return self._form(merchant)

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        merchant = self.wallet.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        values = {"amount": field(self.request, "amount"), "note": field(self.request, "note")}
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(values["amount"], errors,
                                    max_paise=self.wallet.max_transfer_paise)
        note_problem = self.wallet.note_problem(values["note"])
        if note_problem:  # every field's problem at once
            errors["note"] = note_problem
        if errors or amount_paise is None:  # (None comes with an error)
            return self._form(merchant, errors, values, status=400)
        try:
            tx = self.wallet.pay_merchant(self.user, merchant.handle, amount_paise,
                                          field(self.request, "request_key"), values["note"])
        except WalletError as exc:
            return self._form(merchant, exc.errors, values, status=400)
        return HTTPSeeOther(self.request.route_url("transaction", id=tx.id,
                                                   _query={"sent": "1"}))
