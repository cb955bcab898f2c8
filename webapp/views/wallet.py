from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.core.codes import IST
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.pins import PinRefused
from wallet.money.statement_files import statement_csv, statement_filename, statement_pdf
from wallet.money.transfers import WalletService
from webcommon import request_read_services, request_services
from webcommon.views import view_config, view_defaults

from .forms import field, new_request_key, parse_rupees
from .stepup import confirm_page, confirming, pin_setup


@view_defaults(permission="authenticated")
class WalletViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.wallet: WalletService = request_services(request).wallet

    @view_config(route_name="dashboard", renderer="dashboard.jinja2")
    def dashboard(self) -> dict[str, Any]:
        return {
            "balance": self.wallet.balance(self.user),
            "recent": self.wallet.activity(self.user, limit=5),
        }

    def _send_form(self, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {
            "errors": errors or {},
            "values": values or {"phone": self.request.params.get("to", "")[:20]},
            # (a form sent back to edit keeps its key: it is the same payment)
            "request_key": (values or {}).get("request_key") or new_request_key(),
            "balance": self.wallet.balance(self.user),
            "max_transfer_paise": self.wallet.max_transfer_paise,
        }

    @view_config(route_name="send", renderer="send.jinja2", request_method="GET")
    def send_form(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._send_form()

    @view_config(route_name="send", renderer="send.jinja2", request_method="POST")
    def send(self) -> dict[str, Any] | Response:
        """Two steps: the form, then its confirm page (the recipient's name
        from our records, and the PIN); the confirm page's submit sends."""
        values = {name: field(self.request, name) for name in ("phone", "amount", "note")}
        values["request_key"] = field(self.request, "request_key")
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(
            values["amount"], errors, max_paise=self.wallet.max_transfer_paise
        )
        note_problem = self.wallet.note_problem(values["note"])
        if note_problem:  # every field's problem at once
            errors["note"] = note_problem
        if not values["phone"].strip():
            errors["phone"] = "Enter your friend's mobile number."
        if errors or amount_paise is None or "edit" in self.request.POST:
            return self._send_form(errors, values, status=400 if errors else 200)
        if (gate := pin_setup(self.request)) is not None:
            return gate
        def preview(paise: int = amount_paise) -> User:
            return self.wallet.preview_transfer(self.user, values["phone"], paise,
                                                values["request_key"], values["note"])[0]

        try:
            if not confirming(self.request):
                return self._confirm(preview(), amount_paise, values)
            # send_money checks what the preview does: the recipient is looked
            # up again only to show the confirm page with a refused PIN.
            tx = self.wallet.send_money(
                self.user, values["phone"], amount_paise, values["request_key"],
                values["note"], pin=field(self.request, "pin"))
            return HTTPSeeOther(self.request.route_url("transaction", id=tx.id,
                                                       _query={"sent": "1"}))
        except PinRefused as exc:
            try:
                return self._confirm(preview(), amount_paise, values, {"pin": str(exc)})
            except WalletError as again:
                return self._send_form(again.errors, values, status=400)
        except WalletError as exc:
            return self._send_form(exc.errors, values, status=400)

    def _confirm(self, recipient: User, amount_paise: int, values: dict[str, str],
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
        return confirm_page(
            self.request, question=f"Send {format_paise(amount_paise)} to {recipient.name} "
                                   f"({recipient.masked_phone})?",
            details=[f"Note: {values['note']}"] if values["note"] else [],
            action=self.request.route_url("send"), values=values, button="Send now",
            errors=errors, status=400 if errors else 200)

    @view_config(route_name="transactions", renderer="transactions.jinja2")
    def transactions(self, statement_error: str = "") -> dict[str, Any]:
        cursor = self.request.params.get("cursor") or None
        try:  # history: a standby may serve it (webcommon.reads)
            page = request_read_services(self.request).wallet.activity(self.user,
                                                                       cursor=cursor)
        except WalletError:
            raise HTTPNotFound() from None
        statements = request_services(self.request).statements
        last_month = statements.now().astimezone(IST).strftime("%Y-%m")
        return {"page": page, "statement_error": statement_error,
                "statement_month": self._query("month")[:7] or last_month,
                "this_month": last_month}

    def _query(self, name: str) -> str:
        value = self.request.GET.get(name, "")
        return value[:20] if isinstance(value, str) else ""

    @view_config(route_name="statement", renderer="transactions.jinja2")
    def statement(self) -> dict[str, Any] | Response:
        """The month's statement as a download (PDF, or CSV with ``format=csv``)."""
        statements = request_services(self.request).statements
        try:
            month = statements.parse_month(self._query("month"))
        except WalletError as exc:
            self.request.response.status = 400
            return self.transactions(statement_error=str(exc))
        value = statements.for_month(self.user, month)
        chosen = "csv" if self._query("format") == "csv" else "pdf"
        response = Response(
            body=statement_csv(value) if chosen == "csv" else statement_pdf(value),
            content_type="text/csv" if chosen == "csv" else "application/pdf")
        if chosen == "csv":
            response.charset = "utf-8"
        response.content_disposition = (
            f'attachment; filename="{statement_filename(value, chosen)}"')
        return response

    @view_config(route_name="transaction", renderer="transaction.jinja2")
    def transaction(self) -> dict[str, Any]:
        item = self.wallet.transaction_for(self.user, int(self.request.matchdict["id"]))
        if item is None:  # someone else's, or no such id: the same answer
            raise HTTPNotFound()
        return {"item": item, "just_sent": self.request.params.get("sent") == "1"}
