"""Money requests' pages: the list (to pay, asked, blocked people), ask for
money, one request (pay it through the confirm step with the PIN, decline,
decline and block, cancel). Split bills' pages are in webapp.views.splits."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import is_request_key
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.money.errors import MoneyRequestNotFound
from wallet.money.money_requests import MoneyRequests, RequestView
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .confirm import ConfirmStep, confirm_step
from .forms import field, made_once, new_request_key

ASK_FIELDS = ("phone", "amount", "note", "expires")


@view_defaults(permission="authenticated")
class RequestViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.requests: MoneyRequests = request_services(request).money_requests

    @view_config(route_name="requests", renderer="requests.jinja2")
    def listing(self) -> dict[str, Any]:
        incoming, _ = self.requests.page(self.user, incoming=True, limit=30)
        outgoing, _ = self.requests.page(self.user, incoming=False, limit=30)
        splits, _ = request_services(self.request).splits.page(self.user, limit=10)
        return {"incoming": incoming, "outgoing": outgoing, "splits": splits,
                "blocked": self.requests.blocked(self.user)}

    def _ask_form(self, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"errors": errors or {}, "request_key": self._form_key(),
                "values": values or {"phone": self.request.params.get("from", "")[:20]}}

    def _form_key(self) -> str:
        """The form's one-time token: kept when the form comes back with a problem."""
        token = field(self.request, "request_key")
        return token if is_request_key(token) else new_request_key()

    @view_config(route_name="request_new", renderer="request_new.jinja2", request_method="GET")
    def ask_form(self) -> dict[str, Any]:
        return self._ask_form()

    @view_config(route_name="request_new", renderer="request_new.jinja2", request_method="POST")
    def ask(self) -> dict[str, Any] | Response:
        values = {name: field(self.request, name) for name in ASK_FIELDS}
        try:
            made = made_once(self.request, "money_request", values, lambda: self.requests.ask(
                self.user, values["phone"], values["amount"], values["note"],
                values["expires"] or None).public_id)
        except WalletError as exc:
            return self._ask_form(exc.errors, values, 400)
        self.request.session.flash("Request sent. We tell you when it is paid.")
        return HTTPSeeOther(self.request.route_url("money_request", id=made))

    # ------------------------------------------------------------- one request

    def _view(self) -> RequestView:
        try:
            found = self.requests.of_user(self.user, self.request.matchdict["id"])
        except MoneyRequestNotFound:  # someone else's, or no such id: the same answer
            raise HTTPNotFound() from None
        return self.requests.view(found, self.user)

    def _page(self, view: RequestView, errors: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.override_renderer = "money_request.jinja2"
        self.request.response.status = status
        return {"view": view, "errors": errors or {}, "request_key": new_request_key(),
                "incoming": view.request.payer_user_id == self.user.id}

    @view_config(route_name="money_request", renderer="money_request.jinja2",
                 request_method="GET")
    def show(self) -> dict[str, Any]:
        return self._page(self._view())

    @view_config(route_name="money_request_pay", renderer="money_request.jinja2",
                 request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The request's page, then its confirm page with the PIN (as sending
        money); one transfer however often it is confirmed."""
        view = self._view()
        shown = field(self.request, "amount_paise")
        values = {"request_key": field(self.request, "request_key"), "amount_paise": shown}
        expected = int(shown) if shown.isascii() and shown.isdigit() and len(shown) < 16 else None
        public_id = view.request.public_id
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("money_request_pay", id=public_id), "Pay now",
                        values),
            lambda: self.requests.quote(self.user, public_id, expected),
            form=lambda errors, status: self._page(self._view(), errors, status),
            done=lambda paid: HTTPSeeOther(self.request.route_url(
                "transaction", id=paid[1].id, _query={"sent": "1"})))

    @view_config(route_name="money_request_decline", renderer="money_request.jinja2",
                 request_method="POST")
    def decline(self) -> dict[str, Any] | Response:
        view = self._view()
        block = field(self.request, "block") == "1"
        try:
            self.requests.decline(self.user, view.request.public_id, block=block)
        except WalletError as exc:
            return self._page(self._view(), exc.errors, 409)
        self.request.session.flash(f"Declined. {view.requester.name} can ask you no more."
                                   if block else "Declined.")
        return HTTPSeeOther(self.request.route_url("requests"))

    @view_config(route_name="money_request_cancel", renderer="money_request.jinja2",
                 request_method="POST")
    def cancel(self) -> dict[str, Any] | Response:
        view = self._view()
        try:
            self.requests.cancel(self.user, view.request.public_id)
        except WalletError as exc:
            return self._page(self._view(), exc.errors, 409)
        self.request.session.flash("Request cancelled.")
        return HTTPSeeOther(self.request.route_url("money_request", id=view.request.public_id))

    @view_config(route_name="requests_unblock", request_method="POST")
    def unblock(self) -> Response:
        user_id = field(self.request, "user_id")
        if user_id.isascii() and user_id.isdigit() and len(user_id) < 19:
            self.requests.unblock(self.user, int(user_id))
            self.request.session.flash("Unblocked: they can ask you for money again.")
        return HTTPSeeOther(self.request.route_url("requests"))
