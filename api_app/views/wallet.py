from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import Kind
from wallet.core.errors import WalletError
from wallet.identity.errors import PinRefused
from wallet.money.activity import ActivityFilter
from wallet.money.statement_files import statement_csv, statement_filename, statement_pdf
from webcommon.views import view_config

from .. import render
from ..errors import wallet_refused
from ..problems import problem
from ..validation import json_body
from .money import held_transfer


@view_config(route_name="me", request_method="GET", openapi=True, renderer="json",
             permission="user")
def me(request: Request) -> Any:
    user = request.identity
    return render.me(user, request.services.activity.balance(user))


@view_config(route_name="pin", request_method="POST", openapi=True, permission="user")
def set_pin(request: Request) -> Response:
    """The first PIN (``pin``), or a new one given the old (``old_pin``). A
    wrong old PIN is answered, not raised, so that its try counts."""
    body = json_body(request)
    pins = request.services.pins
    user = request.identity
    old = body.get("old_pin")
    try:
        if old is None:
            if pins.has_pin(user):
                return problem("pin_already_set", "You already have a PIN: send old_pin to "
                               "change it.")
            pins.set_first(user, body["pin"], body["pin"])
        else:
            pins.change(user, old, body["pin"], body["pin"])
    except PinRefused as exc:
        return wallet_refused(exc, request)
    return Response(status=204)


@view_config(route_name="banks", request_method="GET", openapi=True, renderer="json",
             permission="user")
def banks(request: Request) -> Any:
    return {"items": [render.bank(bank) for bank in request.services.banks.values()]}


def _day(request: Request, name: str) -> dt.date | None:
    text = request.params.get(name)
    return dt.date.fromisoformat(text) if text else None


@view_config(route_name="transactions", request_method="GET", openapi=True, renderer="json",
             permission="user")
def transactions(request: Request) -> Any:
    params = request.params
    only = ActivityFilter(kind=params.get("kind"), status=params.get("status"),
                          first_day=_day(request, "from"), last_day=_day(request, "to"))
    if only.first_day and only.last_day and only.first_day > only.last_day:
        return problem("validation_error", "from must not be after to.",
                       errors=[{"field": "from", "message": "from must not be after to."}],
                       status=400)
    page = request.services.activity.page(
        request.identity, cursor=params.get("cursor"), limit=int(params.get("limit", 20)),
        only=only)
    return {"items": [render.activity(item) for item in page.items],
            "next_cursor": page.next_cursor}


@view_config(route_name="transaction", request_method="GET", openapi=True, renderer="json",
             permission="user")
def transaction(request: Request) -> Any:
    item = request.services.activity.transaction_for(request.identity,
                                                     int(request.matchdict["transaction_id"]))
    if item is None:  # someone else's, or no such id: the same answer
        raise HTTPNotFound()
    # What may be reported about it (POST /v1/tickets): no query, a table's look-up.
    categories = request.services.tickets.categories_for(request.identity, item.transaction)
    answer = (held_transfer(request, item.transaction)  # (while held: when it lands)
              if item.transaction.kind == Kind.TRANSFER else render.activity(item))
    # The payer's signed receipt (wallet.money.receipts): made from the row (a query only
    # for a store other than the shop's first).
    receipt = (request.services.receipts.for_transaction(item.transaction)
               if item.direction == "out" else None)
    return {**answer, "ticket_categories": list(categories),
            "receipt": render.receipt(receipt)}


#: Media types of a statement, by the ``format`` parameter's value.
STATEMENT_TYPES = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


def _statement_format(request: Request) -> str:
    """``format`` if given, else what ``Accept`` prefers (JSON when it names none of ours)."""
    chosen = request.params.get("format")
    if chosen:
        return str(chosen)
    offers = request.accept.acceptable_offers(list(STATEMENT_TYPES.values()))
    by_type = {media: name for name, media in STATEMENT_TYPES.items()}
    return by_type[offers[0][0]] if offers else "json"


@view_config(route_name="statement", request_method="GET", openapi=True, renderer="json",
             permission="user")
def statement(request: Request) -> Any:
    statements = request.services.statements
    try:
        month = statements.parse_month(request.matchdict["month"])
    except WalletError as exc:
        return problem("validation_error", str(exc),
                       errors=[{"field": "month", "message": str(exc)}], status=400)
    value = statements.for_month(request.identity, month)
    chosen = _statement_format(request)
    if chosen == "json":
        return render.statement(value)
    body = (statement_csv(value) if chosen == "csv"
            else statement_pdf(value, generated_at=statements.now()))
    response = Response(body=body, content_type=STATEMENT_TYPES[chosen])
    if chosen == "csv":
        response.charset = "utf-8"
    response.content_disposition = (
        f'attachment; filename="{statement_filename(value, chosen)}"')
    return response
