from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, User
from wallet.identity.errors import PinRefused
from wallet.money.transfers import WalletService
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field, new_request_key, parse_rupees
from .stepup import confirm_page, confirming, pin_setup


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
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "balance": self.wallet.balance(self.user),
                "max_transfer_paise": self.wallet.max_transfer_paise}

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="GET")
    def form(self) -> dict[str, Any] | Response:
        merchant = self.wallet.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        return pin_setup(self.request) or self._form(merchant)

    @view_config(route_name="pay_merchant", renderer="pay.jinja2", request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The form, then its confirm page with the PIN (as sending money)."""
        merchant = self.wallet.merchant_by_handle(self.request.matchdict["handle"])
        if merchant is None:
            raise HTTPNotFound()
        values = {"amount": field(self.request, "amount"), "note": field(self.request, "note"),
                  "request_key": field(self.request, "request_key")}
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(values["amount"], errors,
                                    max_paise=self.wallet.max_transfer_paise)
        note_problem = self.wallet.note_problem(values["note"])
        if note_problem:  # every field's problem at once
            errors["note"] = note_problem
        if errors or amount_paise is None or "edit" in self.request.POST:
            return self._form(merchant, errors, values, status=400 if errors else 200)
        if (gate := pin_setup(self.request)) is not None:
            return gate
        try:
            self.wallet.check_payment_amount(amount_paise)
            self.wallet.idempotency_key("payment", self.user, values["request_key"])
            if confirming(self.request):
                tx = self.wallet.pay_merchant(self.user, merchant.handle, amount_paise,
                                              values["request_key"], values["note"],
                                              pin=field(self.request, "pin"))
                return HTTPSeeOther(self.request.route_url("transaction", id=tx.id,
                                                           _query={"sent": "1"}))
        except PinRefused as exc:
            return self._confirm(merchant, amount_paise, values, {"pin": str(exc)})
        except WalletError as exc:
            return self._form(merchant, exc.errors, values, status=400)
        return self._confirm(merchant, amount_paise, values)

    def _confirm(self, merchant: Merchant, amount_paise: int, values: dict[str, str],
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
        return confirm_page(
            self.request,
            question=f"Pay {format_paise(amount_paise)} to {merchant.name} (@{merchant.handle})?",
            details=[f"Note: {values['note']}"] if values["note"] else [],
            action=self.request.route_url("pay_merchant", handle=merchant.handle),
            values=values, button="Pay now", errors=errors, status=400 if errors else 200)
