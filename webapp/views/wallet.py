from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import IST, Kind, Status
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.core.phone import InvalidPhone, normalize_phone
from wallet.identity.handles import address_of
from wallet.money.activity import Activity, ActivityItem
from wallet.money.errors import TransferNotFound
from wallet.money.statement_files import statement_csv, statement_filename, statement_pdf
from wallet.money.transfer_holds import mask_name
from wallet.money.transfers import NOT_REGISTERED, Transfers
from webcommon import request_read_services, request_services
from webcommon.views import view_config, view_defaults

from ..receipts import receipt_of
from .confirm import ConfirmStep, confirm_step
from .forms import field, new_request_key
from .stepup import pin_setup


@view_defaults(permission="authenticated")
class WalletViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        services = request_services(request)
        self.transfers: Transfers = services.transfers
        self.activity: Activity = services.activity

    @view_config(route_name="dashboard", renderer="dashboard.jinja2")
    def dashboard(self) -> dict[str, Any]:
        recent = self.activity.page(self.user, limit=5)
        return {
            "balance": self.activity.balance(self.user),
            "recent": recent,
            "lands_at": self._lands_at(recent.items),
            "payees": self.activity.recent_payees(self.user),  # "Pay again"
        }

    def _lands_at(self, items: Iterable[ActivityItem]) -> dict[int, dt.datetime]:
        """When each transfer listed that is held for its undo window lands
        (a query only when one is listed)."""
        held = [item.transaction.id for item in items
                if item.transaction.kind == Kind.TRANSFER
                and item.transaction.status == Status.PENDING]
        return request_services(self.request).transfer_holds.lands_at(held) if held else {}

    def _send_form(self, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        handle = (values or {}).get("to_handle", "")
        return {
            "errors": errors or {},
            "values": values or {"phone": self.request.params.get("to", "")[:20]},
            # A scanned QR code's person (webapp/views/handles.py): locked on the form.
            "to": self._locked_recipient(handle) if handle else None,
            # (a form sent back to edit keeps its key: it is the same payment)
            "request_key": (values or {}).get("request_key") or new_request_key(),
            "balance": self.activity.balance(self.user),
            "max_transfer_paise": self.transfers.max_transfer_paise,
            "invite": self._invite(errors or {}, values or {}),
            "contacts": self.activity.recent_contacts(self.user),  # tap to fill the phone
        }

    def _invite(self, errors: dict[str, str], values: dict[str, str]) -> dict[str, str] | None:
        """A friend with no wallet yet: links to invite them (SMS, WhatsApp)."""
        if errors.get("phone") != NOT_REGISTERED:
            return None
        try:
            phone = normalize_phone(values.get("phone", ""))
        except InvalidPhone:
            return None
        text = (f"{self.user.name} wants to send you money on the wallet. Sign up with this "
                f"number: {self.request.route_url('signup')}")
        return {"phone": phone, "sms": f"sms:{phone}?body={quote(text)}",
                "whatsapp": f"https://wa.me/{phone.lstrip('+')}?text={quote(text)}"}

    def _locked_recipient(self, handle: str) -> dict[str, Any]:
        """The person a receive handle names, as the send page shows them:
        their verified name (masked), or their name masked and said unverified.
        An unknown handle shows as itself (sending then says it is unknown)."""
        try:
            recipient, payee = self.transfers.recipient_by_handle(self.user, handle)
        except WalletError:
            return {"handle": handle, "address": address_of(handle), "name": None,
                    "verified": False}
        return {"handle": handle, "address": address_of(handle),
                "name": payee.verified_name or mask_name(recipient.name),
                "verified": payee.verified_name is not None}

    def send_to(self, handle: str) -> dict[str, Any] | Response:
        """/to/<handle>: the send form with that person locked as the recipient."""
        page = self._send_form(values={"to_handle": handle, "phone": ""})
        if page["to"]["name"] is None:
            self.request.override_renderer = "error.jinja2"
            self.request.response.status = 404
            return {"title": "No such wallet handle",
                    "message": f"No wallet has the handle {address_of(handle)}. Check "
                               "the QR code, or ask them for their number."}
        return pin_setup(self.request) or page

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
        # A scanned QR code's person: by their handle (the phone field is not shown).
        handle = field(self.request, "to_handle", max_chars=40)
        if handle:
            values["to_handle"], values["phone"] = handle, ""
        elif not values["phone"].strip():
            errors["phone"] = "Enter your friend's mobile number."
        recipient = address_of(handle) if handle else values["phone"]
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("send"), "Send now", values),
            lambda: self.transfers.quote_transfer(self.user, recipient, values["amount"],
                                               values["note"]),
            form=lambda errors, status: self._send_form(errors, values, status),
            done=lambda tx: HTTPSeeOther(self.request.route_url(
                "transaction", id=tx.id, _query={"sent": "1"})),
            errors=errors)

    @view_config(route_name="transactions", renderer="transactions.jinja2")
    def transactions(self, statement_error: str = "") -> dict[str, Any]:
        cursor = self.request.params.get("cursor") or None
        try:  # history: a standby may serve it (webcommon.reads)
            page = request_read_services(self.request).activity.page(self.user, cursor=cursor)
        except WalletError:
            raise HTTPNotFound() from None
        statements = request_services(self.request).statements
        last_month = statements.now().astimezone(IST).strftime("%Y-%m")
        return {"page": page, "statement_error": statement_error,
                "lands_at": self._lands_at(page.items),
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
            body=(statement_csv(value) if chosen == "csv"
                  else statement_pdf(value, generated_at=statements.now())),
            content_type="text/csv" if chosen == "csv" else "application/pdf")
        if chosen == "csv":
            response.charset = "utf-8"
        response.content_disposition = (
            f'attachment; filename="{statement_filename(value, chosen)}"')
        return response

    @view_config(route_name="transaction", renderer="transaction.jinja2")
    def transaction(self, undo_error: str = "") -> dict[str, Any]:
        item = self.activity.transaction_for(self.user, int(self.request.matchdict["id"]))
        if item is None:  # someone else's, or no such id: the same answer
            raise HTTPNotFound()
        # A transfer that paid a money request links back to it (and its split).
        paid = (request_services(self.request).money_requests.for_transaction(
            item.transaction.id) if item.transaction.kind == Kind.TRANSFER else None)
        fraud = request_services(self.request).fraud_reports
        transfer = item.transaction.kind == Kind.TRANSFER
        return {"item": item, "just_sent": self.request.params.get("sent") == "1",
                "paid_request": paid, "undone": self.request.params.get("undone") == "1",
                "lands_at": self._lands_at([item]).get(item.transaction.id),
                "undo_error": undo_error,
                # Report fraud (webapp/views/fraud.py): the button, or the report made.
                "fraud": fraud.of_transaction(item.transaction.id) if transfer else None,
                "may_report_fraud": transfer and fraud.reportable(self.user, item.transaction),
                # The payer's signed receipt (wallet.money.receipts), as a QR code and text.
                "receipt": receipt_of(self.request, item.transaction),
                **self._ticket_link(item)}

    def _ticket_link(self, item: ActivityItem) -> dict[str, Any]:
        """"Report a problem" if it may be reported; its live ticket if one is."""
        tickets = request_services(self.request).tickets
        if not tickets.categories_for(self.user, item.transaction):
            return {"may_report": False, "live_ticket": None}
        return {"may_report": True,
                "live_ticket": tickets.live_for_transaction(self.user.id, item.transaction.id)}

    @view_config(route_name="transaction_undo", renderer="transaction.jinja2",
                 request_method="POST")
    def undo(self) -> dict[str, Any] | Response:
        """The sender's Undo of a first payment held for its window."""
        transaction_id = int(self.request.matchdict["id"])
        try:
            request_services(self.request).transfer_holds.undo(self.user, transaction_id)
        except TransferNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:  # the window is over: said on the page, nothing done
            self.request.response.status = 409
            return self.transaction(undo_error=str(exc))
        return HTTPSeeOther(self.request.route_url("transaction", id=transaction_id,
                                                   _query={"undone": "1"}))
