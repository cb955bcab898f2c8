"""The fake bank's payout API in the standard dialect: POST /<bank>/api/payouts,
GET /<bank>/api/payouts/<reference> (Ledgerline's: fake_bank.ledgerline_api).

Idempotent by reference: asking twice pays once. Account numbers starting with
0000 do not exist (rejected); ones ending in 9999 belong to closed accounts
(accepted, then reversed a little later, with a payout.reversed webhook).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .behaviour import Knobs
from .dialects import STANDARD, payout_event
from .models import ApiCall, Payment, Payout
from .sender import utcnow
from .views import (
    JsonAnswer,
    authorised,
    bank_or_404,
    behaviour_of,
    dialect_of,
    queue_delivery,
    session,
    unauthorised,
    view_config,
)

#: The statement's day is a day in India.
STATEMENT_ZONE = ZoneInfo("Asia/Kolkata")
StatementLine = tuple[str, str, int, dt.datetime | None]  # type, reference, amount, at


def log_call(request: Request, code: str, kind: str, reference: str, account: str = "") -> int:
    with session(request) as db, db.begin():
        call = ApiCall(bank_code=code, kind=kind, reference=reference[:64],
                       account_number=account[:18], started_at=utcnow())
        db.add(call)
        db.flush()
        return call.id


def finish_call(request: Request, call_id: int, result: str) -> None:
    with session(request) as db, db.begin():
        call = db.get_one(ApiCall, call_id)
        call.finished_at, call.result = utcnow(), result


@dataclass(frozen=True)
class PayoutAsked:
    """A payout request, whatever the dialect it came in."""

    reference: str
    amount_paise: int
    account: str
    ifsc: str


@dataclass(frozen=True)
class Failure:
    """A payout call that decided nothing (or whose answer is lost)."""

    status: int
    code: str
    message: str


@view_config(route_name="payouts", request_method="POST", renderer="json")
def create_payout(request: Request) -> JsonAnswer:
    code = bank_or_404(request, STANDARD)
    if not authorised(request, code):
        return unauthorised(request)
    try:
        body = json.loads(request.body)
        asked = PayoutAsked(str(body["reference"]), int(body["amount_paise"]),
                            str(body["account_number"]), str(body["ifsc"]))
    except (ValueError, KeyError, TypeError):
        request.response.status = 400
        return {"status": "rejected", "reason": "malformed request"}
    payout = pay_out(request, code, asked)
    if isinstance(payout, Failure):
        body = ({"status": "rejected", "reason": payout.message} if payout.status == 409
                else {"error": payout.message})
        return Response(json=body, status=payout.status)
    if payout.status == "rejected":
        request.response.status = 422
    return {"reference": payout.reference, "status": payout.status, "reason": payout.reason,
            "amount_paise": payout.amount_paise}


def pay_out(request: Request, code: str, asked: PayoutAsked) -> Payout | Failure:
    """Make (or find: the reference is the idempotency key) a payout, with the
    knobs' misbehaviour; the payout as decided, or the failure to answer."""
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    call_id = log_call(request, code, "payout", asked.reference, asked.account)
    behaviour.wait(knobs)
    if knobs.fail_now:  # nothing happened at all
        finish_call(request, call_id, "503")
        return Failure(503, "SERVICE_UNAVAILABLE", "service unavailable")

    with session(request) as db, db.begin():
        payout = db.scalar(select(Payout).where(Payout.bank_code == code,
                                                Payout.reference == asked.reference))
        if payout is None:
            payout = new_payout(code, asked, lambda: behaviour.chance(knobs.reverse_rate),
                                knobs.reverse_after_s)
            db.add(payout)
            db.flush()
            queue_payout_event(db, payout, dialect_of(request, code), knobs)
        elif payout.amount_paise != asked.amount_paise:
            # In this transaction: another one (finish_call) would wait on it.
            call = db.get_one(ApiCall, call_id)
            call.finished_at, call.result = utcnow(), "409"
            return Failure(409, "DUPLICATE_REFERENCE", "reference reused")
        call = db.get_one(ApiCall, call_id)
        call.decided_at = utcnow()
        slow, lost = behaviour.chance(knobs.timeout_rate), behaviour.chance(knobs.reply_lost_rate)
        if not (slow or lost):  # answered at once: one write for the decision and the reply
            call.finished_at, call.result = call.decided_at, payout.status

    if slow:
        time.sleep(knobs.timeout_s)  # the payout is made; the caller gives up waiting
    if lost:
        finish_call(request, call_id, "reply_lost")
        return Failure(502, "BAD_GATEWAY", "upstream connection reset")
    if slow:
        finish_call(request, call_id, payout.status)
    return payout


def new_payout(code: str, asked: PayoutAsked, reverse: Callable[[], bool],
               reverse_after_s: float) -> Payout:
    """Account numbers starting 0000 (or a malformed IFSC) do not exist;
    ones ending 9999 are closed: paid, then returned (as are some others, by
    the knob ``reverse_rate``: ``reverse()``)."""
    payout = Payout(bank_code=code, reference=asked.reference, amount_paise=asked.amount_paise,
                    account_number=asked.account, ifsc=asked.ifsc, created_at=utcnow())
    if asked.account.startswith("0000") or not re.fullmatch(r"[A-Z]{4}0[A-Z0-9]{6}",
                                                             asked.ifsc):
        payout.status, payout.reason = "rejected", "beneficiary account does not exist"
    else:
        payout.status = "accepted"
        if asked.account.endswith("9999") or reverse():
            payout.reverse_at = utcnow() + dt.timedelta(seconds=reverse_after_s)
    return payout


