"""The fake bank's API in the Ledgerline dialect, for a bank whose
``banks.<code>.protocol`` is ledgerline (docs/webhooks.md):

    POST /<bank>/api/v2/transfers                      pay out
    GET  /<bank>/api/v2/transfers?clientReference=R    find a payout
    GET  /<bank>/api/v2/collections/<R>                a payment to the wallet
    GET  /<bank>/api/v2/statements/<YYYY-MM-DD>        the wallet's account that day

``X-Api-Key: <key>`` on each; amounts are decimal strings. The payouts
themselves are the standard dialect's (fake_bank.payouts): the same rules,
knobs and idempotency, in other words.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import select

from .dialects import LEDGERLINE, collection, rupees, transfer
from .models import Payment
from .payouts import (
    STATEMENT_ZONE,
    Failure,
    PayoutAsked,
    find_payout,
    pay_out,
    statement_lines,
)
from .views import JsonAnswer, authorised, bank_or_404, behaviour_of, session, view_config

_RUPEES = re.compile(r"(0|[1-9][0-9]{0,12})\.([0-9]{2})")
CATEGORIES = {"payment": "COLLECTION", "payout": "TRANSFER", "payout_reversal": "TRANSFER_RETURN"}


def error(status: int, code: str, message: str) -> Response:
    return Response(json={"error": {"code": code, "message": message}}, status=status)


def ledgerline_bank(request: Request) -> str | Response:
    """The bank of the URL, if it speaks Ledgerline and the key is its own."""
    code = bank_or_404(request, LEDGERLINE)
    if not authorised(request, code):
        return error(401, "UNAUTHORIZED", "X-Api-Key is missing or wrong")
    return code


def transfer_asked(body: Any) -> PayoutAsked:
    """A transfer request, read as strictly as a bank would (ValueError if not)."""
    money, beneficiary = body["amount"], body["beneficiary"]
    match = _RUPEES.fullmatch(money["value"])
    if match is None or money["currency"] != "INR":
        raise ValueError("amount must be INR with exactly two decimals")
    return PayoutAsked(str(body["clientReference"]), int(match[1]) * 100 + int(match[2]),
                       str(beneficiary["accountNumber"]), str(beneficiary["ifsc"]))


@view_config(route_name="ll_transfers", request_method="POST", renderer="json")
def create_transfer(request: Request) -> JsonAnswer:
    code = ledgerline_bank(request)
    if isinstance(code, Response):
        return code
    try:
        asked = transfer_asked(json.loads(request.body))
    except (ValueError, KeyError, TypeError):
        return error(400, "INVALID_REQUEST", "clientReference, amount and beneficiary")
    payout = pay_out(request, code, asked)
    if isinstance(payout, Failure):
        return error(payout.status, payout.code, payout.message)
    return {"transfer": transfer(payout)}  # declined too: its status says so


@view_config(route_name="ll_transfers", request_method="GET", renderer="json")
def find_transfers(request: Request) -> JsonAnswer:
    code = ledgerline_bank(request)
    if isinstance(code, Response):
        return code
    reference = request.GET.get("clientReference", "")
    if not reference:
        return error(400, "INVALID_REQUEST", "clientReference is required")
    payout = find_payout(request, code, reference)
    if isinstance(payout, Failure):
        return error(payout.status, payout.code, payout.message)
    return {"transfers": [] if payout is None else [transfer(payout)]}


@view_config(route_name="ll_collection", request_method="GET", renderer="json")
def find_collection(request: Request) -> JsonAnswer:
    code = ledgerline_bank(request)
    if isinstance(code, Response):
        return code
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    behaviour.wait(knobs)
    if knobs.fail_now:
        return error(503, "SERVICE_UNAVAILABLE", "try again later")
    with session(request) as db:
        payment = db.scalar(select(Payment).where(
            Payment.bank_code == code, Payment.reference == request.matchdict["reference"]))
        if payment is None:
            return error(404, "NOT_FOUND", "no collection with that clientReference")
        return {"collection": collection(payment)}


@view_config(route_name="ll_statement", request_method="GET", renderer="json")
def statement(request: Request) -> JsonAnswer:
    code = ledgerline_bank(request)
    if isinstance(code, Response):
        return code
    try:
        day = dt.date.fromisoformat(request.matchdict["date"])
    except ValueError:
        return error(400, "INVALID_REQUEST", "the date is YYYY-MM-DD")
    start = dt.datetime.combine(day, dt.time(), STATEMENT_ZONE)
    with session(request) as db:
        lines = statement_lines(db, code, start, start + dt.timedelta(days=1))
    timed = sorted(((t, r, a, at) for t, r, a, at in lines if at is not None),
                   key=lambda line: line[3])
    return {"statement": {"date": day.isoformat(), "lines": [
        {"category": CATEGORIES[t], "clientReference": r, "amount": rupees(a),
         "bookedAt": at.isoformat()} for t, r, a, at in timed]}}
