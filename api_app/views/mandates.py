"""AutoPay mandates, for shops' servers (permission ``merchant``): create a
mandate request (the customer approves it at ``approval_url``), list and read
them, present a debit within one (executed after the customer's pre-debit
notice), list its debits. Creating and presenting go through the
money-request runner (the shop's rate limit, its Idempotency-Keys)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant
from wallet.merchants.mandate_rules import NewMandate
from wallet.merchants.models import Mandate
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_money_request, strict_int
from ..problems import validation_error
from ..security import caller_livemode
from ..validation import json_body

#: The user app's mandate page, where the customer approves with the PIN.
APPROVAL_PATH = "/mandates/{id}"


#: A test mandate's page: "Simulate approval", no sign-in, no PIN.
TEST_APPROVAL_PATH = "/test/mandates/{id}"


def approval_url(request: Request, public_id: str, *, livemode: bool = True) -> str:
    path = APPROVAL_PATH if livemode else TEST_APPROVAL_PATH
    return request_services(request).settings.user_app_url + path.format(id=public_id)


def shown(request: Request, mandate: Mandate) -> Json:
    return render.mandate(mandate, approval_url=approval_url(request, mandate.public_id,
                                                             livemode=mandate.livemode))


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def _found(request: Request) -> Mandate:
    """The shop's mandate named by the path (another shop's is not found)."""
    return request_services(request).mandates.of_merchant(
        _shop(request), request.matchdict["mandate_id"], livemode=caller_livemode(request))


def _date(body: Json, name: str) -> dt.date | Response:
    value = body.get(name)
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        return validation_error(name, f"{name} must be a date like 2026-12-31.")


@view_config(route_name="mandates", request_method="POST", openapi=True, permission="merchant")
def create_mandate(request: Request) -> Response:
    body = json_body(request)
    amount = strict_int(body, "max_amount_paise")
    if isinstance(amount, Response):
        return amount
    start, end = _date(body, "start_date"), _date(body, "end_date")
    if isinstance(start, Response):
        return start
    if isinstance(end, Response):
        return end
    new = NewMandate(max_amount_paise=amount, frequency=body["frequency"], start_date=start,
                     end_date=end, description=body["description"])

    def operation(key: str, body: Json) -> tuple[int, Json]:
        made = request_services(request).mandates.create(_shop(request), new,
                                                         livemode=caller_livemode(request))
        return 201, shown(request, made)

    return run_money_request(request, operation)


@view_config(route_name="mandates", request_method="GET", openapi=True, renderer="json",
             permission="merchant")
def list_mandates(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    rows, next_cursor = request_services(request).mandates.page(
        _shop(request), status=params.get("status"),
        cursor=int(cursor) if cursor else None, limit=int(params.get("limit", 20)),
        livemode=caller_livemode(request))
    return {"items": [shown(request, row) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="mandate", request_method="GET", openapi=True, renderer="json",
             permission="merchant")
def get_mandate(request: Request) -> Any:
    return shown(request, _found(request))


@view_config(route_name="mandate_debits", request_method="POST", openapi=True,
             permission="merchant")
def present_debit(request: Request) -> Response:
    amount = strict_int(json_body(request), "amount_paise")
    if isinstance(amount, Response):
        return amount
    mandate = _found(request)

    def operation(key: str, body: Json) -> tuple[int, Json]:
        debit = request_services(request).mandate_debits.present(
            _shop(request), mandate.public_id, amount, livemode=mandate.livemode)
        return 201, render.mandate_debit(debit, mandate_id=mandate.public_id,
                                         livemode=mandate.livemode)

    return run_money_request(request, operation)


@view_config(route_name="mandate_debits", request_method="GET", openapi=True, renderer="json",
             permission="merchant")
def list_debits(request: Request) -> Any:
    mandate = _found(request)
    debits = request_services(request).mandate_debits.of_mandate(mandate)
    return {"items": [render.mandate_debit(debit, mandate_id=mandate.public_id,
                                           livemode=mandate.livemode) for debit in debits]}
