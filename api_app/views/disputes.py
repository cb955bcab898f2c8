"""Disputes of shop payments, for shops' servers (permission ``merchant``):
list and read the shop's disputes, accept one (the customer is refunded from
the hold) or contest it with evidence (an operator decides). Accepting and
contesting go through the money-request runner (the shop's rate limit, its
Idempotency-Keys: a retry gets the first answer)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant
from wallet.merchants.models import Dispute
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_money_request
from ..security import caller_livemode


def shown(request: Request, dispute: Dispute) -> Json:
    request_id, store = request_services(request).disputes.payment_links(dispute)
    return render.dispute(dispute, payment_request_id=request_id, store=store)


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def _found(request: Request) -> Dispute:
    """The shop's dispute named by the path (another shop's is not found)."""
    return request_services(request).disputes.of_merchant(
        _shop(request), request.matchdict["dispute_id"], livemode=caller_livemode(request))


@view_config(route_name="disputes", request_method="GET", openapi=True, renderer="json",
             permission="merchant")
def list_disputes(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    rows, next_cursor = request_services(request).disputes.page(
        _shop(request), status=params.get("status"),
        cursor=int(cursor) if cursor else None, limit=int(params.get("limit", 20)),
        livemode=caller_livemode(request))
    return {"items": [shown(request, row) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="dispute", request_method="GET", openapi=True, renderer="json",
             permission="merchant")
def get_dispute(request: Request) -> Any:
    return shown(request, _found(request))


@view_config(route_name="dispute_accept", request_method="POST", openapi=True,
             permission="merchant")
def accept_dispute(request: Request) -> Response:
    dispute = _found(request)  # (another shop's: 404 before any key is stored)

    def operation(key: str, body: Json) -> tuple[int, Json]:
        done = request_services(request).disputes.accept(_shop(request), dispute.public_id)
        return 200, shown(request, done)

    return run_money_request(request, operation)


@view_config(route_name="dispute_contest", request_method="POST", openapi=True,
             permission="merchant")
def contest_dispute(request: Request) -> Response:
    dispute = _found(request)

    def operation(key: str, body: Json) -> tuple[int, Json]:
        done = request_services(request).disputes.contest(_shop(request), dispute.public_id,
                                                          body.get("evidence", ""))
        return 200, shown(request, done)

    return run_money_request(request, operation)
