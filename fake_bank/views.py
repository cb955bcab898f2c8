"""The fake bank's net-banking page and payment status API, and the helpers
its views share."""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias, TypeVar

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config as _untyped_view_config
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .behaviour import Behaviour, Knobs
from .dialects import LEDGERLINE, STANDARD, deposit_event
from .models import Customer, Delivery, Payment
from .sender import utcnow

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
#: What a JSON view answers: the body, or a ready Response (for a status and body of its own).
JsonAnswer: TypeAlias = "dict[str, Any] | Response"


class ViewConfig(Protocol):
    def __call__(self, **settings: Any) -> Callable[[ViewT], ViewT]: ...


#: pyramid's ``@view_config`` itself, given a type (pyramid ships no type hints).
view_config: ViewConfig = _untyped_view_config


def dialect_of(request: Request, code: str) -> str:
    dialect: str = request.registry["fb.dialects"][code]
    return dialect


def bank_or_404(request: Request, speaking: str | None = None) -> str:
    """The bank of the URL; 404 if there is none, or (``speaking``) if its API
    is in another dialect."""
    code: str = request.matchdict["bank"]
    if code not in request.registry["fb.api_keys"] or (
            speaking is not None and dialect_of(request, code) != speaking):
        raise HTTPNotFound()
    return code


def authorised(request: Request, code: str) -> bool:
    """The bank's API key, as ``Authorization: Bearer <key>`` (the standard
    dialect) or ``X-Api-Key: <key>`` (Ledgerline), compared in constant time."""
    key = request.registry["fb.api_keys"][code]
    if dialect_of(request, code) == LEDGERLINE:
        return hmac.compare_digest(request.headers.get("X-Api-Key", "").encode(), key.encode())
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                               f"Bearer {key}".encode())


def unauthorised(request: Request) -> dict[str, Any]:
    request.response.status = 401
    return {"error": "unauthorised"}


def session(request: Request) -> Session:
    factory: sessionmaker[Session] = request.registry["fb.session_factory"]
    return factory()


def behaviour_of(request: Request) -> Behaviour:
    behaviour: Behaviour = request.registry["fb.behaviour"]
    return behaviour


@view_config(route_name="healthz", renderer="json")
def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok"}


@view_config(route_name="readyz", renderer="json")
def readyz(request: Request) -> dict[str, Any]:
    with session(request) as db:
        db.execute(select(Customer.id).limit(1))
    return {"status": "ready"}


@view_config(route_name="netbanking", request_method="GET", renderer="netbanking.jinja2")
def netbanking(request: Request) -> dict[str, Any]:
    code = bank_or_404(request)
    params = request.GET
    try:
        reference = params["reference"]
        amount_paise = int(params["amount_paise"])
        currency = params.get("currency", "INR")
        return_url = params["return_url"]
    except (KeyError, ValueError):
        raise HTTPBadRequest("reference, amount_paise and return_url are required") from None
    if not return_url.startswith(("http://", "https://")) or amount_paise <= 0:
        raise HTTPBadRequest("bad return_url or amount")
    with session(request) as db, db.begin():
        payment = db.scalar(select(Payment).where(Payment.bank_code == code,
                                                  Payment.reference == reference))
        if payment is None:
            payment = Payment(bank_code=code, reference=reference, amount_paise=amount_paise,
                              currency=currency, status="pending", return_url=return_url,
                              created_at=utcnow())
            db.add(payment)
        elif payment.amount_paise != amount_paise:
            raise HTTPBadRequest("this reference was opened with another amount")
        customers = db.scalars(select(Customer).where(Customer.bank_code == code)
                               .order_by(Customer.id)).all()
        return {"bank": code.upper(), "payment": payment, "customers": customers}


@view_config(route_name="decide", request_method="POST")
def decide(request: Request) -> Response:
    """The customer approves or declines; we tell the wallet (webhook) and send
    the customer back to the wallet's site."""
    code = bank_or_404(request)
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    behaviour.wait(knobs)
    if knobs.fail_now:
        return Response("The bank is having trouble. Please try again.", status=503)
    with session(request) as db, db.begin():
        payment = db.scalar(select(Payment).where(
            Payment.bank_code == code, Payment.reference == request.matchdict["reference"])
            .with_for_update())
        if payment is None:
            raise HTTPNotFound()
        if payment.status == "pending":
            approve = request.POST.get("action") == "approve"
            customer_id: str = request.POST.get("customer_id", "")
            customer = db.get(Customer, int(customer_id)) if customer_id.isdigit() else None
            if not approve:
                payment.reason = "declined by customer"
            elif customer is None or customer.bank_code != code:
                approve, payment.reason = False, "no such account"
            elif customer.balance_paise < payment.amount_paise:
                approve, payment.reason = False, "insufficient funds"
            else:
                customer.balance_paise -= payment.amount_paise
                payment.customer_id = customer.id
            payment.status = "approved" if approve else "declined"
            payment.decided_at = utcnow()
            queue_webhook(db, payment, knobs, dialect_of(request, code))
        return_url = payment.return_url
    return HTTPFound(return_url)


def queue_webhook(db: Session, payment: Payment, knobs: Knobs, dialect: str) -> None:
    queue_delivery(db, payment.bank_code, deposit_event(dialect, payment), knobs)


def queue_delivery(db: Session, bank_code: str, body: str, knobs: Knobs | None) -> None:
    """A webhook to send, as the knobs' ``webhook_mode`` has it (None: normal)."""
    mode = knobs.webhook_mode if knobs is not None else "normal"
    event_id = f"evt_{secrets.token_hex(8)}"
    now = utcnow()
    due = now
    if knobs is not None and mode == "delayed":
        due = now + dt.timedelta(seconds=knobs.webhook_delay_s)
    copies = 2 if mode == "twice" else 1
    for _ in range(copies):
        db.add(Delivery(bank_code=bank_code, event_id=event_id, body=body,
                        next_attempt_at=due, lost=int(mode == "lost")))


@view_config(route_name="payment_status", request_method="GET", renderer="json")
def payment_status(request: Request) -> dict[str, Any]:
    """Status API for reconciliation: GET /<bank>/api/payments/<reference>."""
    code = bank_or_404(request, STANDARD)
    if not authorised(request, code):
        return unauthorised(request)
    behaviour = behaviour_of(request)
    knobs = behaviour.for_request(request)
    behaviour.wait(knobs)
    if knobs.fail_now:
        request.response.status = 503
        return {"error": "try again later"}
    with session(request) as db:
        payment = db.scalar(select(Payment).where(
            Payment.bank_code == code, Payment.reference == request.matchdict["reference"]))
        if payment is None:
            request.response.status = 404
            return {"reference": request.matchdict["reference"], "status": "unknown"}
        return {"reference": payment.reference, "status": payment.status,
                "amount_paise": payment.amount_paise, "currency": payment.currency,
                "reason": payment.reason}
