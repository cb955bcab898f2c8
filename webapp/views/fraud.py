"""Report fraud (wallet.care.fraud) on the user's pages: the sender's confirm
page for a transfer they sent (what happens, a note, the button), then the
ticket's page; the recipient's page of a report about a payment they received
(the amount on hold, their answer)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.care.errors import FraudReportNotFound, TicketAlreadyOpen, TicketTransactionNotFound
from wallet.care.fraud import MAX_RESPONSE_CHARS, FraudReports
from wallet.care.tickets import MAX_NOTE_CHARS
from wallet.core.errors import WalletError
from wallet.core.models import Transaction, User
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field


def ticket_url(request: Request, public_id: str) -> str:
    """The ticket's page (webapp's tickets pages: /tickets/{public_id})."""
    return f"{request.application_url}/tickets/{public_id}"


@view_defaults(permission="authenticated")
class FraudViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.reports: FraudReports = request_services(request).fraud_reports

    def _transfer(self) -> Transaction:
        """The user's outgoing transfer, reportable: else a 404."""
        tx: Transaction | None = self.request.dbsession.get(
            Transaction, int(self.request.matchdict["id"]))
        if tx is None or not self.reports.reportable(self.user, tx):
            raise HTTPNotFound()
        return tx

    def _form(self, tx: Transaction, errors: dict[str, str] | None = None, note: str = "",
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"tx": tx, "errors": errors or {}, "note": note,
                "max_note_chars": MAX_NOTE_CHARS}

    @view_config(route_name="report_fraud", renderer="report_fraud.jinja2",
                 request_method="GET")
    def confirm(self) -> dict[str, Any] | Response:
        tx = self._transfer()
        reported = self.reports.of_transaction(tx.id)
        if reported is not None and reported[0].status in ("open", "investigating"):
            return HTTPSeeOther(ticket_url(self.request, reported[0].public_id))
        return self._form(tx)

    @view_config(route_name="report_fraud", renderer="report_fraud.jinja2",
                 request_method="POST")
    def report(self) -> dict[str, Any] | Response:
        tx = self._transfer()
        note = field(self.request, "note", max_chars=MAX_NOTE_CHARS + 1)
        try:
            made = self.reports.report(self.user, tx.id, note)
        except TicketAlreadyOpen as exc:
            return HTTPSeeOther(ticket_url(self.request, exc.public_id))
        except TicketTransactionNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._form(tx, exc.errors, note, status=422)
        held = made.hold.held_paise
        self.request.session.flash(
            f"Fraud reported. {format_paise(held)} is on hold in the recipient's "
            "wallet while we look into it." if held else
            "Fraud reported. The money had already been spent: we are looking into it.")
        return HTTPSeeOther(ticket_url(self.request, made.ticket.public_id))

    def _page(self, errors: dict[str, str] | None = None, text: str = "",
              status: int = 200) -> dict[str, Any]:
        try:
            view = self.reports.for_recipient(self.user, self.request.matchdict["id"])
        except FraudReportNotFound:
            raise HTTPNotFound() from None
        self.request.response.status = status
        return {"view": view, "errors": errors or {}, "text": text,
                "max_chars": MAX_RESPONSE_CHARS}

    @view_config(route_name="fraud_report", renderer="fraud_report.jinja2",
                 request_method="GET")
    def recipient_page(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="fraud_report", renderer="fraud_report.jinja2",
                 request_method="POST")
    def respond(self) -> dict[str, Any] | Response:
        text = field(self.request, "text", max_chars=MAX_RESPONSE_CHARS + 1)
        try:
            self.reports.respond(self.user, self.request.matchdict["id"], text)
        except FraudReportNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._page(exc.errors, text,
                              status=409 if exc.code == "fraud_hold_decided" else 422)
        self.request.session.flash("Thank you: your answer is with the reviewer.")
        return HTTPSeeOther(self.request.route_url("fraud_report",
                                                   id=self.request.matchdict["id"]))
