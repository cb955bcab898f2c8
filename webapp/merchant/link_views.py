"""Merchant app: the shop's payment links (wallet.merchants.payment_links).
The list (status, uses, total), the form that makes one (a fixed amount or
the customer's within a range, how long it lives, once or many times, a
reference), and each link's page: its URL, QR code, a WhatsApp share link,
its payments, and cancel. Every view asks for ``merchant:links``. The pages
keep to the Test/Live switch (``session_livemode``): the test view lists,
makes and finds test links only. Included by webapp.merchant (its routes and
views)."""
from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import segno
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.core.codes import LinkStatus, is_request_key
from wallet.core.errors import WalletError
from wallet.core.idempotency import (
    KeyedRequest,
    KeyOwner,
    ReplayInstead,
    StoredResponse,
    fingerprint,
)
from wallet.core.models import Merchant
from wallet.core.text import whole_number
from wallet.merchants.errors import LinkNotFound
from wallet.merchants.models import PaymentLink
from wallet.merchants.payment_links import NewLink, PaymentLinks, range_text
from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.views import view_config

from ..views.forms import field, new_request_key
from .modes import session_livemode

PAGE = 20
LINKS = str(Permission.LINKS)
#: The form's "valid for" choices: (seconds, label).
VALID_FOR = ((3600, "1 hour"), (86400, "1 day"), (7 * 86400, "7 days"),
             (30 * 86400, "30 days"), (90 * 86400, "90 days"), (365 * 86400, "1 year"))
FIELDS = ("amount_mode", "amount", "min_amount", "max_amount", "description", "reference",
          "valid_for", "single_use")


def includeme(config: Configurator) -> None:
    link = "/links/{id:[A-Za-z0-9_-]{1,40}}"  # (/links/new is matched first)
    config.add_route("links", "/links")
    config.add_route("link_new", "/links/new")
    config.add_route("link", link)
    config.add_route("link_qr", link + "/qr.svg")
    config.add_route("link_cancel", link + "/cancel")
    config.scan(__name__)


def link_url(request: Request, link: PaymentLink) -> str:
    """Where customers pay it: the user app's /l/<id>."""
    return f"{request_services(request).settings.user_app_url}/l/{link.public_id}"


def _links(request: Request) -> PaymentLinks:
    return request_services(request).payment_links


def _found(request: Request) -> PaymentLink:
    merchant: Merchant = request.identity
    try:
        return _links(request).of_merchant(merchant, request.matchdict["id"],
                                           livemode=session_livemode(request))
    except LinkNotFound:
        raise HTTPNotFound() from None


@view_config(route_name="links", renderer="merchant/links.jinja2", permission=LINKS,
             request_method="GET")
def links(request: Request) -> dict[str, Any]:
    merchant: Merchant = request.identity
    service, livemode = _links(request), session_livemode(request)
    rows, next_cursor = service.page(merchant, cursor=whole_number(
        request.params.get("cursor", "")), limit=PAGE, livemode=livemode)
    return {"links": rows, "next_cursor": next_cursor, "livemode": livemode, "here": "links",
            "statuses": {row.id: service.status_of(row) for row in rows},
            "ranges": {row.id: range_text(row) for row in rows}}


def _form(request: Request, errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
    request.override_renderer = "merchant/link_new.jinja2"
    request.response.status = status
    return {"errors": errors or {}, "values": values or {"amount_mode": "fixed",
                                                         "valid_for": str(30 * 86400)},
            "valid_for": VALID_FOR, "request_key": new_request_key(),
            "livemode": session_livemode(request)}


@view_config(route_name="link_new", renderer="merchant/link_new.jinja2", permission=LINKS,
             request_method="GET")
def link_new(request: Request) -> dict[str, Any]:
    return _form(request)


@view_config(route_name="link_new", renderer="merchant/link_new.jinja2", permission=LINKS,
             request_method="POST")
def link_create(request: Request) -> dict[str, Any] | Response:
    values = {name: field(request, name) for name in FIELDS}
    valid_for = whole_number(values["valid_for"], max_digits=9)
    if valid_for not in {seconds for seconds, _ in VALID_FOR}:
        return _form(request, {"valid_for": "Choose how long the link can be paid."}, values,
                     status=400)
    new = NewLink(amount_mode=values["amount_mode"], description=values["description"],
                  amount=values["amount"], min_amount=values["min_amount"],
                  max_amount=values["max_amount"], single_use=values["single_use"] == "1",
                  expires_in_s=valid_for, reference=values["reference"].strip() or None)
    try:
        public_id = _made_once(request, values, new)
    except WalletError as exc:
        return _form(request, exc.errors, values, status=400)
    request.session.flash("Payment link made: share it with your customers.")
    return HTTPSeeOther(request.route_url("link", id=public_id))


def _made_once(request: Request, values: dict[str, str], new: NewLink) -> str:
    """The link made once per form (a double click answers the first)."""
    token = field(request, "request_key")
    if not is_request_key(token):
        raise WalletError("This form is out of date. Reload the page and try again.")
    merchant: Merchant = request.identity
    livemode = session_livemode(request)
    keyed = KeyedRequest(KeyOwner.merchant(merchant.id), f"form-{token}",
                         fingerprint("POST", "link_new", {**values, "livemode": str(livemode)}))

    def make() -> StoredResponse:
        made = _links(request).create(merchant, new, livemode=livemode)
        return StoredResponse(303, {"id": made.public_id})

    try:
        answer = request_services(request).idempotency_keys.run_once(keyed, make,
                                                                     look_first=True)
    except ReplayInstead as twin:
        raise HTTPSeeOther(request.route_url("link", id=twin.response.body["id"])) from None
    found: str = answer.response.body["id"]
    return found


@view_config(route_name="link", renderer="merchant/link.jinja2", permission=LINKS,
             request_method="GET")
def link(request: Request) -> dict[str, Any]:
    found = _found(request)
    service = _links(request)
    url = link_url(request, found)
    amount = (format_paise(found.amount_paise) if found.amount_paise is not None
              else f"an amount {range_text(found)}")
    share = f"Pay {found.description} ({amount}) to {request.identity.name}: {url}"
    return {"link": found, "status": service.status_of(found), "url": url,
            "payments": service.payments(found), "range_text": range_text(found),
            "whatsapp": "https://wa.me/?text=" + quote(share, safe=""),
            "active": service.status_of(found) == LinkStatus.ACTIVE,
            "livemode": found.livemode}


@view_config(route_name="link_qr", permission=LINKS, request_method="GET")
def link_qr(request: Request) -> Response:
    buffer = io.BytesIO()
    segno.make(link_url(request, _found(request)), error="m").save(buffer, kind="svg",
                                                                   scale=6, border=2)
    return Response(buffer.getvalue(), content_type="image/svg+xml")


@view_config(route_name="link_cancel", permission=LINKS, request_method="POST")
def link_cancel(request: Request) -> Response:
    found = _found(request)
    try:
        _links(request).cancel(request.identity, found.public_id,
                               livemode=session_livemode(request))
        request.session.flash("Payment link cancelled: it takes no more payments.")
    except WalletError as exc:
        request.session.flash(str(exc))
    return HTTPSeeOther(request.route_url("link", id=found.public_id))
