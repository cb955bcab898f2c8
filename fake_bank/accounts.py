"""Whose account is this? The fake bank's account-holder look-up, in both
dialects (the wallet shows the name back before a user saves an account):

    GET /<bank>/api/accounts/<number>?ifsc=I            standard: {"name": ...}; 404: none
    GET /<bank>/api/v2/beneficiaries/<number>?ifsc=I    Ledgerline: {"beneficiary": {...}}

A demo customer's account answers their name; account numbers starting with
0000 do not exist (404, as for payouts); any other answers a name derived
from the number (the same every time). The knobs apply: latency, failures
(503) and, for a test, ``X-Fake-Bank-Fail``.
"""
from __future__ import annotations

import hashlib
import re

from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import select

from .dialects import LEDGERLINE, STANDARD
from .models import Customer
from .views import JsonAnswer, authorised, bank_or_404, behaviour_of, session, view_config

_NUMBER = re.compile(r"[0-9]{9,18}", re.ASCII)
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}", re.ASCII)
#: Names for accounts that are not demo customers', chosen by the number.
NAMES = ("Priya Sharma", "Arjun Nair", "Kavita Rao", "Suresh Patel", "Neha Gupta",
         "Vikram Singh", "Lakshmi Menon", "Rahul Das")


def holder_of(request: Request, code: str, number: str) -> str | None:
    """The name on account ``number`` at bank ``code``; None: no such account."""
    if number.startswith("0000"):
        return None
    with session(request) as db:
        name = db.scalar(select(Customer.name).where(Customer.bank_code == code,
                                                     Customer.account_number == number))
    if name is not None:
        return name
    return NAMES[int(hashlib.sha256(number.encode()).hexdigest(), 16) % len(NAMES)]


def _problem(status: int, dialect: str, code: str, message: str) -> Response:
    body: object = ({"error": {"code": code, "message": message}} if dialect == LEDGERLINE
                    else {"error": message})
    return Response(json=body, status=status)


def look_up(request: Request, dialect: str) -> tuple[str, str, str | None] | Response:
    """The bank, the number and its holder (None: none), or the refusal."""
    code = bank_or_404(request, dialect)
    if not authorised(request, code):
        return _problem(401, dialect, "UNAUTHORIZED", "unauthorised")
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    behaviour.wait(knobs)
    if knobs.fail_now:
        return _problem(503, dialect, "SERVICE_UNAVAILABLE", "try again later")
    number, ifsc = request.matchdict["number"], request.GET.get("ifsc", "")
    if not _NUMBER.fullmatch(number) or not _IFSC.fullmatch(ifsc):
        return _problem(400, dialect, "INVALID_REQUEST", "a 9-18 digit number and an IFSC")
    return number, ifsc, holder_of(request, code, number)


@view_config(route_name="account_holder", request_method="GET", renderer="json")
def account_holder(request: Request) -> JsonAnswer:
    found = look_up(request, STANDARD)
    if isinstance(found, Response):
        return found
    number, ifsc, name = found
    if name is None:
        return _problem(404, STANDARD, "NOT_FOUND", "no such account")
    return {"account_number": number, "ifsc": ifsc, "name": name}


@view_config(route_name="ll_beneficiary", request_method="GET", renderer="json")
def beneficiary(request: Request) -> JsonAnswer:
    found = look_up(request, LEDGERLINE)
    if isinstance(found, Response):
        return found
    number, ifsc, name = found
    if name is None:
        return _problem(404, LEDGERLINE, "NOT_FOUND", "no account with that number")
    return {"beneficiary": {"accountNumber": number, "ifsc": ifsc, "accountHolderName": name}}
