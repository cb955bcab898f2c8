"""Report fraud (wallet.care.fraud), a user's token: the sender reports a
transfer they sent (a ticket, and what is left of it held in the recipient's
wallet); the recipient reads the report about a payment they received and
answers it. No money leaves anyone's wallet here, so no PIN and no
Idempotency-Key: a second report is refused (409, naming the first ticket)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request

from ledgerlib import format_paise
from wallet.care.fraud import RecipientView
from wallet.core.models import User
from webcommon import request_services
from webcommon.views import view_config

from ..validation import json_body


def _user(request: Request) -> User:
    user: User = request.identity
    return user


def _money(paise: int) -> dict[str, Any]:
    return {"amount_paise": paise, "display": format_paise(paise)}


def _recipient_view(view: RecipientView) -> dict[str, Any]:
    return {
        "id": view.ticket.public_id,
        "transaction_id": view.transaction.id,
        "amount": _money(view.transaction.amount_paise),
        "held": _money(view.hold.held_paise),
        "hold_status": view.hold.status,
        "status": view.ticket.status,
        "resolution": view.ticket.resolution,
        "lines": [{"actor": line.actor, "text": line.text,
                   "at": line.created_at.isoformat()} for line in view.lines],
    }


@view_config(route_name="transaction_report_fraud", request_method="POST", openapi=True,
             renderer="json", permission="user")
def report_fraud(request: Request) -> Any:
    body = json_body(request) or {}
    made = request_services(request).fraud_reports.report(
        _user(request), int(request.matchdict["transaction_id"]), body.get("note", ""))
    request.response.status = 201
    return {"ticket_id": made.ticket.public_id, "status": made.ticket.status,
            "transaction_id": made.hold.transaction_id, "held": _money(made.hold.held_paise),
            "hold_status": made.hold.status}


@view_config(route_name="fraud_report", request_method="GET", openapi=True,
             renderer="json", permission="user")
def get_fraud_report(request: Request) -> Any:
    return _recipient_view(request_services(request).fraud_reports.for_recipient(
        _user(request), request.matchdict["fraud_report_id"]))


@view_config(route_name="fraud_report_responses", request_method="POST", openapi=True,
             renderer="json", permission="user")
def respond(request: Request) -> Any:
    reports, user = request_services(request).fraud_reports, _user(request)
    public_id = request.matchdict["fraud_report_id"]
    reports.respond(user, public_id, (json_body(request) or {}).get("text"))
    request.response.status = 201
    return _recipient_view(reports.for_recipient(user, public_id))
