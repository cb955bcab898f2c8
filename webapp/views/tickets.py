"""Tickets' pages: report a problem with one of your transactions (the
categories it allows, a note), one ticket with its timeline, your tickets.
The rules -- who may report what, one live ticket per transaction, the
deadlines -- are the domain's (wallet.care.tickets)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.care.errors import TicketAlreadyOpen, TicketNotFound
from wallet.care.tickets import CATEGORY_LABELS, MAX_NOTE_CHARS, Tickets
from wallet.core.codes import TicketStatus, is_request_key
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.money.activity import ActivityItem, describe
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field, made_once, new_request_key

#: Who wrote a line of the timeline, as the user reads it (by ``actor``).
WHO: Mapping[str, str] = {"user": "You", "system": "Wallet checks", "operator": "Support",
                          "shop": "Shop", "counterparty": "Other party"}
#: A ticket's status as its badge reads.
STATUS_BADGES: Mapping[str, str] = {
    TicketStatus.OPEN: "Open", TicketStatus.INVESTIGATING: "Being looked into",
    TicketStatus.RESOLVED: "Resolved", TicketStatus.REJECTED: "Closed, no change"}
#: The note as read from the form: more than the domain keeps, so that it
#: refuses an overlong note rather than storing it cut short.
NOTE_READ_CHARS = 4 * MAX_NOTE_CHARS + 1


def page_words() -> dict[str, Any]:
    """What every ticket page's template reads besides its own data."""
    return {"who": WHO, "badges": STATUS_BADGES, "labels": CATEGORY_LABELS,
            "live_statuses": TicketStatus.LIVE, "max_note": MAX_NOTE_CHARS}


@view_defaults(permission="authenticated")
class TicketViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.tickets: Tickets = request_services(request).tickets

    # ------------------------------------------------------------ the report

    def _item(self) -> ActivityItem:
        item = request_services(self.request).activity.transaction_for(
            self.user, int(self.request.matchdict["id"]))
        if item is None:  # someone else's, or no such id: the same answer
            raise HTTPNotFound()
        return item

    def _form(self, item: ActivityItem, *, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, live: str | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.override_renderer = "ticket_report.jinja2"
        categories = self.tickets.categories_for(self.user, item.transaction)
        if live is None:
            found = self.tickets.live_for_transaction(self.user.id, item.transaction.id)
            live = None if found is None else found.public_id
        if status == 200 and (live or not categories):
            status = 409  # nothing to fill in: a live ticket already, or no category
        self.request.response.status = status
        token = field(self.request, "request_key")  # kept when the form comes back
        return {**page_words(), "item": item, "categories": categories, "live": live,
                "errors": errors or {}, "values": values or {},
                "request_key": token if is_request_key(token) else new_request_key()}

    @view_config(route_name="ticket_report", renderer="ticket_report.jinja2",
                 request_method="GET")
    def report_form(self) -> dict[str, Any]:
        return self._form(self._item())

    @view_config(route_name="ticket_report", renderer="ticket_report.jinja2",
                 request_method="POST")
    def report(self) -> dict[str, Any] | Response:
        item = self._item()
        values = {"transaction": str(item.transaction.id),
                  "category": field(self.request, "category"),
                  "note": field(self.request, "note", max_chars=NOTE_READ_CHARS)}
        try:
            made = made_once(self.request, "ticket", values, lambda: self.tickets.raise_ticket(
                self.user, item.transaction.id, values["category"], values["note"]).public_id)
        except TicketAlreadyOpen as exc:
            return self._form(item, values=values, live=exc.public_id, status=409)
        except WalletError as exc:  # every field's problem, the form kept
            return self._form(item, errors=exc.errors, values=values, status=400)
        self.request.session.flash("Thank you: we have your report.")
        return HTTPSeeOther(self.request.route_url("ticket", id=made))

    # ------------------------------------------------------ tickets, one ticket

    @view_config(route_name="ticket", renderer="ticket.jinja2", request_method="GET")
    def show(self) -> dict[str, Any]:
        try:
            shown = self.tickets.view(self.user, self.request.matchdict["id"])
        except TicketNotFound:  # someone else's, or no such id: the same answer
            raise HTTPNotFound() from None
        return {**page_words(), "view": shown, "item": describe(self.user, shown.transaction),
                "overdue": shown.ticket.status in TicketStatus.LIVE
                and shown.ticket.due_at <= self.tickets.clock()}

    @view_config(route_name="tickets", renderer="tickets.jinja2", request_method="GET")
    def listing(self) -> dict[str, Any]:
        return {**page_words(), "tickets": self.tickets.list_for(self.user, limit=50)}