def queue_payout_event(db: Session, payout: Payout, dialect: str,
                       knobs: Knobs | None = None) -> None:
    """The webhook telling the wallet what became of a payout, if the dialect tells."""
    body = payout_event(dialect, payout)
    if body is not None:
        queue_delivery(db, payout.bank_code, body, knobs)


@view_config(route_name="payout_status", request_method="GET", renderer="json")
def payout_status(request: Request) -> JsonAnswer:
    code = bank_or_404(request, STANDARD)
    if not authorised(request, code):
        return unauthorised(request)
    reference: str = request.matchdict["reference"]
    payout = find_payout(request, code, reference)
    if isinstance(payout, Failure):
        return Response(json={"error": payout.message}, status=payout.status)
    if payout is None:
        request.response.status = 404
        return {"reference": reference, "status": "unknown"}
    return {"reference": reference, "status": payout.status, "reason": payout.reason,
            "amount_paise": payout.amount_paise}


def find_payout(request: Request, code: str, reference: str) -> Payout | None | Failure:
    """The payout with this reference (None: none), as the status API sees it."""
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    call_id = log_call(request, code, "payout_status", reference)
    behaviour.wait(knobs)
    if knobs.fail_now:
        finish_call(request, call_id, "503")
        return Failure(503, "SERVICE_UNAVAILABLE", "service unavailable")
    with session(request) as db:
        payout = db.scalar(select(Payout).where(Payout.bank_code == code,
                                                Payout.reference == reference))
    # (the session is closed first: SQLite allows one writer at a time)
    finish_call(request, call_id, payout.status if payout else "404")
    return payout


@view_config(route_name="control_knobs", request_method="POST", renderer="json")
def control_knobs(request: Request) -> dict[str, Any]:
    """Test-only: change the misbehaviour knobs of a running bank."""
    behaviour = behaviour_of(request)
    if not behaviour.allow_overrides:
        request.response.status = 404
        return {"error": "not found"}
    try:
        knobs = behaviour.update(json.loads(request.body))
    except (ValueError, TypeError) as exc:
        request.response.status = 400
        return {"error": str(exc)}
    return vars(knobs)


def reverse_due(session_factory: sessionmaker[Session],
                dialects: Mapping[str, str] | None = None) -> int:
    """Reverse accepted payouts whose time has come, and queue the webhook
    (in each bank's dialect)."""
    now = utcnow()
    with session_factory() as db, db.begin():
        due = db.scalars(select(Payout).where(Payout.status == "accepted",
                                              Payout.reverse_at <= now)).all()
        for payout in due:
            payout.status, payout.reversed_at = "reversed", now
            payout.reason = "beneficiary account closed"
            queue_payout_event(db, payout, (dialects or {}).get(payout.bank_code, STANDARD))
        return len(due)


@view_config(route_name="statement", request_method="GET", renderer="json")
def statement(request: Request) -> dict[str, Any]:
    """GET /<bank>/api/statement?date=YYYY-MM-DD: the wallet company's account
    movements on that day (India time), for reconciliation."""
    code = bank_or_404(request, STANDARD)
    if not authorised(request, code):
        return unauthorised(request)
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        request.response.status = 400
        return {"error": "date must be YYYY-MM-DD"}
    start = dt.datetime.combine(day, dt.time(), STATEMENT_ZONE)
    with session(request) as db:
        lines = statement_lines(db, code, start, start + dt.timedelta(days=1))
    # (every line has its time: the queries select on it)
    timed = [(t, r, a, at) for t, r, a, at in lines if at is not None]
    timed.sort(key=lambda line: line[3])
    return {"date": day.isoformat(), "entries": [
        {"type": t, "reference": r, "amount_paise": a, "at": at.isoformat()}
        for t, r, a, at in timed]}


def statement_lines(db: Session, code: str, start: dt.datetime,
                    end: dt.datetime) -> list[StatementLine]:
    """The bank's account movements in [start, end), unsorted."""
    lines: list[StatementLine] = []
    for payment in db.scalars(select(Payment).where(
            Payment.bank_code == code, Payment.status == "approved",
            Payment.decided_at >= start, Payment.decided_at < end)):
        lines.append(("payment", payment.reference, payment.amount_paise, payment.decided_at))
    for payout in db.scalars(select(Payout).where(
            Payout.bank_code == code, Payout.status.in_(("accepted", "reversed")),
            Payout.created_at >= start, Payout.created_at < end)):
        lines.append(("payout", payout.reference, payout.amount_paise, payout.created_at))
    for payout in db.scalars(select(Payout).where(
            Payout.bank_code == code, Payout.reversed_at >= start, Payout.reversed_at < end)):
        lines.append(("payout_reversal", payout.reference, payout.amount_paise,
                      payout.reversed_at))
    return lines
