"""Split bills' pages: split a bill (a title, a total, how, and up to
``FORM_ROWS`` people), and one split (who has paid, what is outstanding; its
creator reminds, edits an unpaid share, closes it)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import is_request_key
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.money.errors import SplitNotFound
from wallet.money.splits import Participant, Splits
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field, made_once, new_request_key

FORM_ROWS = 8


@view_defaults(permission="authenticated")
class SplitViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.splits: Splits = request_services(request).splits

    def _form(self, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        values = values or {"mode": "equal", "phones": [self.user.phone], "values": []}
        rows = [(values["phones"][i] if i < len(values["phones"]) else "",
                 values["values"][i] if i < len(values["values"]) else "")
                for i in range(FORM_ROWS)]
        token = field(self.request, "request_key")  # (kept when the form comes back)
        return {"errors": errors or {}, "values": values, "rows": rows,
                "request_key": token if is_request_key(token) else new_request_key()}

    @view_config(route_name="split_new", renderer="split_new.jinja2", request_method="GET")
    def form(self) -> dict[str, Any]:
        return self._form()

    @view_config(route_name="split_new", renderer="split_new.jinja2", request_method="POST")
    def create(self) -> dict[str, Any] | Response:
        phones = [p[:40] for p in self.request.POST.getall("phone")[:FORM_ROWS]]
        shares = [v[:20] for v in self.request.POST.getall("value")[:FORM_ROWS]]
        values: dict[str, Any] = {name: field(self.request, name)
                                  for name in ("title", "total", "mode", "expires")}
        values.update(phones=phones, values=shares)
        people = [Participant(phone, shares[i] if i < len(shares) else "")
                  for i, phone in enumerate(phones) if phone.strip()]
        try:
            made = made_once(self.request, "split", values, lambda: self.splits.create(
                self.user, values["title"], values["total"], values["mode"], people,
                values["expires"] or None).public_id)
        except WalletError as exc:
            return self._form(exc.errors, values, 400)
        self.request.session.flash("Split made: each person got a request for their share.")
        return HTTPSeeOther(self.request.route_url("split", id=made))

    # --------------------------------------------------------------- one split

    def _page(self, errors: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        try:
            view = self.splits.view(self.user, self.request.matchdict["id"])
        except SplitNotFound:  # someone else's, or no such id: the same answer
            raise HTTPNotFound() from None
        # (set once found: a 404 is rendered by the error page's own template)
        self.request.override_renderer = "split.jinja2"
        self.request.response.status = status
        return {"view": view, "errors": errors or {},
                "mine": view.split.creator_user_id == self.user.id}

    @view_config(route_name="split", renderer="split.jinja2", request_method="GET")
    def show(self) -> dict[str, Any]:
        return self._page()

    def _act(self, action: Any, done: str) -> dict[str, Any] | Response:
        public_id = self.request.matchdict["id"]
        try:
            action(public_id)
        except WalletError as exc:
            if isinstance(exc, SplitNotFound) or exc.code == "money_request_not_found":
                raise HTTPNotFound() from None
            return self._page(exc.errors, 409 if exc.code != "validation_error" else 400)
        self.request.session.flash(done)
        return HTTPSeeOther(self.request.route_url("split", id=public_id))

    @view_config(route_name="split_remind", renderer="split.jinja2", request_method="POST")
    def remind(self) -> dict[str, Any] | Response:
        return self._act(lambda public_id: self.splits.remind(self.user, public_id),
                         "Reminded everyone who has not paid yet.")

    @view_config(route_name="split_close", renderer="split.jinja2", request_method="POST")
    def close(self) -> dict[str, Any] | Response:
        return self._act(lambda public_id: self.splits.close(self.user, public_id),
                         "Split closed: its unpaid requests are cancelled.")

    @view_config(route_name="split_share", renderer="split.jinja2", request_method="POST")
    def edit_share(self) -> dict[str, Any] | Response:
        return self._act(lambda public_id: self.splits.edit_share(
            self.user, public_id, self.request.matchdict["request_id"],
            field(self.request, "amount")), "Share changed; the total changed with it.")
