"""Merchant app: disputes of the shop's payments (wallet.merchants.disputes):
the list, each dispute with its accept and contest forms (until its
``respond_by``), and the dashboard's box of disputes awaiting an answer with
what they hold. Included by webapp.merchant (its routes and views)."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.events import BeforeRender
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.core.text import whole_number
from wallet.merchants.disputes import MAX_EVIDENCE_CHARS, REASON_WORDS
from wallet.merchants.errors import DisputeNotFound
from wallet.merchants.models import Dispute
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from webcommon import request_services
from webcommon.security import store_scope
from webcommon.views import view_config

from ..views.forms import field
from .acting import audit

PAGE = 20
DASHBOARD = "merchant/dashboard.jinja2"


def includeme(config: Configurator) -> None:
    config.add_route("disputes", "/disputes")
    config.add_route("dispute", "/disputes/{id}")
    config.add_route("dispute_accept", "/disputes/{id}/accept")
    config.add_route("dispute_contest", "/disputes/{id}/contest")
    config.add_subscriber(open_disputes_box, BeforeRender)
    config.scan(__name__)


def open_disputes_box(event: BeforeRender) -> None:
    """The dashboard's box of disputes awaiting the shop's answer
    (merchant/disputes_notice.jinja2), with what disputes hold and lost."""
    if event.get("renderer_name") != DASHBOARD:
        return
    request: Request = event["request"]
    merchant: Merchant | None = request.identity
    if merchant is not None:
        disputes = request_services(request).disputes
        event["open_disputes"] = disputes.awaiting_shop(merchant)
        event["dispute_held_paise"], event["dispute_lost_paise"] = disputes.figures(merchant)


def _found(request: Request, *, lock: bool = False) -> Dispute:
    merchant: Merchant = request.identity
    try:
        return request_services(request).disputes.of_merchant(
            merchant, request.matchdict["id"], lock=lock, stores=store_scope(request))
    except DisputeNotFound:
        raise HTTPNotFound() from None


@view_config(route_name="disputes", renderer="merchant/disputes.jinja2",
             permission=Permission.DISPUTES, request_method="GET")
def disputes(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    service = request_services(request).disputes
    rows, next_cursor = service.page(merchant, cursor=whole_number(
        request.params.get("cursor", "")), limit=PAGE, stores=store_scope(request))
    held, lost = service.figures(merchant)
    return {"disputes": rows, "next_cursor": next_cursor, "reason_words": REASON_WORDS,
            "held_paise": held, "lost_paise": lost}


def _page(request: Request, dispute: Dispute, errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None) -> dict[str, Any]:
    now = request_services(request).clock()
    return {"dispute": dispute, "reason_words": REASON_WORDS, "errors": errors or {},
            "values": values or {}, "max_evidence": MAX_EVIDENCE_CHARS,
            "answerable": dispute.status == "open" and now < dispute.respond_by}


@view_config(route_name="dispute", renderer="merchant/dispute.jinja2",
             permission=Permission.DISPUTES, request_method="GET")
def dispute(request: Request) -> dict[str, Any]:
    return _page(request, _found(request))


@view_config(route_name="dispute_accept", renderer="merchant/dispute.jinja2",
             permission=Permission.DISPUTES, request_method="POST")
def accept(request: Request) -> dict[str, Any] | Response:
    found = _found(request)
    merchant: Merchant = request.identity
    try:
        request_services(request).disputes.accept(merchant, found.public_id)
    except WalletError as exc:
        request.response.status = 409
        return _page(request, found, exc.errors)
    audit(request, StaffAction.DISPUTE_ANSWERED, f"dispute {found.public_id}", "accepted")
    request.session.flash("Accepted: the customer is refunded from the held amount.")
    return HTTPSeeOther(request.route_url("dispute", id=found.public_id))


@view_config(route_name="dispute_contest", renderer="merchant/dispute.jinja2",
             permission=Permission.DISPUTES, request_method="POST")
def contest(request: Request) -> dict[str, Any] | Response:
    found = _found(request)
    merchant: Merchant = request.identity
    evidence = field(request, "evidence", max_chars=MAX_EVIDENCE_CHARS + 1)
    try:
        request_services(request).disputes.contest(merchant, found.public_id, evidence)
    except WalletError as exc:
        request.response.status = 400 if exc.field else 409
        return _page(request, found, exc.errors, {"evidence": evidence})
    audit(request, StaffAction.DISPUTE_ANSWERED, f"dispute {found.public_id}", "contested")
    request.session.flash("Contested: our team will look at your evidence and decide.")
    return HTTPSeeOther(request.route_url("dispute", id=found.public_id))
