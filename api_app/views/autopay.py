"""AutoPay mandates, the customer's side (a user's token), as on the user
app's pages (webapp.views.mandates): their mandates listed with their open
debits, one read, a shop's mandate request approved with the PIN, a mandate
paused, resumed or revoked (each safe to repeat), and a debit above the PIN
cap paid with the PIN (its confirm step: MandateDebits.quote) or declined.
Every rule is the domain's (wallet.merchants.mandates, mandate_debits). The
PIN requests take an ``Idempotency-Key`` (api_app.money); a debit pays once
whatever the key (its ledger key is the debit's): paying it again, with
another key, answers the payment made."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import User
from wallet.merchants.mandate_debits import MandateDebits
from wallet.merchants.mandates import Mandates, MandateView
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_money_request


def _user(request: Request) -> User:
    user: User = request.identity
    return user


def _mandates(request: Request) -> Mandates:
    mandates: Mandates = request_services(request).mandates
    return mandates


def _debits(request: Request) -> MandateDebits:
    debits: MandateDebits = request_services(request).mandate_debits
    return debits


def _shown(request: Request, views: list[MandateView]) -> list[Json]:
    open_debits = _debits(request).open_of([view.mandate for view in views])
    return [render.autopay_mandate(view.mandate, view.merchant, open_debits[view.mandate.id])
            for view in views]


def _one(request: Request) -> Json:
    """The mandate named by the path, as the customer sees it now."""
    view = _mandates(request).seen_by(_user(request), request.matchdict["mandate_id"])
    return _shown(request, [view])[0]


@view_config(route_name="autopay", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_mandates(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    views, next_cursor = _mandates(request).customer_page(
        _user(request), status=params.get("status"), cursor=int(cursor) if cursor else None,
        limit=int(params.get("limit", 20)))
    return {"items": _shown(request, views),
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="autopay_mandate", request_method="GET", openapi=True,
             renderer="json", permission="user")
def get_mandate(request: Request) -> Any:
    return _one(request)


@view_config(route_name="autopay_approve", request_method="POST", openapi=True,
             permission="user")
def approve(request: Request) -> Response:
    """A shop's mandate request approved with the PIN (its try counted, as on
    the mandate page); approving it again returns it, approved once."""
    public_id = request.matchdict["mandate_id"]
    _mandates(request).seen_by(_user(request), public_id)  # (another's: 404)

    def operation(key: str, body: Json) -> tuple[int, Json]:
        _mandates(request).approve(_user(request), public_id, pin=body["pin"])
        return 200, _one(request)

    return run_money_request(request, operation)


def _change(request: Request, action: str) -> Any:
    mandates = _mandates(request)
    getattr(mandates, action)(_user(request), request.matchdict["mandate_id"])
    return _one(request)


@view_config(route_name="autopay_pause", request_method="POST", openapi=True,
             renderer="json", permission="user")
def pause(request: Request) -> Any:
    return _change(request, "pause")


@view_config(route_name="autopay_resume", request_method="POST", openapi=True,
             renderer="json", permission="user")
def resume(request: Request) -> Any:
    return _change(request, "resume")


@view_config(route_name="autopay_revoke", request_method="POST", openapi=True,
             renderer="json", permission="user")
def revoke(request: Request) -> Any:
    return _change(request, "revoke")


@view_config(route_name="autopay_debit_pay", request_method="POST", openapi=True,
             permission="user")
def pay_debit(request: Request) -> Response:
    """A debit waiting for the PIN, paid through its confirm step."""
    public_id = request.matchdict["debit_id"]

    def operation(key: str, body: Json) -> tuple[int, Json]:
        user = _user(request)
        quote = _debits(request).quote(user, public_id)
        # (no preview: the runner checked the key; confirm checks the debit
        # under its lock and, paid already, returns it: paid once)
        debit = quote.confirm(body["pin"], key)
        assert debit.transaction_id is not None  # (succeeded, or it raised)
        item = request_services(request).activity.transaction_for(user, debit.transaction_id)
        return 201, {"debit": render.autopay_debit(debit, mandate_id=quote.mandate.public_id),
                     "transaction": None if item is None else render.activity(item)}

    return run_money_request(request, operation)


@view_config(route_name="autopay_debit_decline", request_method="POST", openapi=True,
             renderer="json", permission="user")
def decline_debit(request: Request) -> Any:
    user = _user(request)
    debit = _debits(request).decline(user, request.matchdict["debit_id"])
    _, mandate = _debits(request).of_customer(user, debit.public_id)
    return render.autopay_debit(debit, mandate_id=mandate.public_id)
