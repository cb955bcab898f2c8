"""Scan and pay: /scan opens the camera (webapp/static/scan.js) and sends
frames -- or a photo -- to /scan/decode, which reads their QR code
(wallet.money.pay_codes) and answers the page to open: one of this wallet's
own payment pages, built here from the code's kind and key (never the
address as read), or why not.

The decode answers JSON: ``{"found": false}`` (no QR code in the picture),
``{"found": true, "url": ..., "kind": ...}``, or an error ``{"code",
"message"}``: 400 unreadable picture, 413 larger than
:data:`~wallet.money.pay_codes.MAX_IMAGE_BYTES`, 422 not a wallet payment
code, 429 too many pictures (:class:`PerPersonLimiter`)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.money.errors import NotAPayCode
from wallet.money.pay_codes import MAX_IMAGE_BYTES, PayCode, PayCodeKind, pay_code, read_qr_codes
from webcommon import request_services
from webcommon.views import view_config

from .per_person import PerPersonLimiter, limiter_of

#: Pictures one person may send to be read, per minute (the page sends two a
#: second while the camera is on): reading costs the server's CPU.
DECODES_PER_MINUTE = 150
#: Each kind's page and the name of its route's key.
PAGES: dict[PayCodeKind, tuple[str, str]] = {
    PayCodeKind.SHOP: ("pay_merchant", "handle"),
    PayCodeKind.PERSON: ("to_handle", "handle"),
    PayCodeKind.CHECKOUT: ("checkout", "id"),
    PayCodeKind.LINK: ("payment_link", "id"),
}


def _limiter(request: Request) -> PerPersonLimiter:
    return limiter_of(request.registry, "scan.limiter", DECODES_PER_MINUTE)


def _answer(status: int, **body: Any) -> Response:
    return Response(json_body=body, status=status, content_type="application/json",
                    charset="utf-8")


def own_urls(request: Request) -> tuple[str, ...]:
    """This wallet's user app's addresses: the configured public one, and
    the one this page was opened at."""
    configured = request_services(request).settings.user_app_url
    return tuple(url for url in (configured, request.application_url) if url)


def page_of(request: Request, code: PayCode) -> str:
    route, key = PAGES[code.kind]
    url: str = request.route_url(route, **{key: code.key})
    return url


@view_config(route_name="scan", renderer="scan.jinja2", permission="authenticated",
             request_method="GET")
def scan_page(request: Request) -> dict[str, Any]:
    return {}


@view_config(route_name="scan_decode", permission="authenticated", request_method="POST")
def decode(request: Request) -> Response:
    """Read the QR code of one picture (the body: a JPEG or PNG)."""
    user: User = request.identity
    size = request.content_length
    if size is not None and size > MAX_IMAGE_BYTES:
        return _answer(413, code="image_too_large",
                       message="That picture is too large: send one under 2 MB.")
    if not size:
        return _answer(400, code="image_unreadable", message="Send a picture of a QR code.")
    if not _limiter(request).allow(user.id):
        return _answer(429, code="rate_limited",
                       message="Too many pictures at once: wait a moment and try again.")
    try:
        texts = read_qr_codes(request.body)
    except WalletError as exc:
        return _answer(400, code="image_unreadable", message=str(exc))
    if not texts:
        return _answer(200, found=False)
    refusal = ""
    for text in texts:
        try:
            code = pay_code(text, own_urls(request))
        except NotAPayCode as exc:
            refusal = str(exc)
            continue
        return _answer(200, found=True, kind=str(code.kind), url=page_of(request, code))
    return _answer(422, found=True, code=NotAPayCode.code, message=refusal)
