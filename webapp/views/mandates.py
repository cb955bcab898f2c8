"""AutoPay mandates in the user app: the mandate page (/mandates/<md_…>),
where a shop's mandate request is approved with the PIN (like a checkout,
its shop and limits from our records, never from the URL), and the AutoPay
page (/autopay): the user's mandates to pause, resume or revoke at once, and
the debits above the PIN cap waiting for their PIN. Every rule is the
domain's (wallet.merchants.mandates, mandate_debits)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import DebitStatus, MandateFrequency, MandateStatus
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.errors import PinRefused
from wallet.merchants.errors import MandateNotFound
from wallet.merchants.mandate_debits import MandateDebits
from wallet.merchants.mandate_rules import FREQUENCY_TEXT, ist_day
from wallet.merchants.mandates import Mandates, MandateView
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .confirm import confirm
from .forms import field, new_request_key
from .stepup import pin_setup

CHANGES = {"pause": "paused", "resume": "resumed", "revoke": "revoked"}


def _not_found(request: Request) -> dict[str, Any]:
    request.override_renderer = "error.jinja2"
    request.response.status = 404
    return {"title": "No such mandate",
            "message": "This AutoPay link is not valid. Ask the shop for a new one."}


@view_defaults(permission="authenticated")
class MandateViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        services = request_services(request)
        self.mandates: Mandates = services.mandates
        self.debits: MandateDebits = services.mandate_debits
        self.pin_cap_paise = services.mandate_policy.pin_cap_paise

    # --------------------------------------------------------- the mandate page

    def _page(self, view: MandateView, errors: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        mandate = view.mandate
        return {"mandate": mandate, "merchant": view.merchant, "errors": errors or {},
                "frequency_text": FREQUENCY_TEXT.get(MandateFrequency(mandate.frequency), ""),
                "pin_cap_paise": self.pin_cap_paise,
                "start_date": ist_day(mandate.starts_at),
                "end_date": ist_day(mandate.ends_at) - dt.timedelta(days=1),
                "yours": mandate.customer_user_id == self.user.id}

    @view_config(route_name="mandate", renderer="mandate.jinja2", request_method="GET")
    def show(self) -> dict[str, Any] | Response:
        try:
            view = self.mandates.for_approval(self.request.matchdict["id"])
        except MandateNotFound:
            return _not_found(self.request)
        if not view.mandate.livemode:  # (a test mandate: its own page, no PIN)
            return HTTPSeeOther(self.request.route_url("test_mandate", id=view.mandate.public_id))
        if view.mandate.status == MandateStatus.CREATED and (gate := pin_setup(self.request)):
            return gate
        return self._page(view)

    @view_config(route_name="mandate", renderer="mandate.jinja2", request_method="POST")
    def approve(self) -> dict[str, Any] | Response:
        public_id = self.request.matchdict["id"]
        try:
            view = self.mandates.for_approval(public_id)
        except MandateNotFound:
            return _not_found(self.request)
        if not view.mandate.livemode:
            return HTTPSeeOther(self.request.route_url("test_mandate", id=view.mandate.public_id))
        if (gate := pin_setup(self.request)) is not None:
            return gate
        try:  # a refusal is answered (committed), so a wrong PIN's try counts
            self.mandates.approve(self.user, public_id, pin=field(self.request, "pin"))
        except PinRefused as exc:
            return self._page(view, {"pin": str(exc)}, status=400)
        except WalletError as exc:
            return self._page(self.mandates.for_approval(public_id), {"form": str(exc)},
                              status=409)
        self.request.session.flash(f"AutoPay for {view.merchant.name} is on. You can pause "
                                   "or revoke it here at any time.")
        return HTTPSeeOther(self.request.route_url("autopay"))

    # ------------------------------------------------------------ the list

    def _list(self, errors: dict[str, str] | None = None, status: int = 200
              ) -> dict[str, Any]:
        self.request.response.status = status
        mandates = self.mandates.of_customer(self.user)
        return {"mandates": mandates, "awaiting": self.debits.awaiting(self.user),
                "upcoming": {m.id: [d for d in self.debits.of_mandate(m, limit=5)
                                    if d.status == DebitStatus.SCHEDULED]
                             for m, _ in mandates if m.status == MandateStatus.ACTIVE},
                "frequency_text": FREQUENCY_TEXT, "errors": errors or {},
                "request_key": new_request_key()}

    @view_config(route_name="autopay", renderer="autopay.jinja2", request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._list()

    @view_config(route_name="autopay_change", renderer="autopay.jinja2",
                 request_method="POST")
    def change(self) -> dict[str, Any] | Response:
        action = self.request.matchdict["action"]
        if action not in CHANGES:
            return _not_found(self.request)
        try:
            mandate = getattr(self.mandates, action)(self.user, self.request.matchdict["id"])
        except MandateNotFound:
            return _not_found(self.request)
        except WalletError as exc:
            return self._list({"form": str(exc)}, status=409)
        self.request.session.flash(f"AutoPay “{mandate.description}” {CHANGES[action]}.")
        return HTTPSeeOther(self.request.route_url("autopay"))

    @view_config(route_name="autopay_debit", renderer="autopay.jinja2",
                 request_method="POST")
    def debit(self) -> dict[str, Any] | Response:
        """A debit above the PIN cap: approved with the PIN, or declined."""
        action, public_id = self.request.matchdict["action"], self.request.matchdict["id"]
        if action not in ("approve", "decline"):
            return _not_found(self.request)
        try:
            if action == "approve":  # the list is its confirm step (wallet.money.quotes)
                quote = self.debits.quote(self.user, public_id)
                request_key = field(self.request, "request_key")
                quote.preview(request_key)
                outcome = confirm(self.request, quote, request_key)
                if isinstance(outcome, WalletError):  # (answered: a wrong try counts)
                    raise outcome
                debit = outcome
            else:
                debit = self.debits.decline(self.user, public_id)
        except MandateNotFound:
            return _not_found(self.request)
        except PinRefused as exc:
            return self._list({public_id: str(exc)}, status=400)
        except WalletError as exc:
            return self._list({public_id: str(exc)}, status=409)
        if debit.transaction_id is not None:
            return HTTPSeeOther(self.request.route_url("transaction", id=debit.transaction_id,
                                                       _query={"sent": "1"}))
        self.request.session.flash("Debit declined: nothing was paid.")
        return HTTPSeeOther(self.request.route_url("autopay"))
