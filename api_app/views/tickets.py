"""Users' tickets (a user's token): report a problem with one of their
transactions, list them, read one with its timeline (wallet.care.tickets).

Raising a ticket makes something new, so it takes an ``Idempotency-Key`` as
asking for money does (api_app.money): a retry with the same key replays the
first answer. A retry with a new key while the first ticket is live is
refused by the one-live-ticket rule: 409 ``ticket_already_open``, naming the
first ticket in the problem's ``ticket`` member -- never a second ticket."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.care.errors import TicketAlreadyOpen
from wallet.care.tickets import TicketView
from wallet.core.errors import WalletError
from wallet.core.models import User
from webcommon import request_services
from webcommon.views import exception_view_config, view_config

from ..errors import FIELD_NAMES, wallet_refused
from ..money import Json, run_money_request, strict_int
from ..problems import PROBLEMS, problem
from ..render import moment
from ..validation import json_body

#: The domain's field names as the API's body names them.
_FIELDS = {**FIELD_NAMES, "transaction": "transaction_id"}


def _user(request: Request) -> User:
    user: User = request.identity
    return user


def ticket_json(shown: TicketView) -> Json:
    """A ticket as the OpenAPI document's ``Ticket`` says."""
    ticket = shown.ticket
    return {
        "id": ticket.public_id, "transaction_id": ticket.transaction_id,
        "category": ticket.category, "category_label": shown.category_label,
        "note": ticket.note, "status": ticket.status, "due_at": moment(ticket.due_at),
        "resolution": ticket.resolution, "created_at": moment(ticket.created_at),
        "closed_at": moment(ticket.closed_at),
        "timeline": [{"at": moment(line.created_at), "kind": line.kind, "actor": line.actor,
                      "text": line.text, "status": line.status} for line in shown.events],
    }


@view_config(route_name="tickets", request_method="POST", openapi=True, permission="user")
def raise_ticket(request: Request) -> Response:
    transaction_id = strict_int(json_body(request), "transaction_id")
    if isinstance(transaction_id, Response):
        return transaction_id

    def operation(key: str, body: Json) -> tuple[int, Json]:
        tickets, user = request_services(request).tickets, _user(request)
        made = tickets.raise_ticket(user, transaction_id, body.get("category"),
                                    body.get("note", ""))
        return 201, ticket_json(tickets.view_of(made))

    return run_money_request(request, operation)


@view_config(route_name="tickets", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_tickets(request: Request) -> Any:
    tickets, user = request_services(request).tickets, _user(request)
    found = tickets.list_for(user, limit=int(request.params.get("limit", 20)))
    return {"items": [ticket_json(tickets.view_of(ticket)) for ticket in found]}


@view_config(route_name="ticket", request_method="GET", openapi=True, renderer="json",
             permission="user")
def get_ticket(request: Request) -> Any:
    tickets = request_services(request).tickets
    return ticket_json(tickets.view(_user(request), request.matchdict["ticket_id"]))


@exception_view_config(context=WalletError, route_name="tickets")
def ticket_refused(exc: WalletError, request: Request) -> Response:
    """A report refused, with every field's problem at once (the domain checks
    them all) under the body's names; a live ticket already: its id in the
    problem's ``ticket`` member."""
    if exc.code not in PROBLEMS or getattr(exc, "retry_after_s", None) is not None:
        return wallet_refused(exc, request)
    errors = [{"field": _FIELDS.get(name, name), "message": message}
              for name, message in exc.errors.items() if name != "form"]
    answer = problem(exc.code, str(exc), errors=errors or None)
    if isinstance(exc, TicketAlreadyOpen):
        answer.json_body = {**answer.json_body, "ticket": exc.public_id}
    return answer
