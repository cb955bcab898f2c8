"""A person's receive handle and QR code (wallet.identity.handles): /me/qr
shows theirs (or the form to choose it, once); /to/<handle> -- what their QR
code opens -- is the send page with that person as the recipient, locked
(the send itself is the send page's: webapp/views/wallet.py)."""
from __future__ import annotations

from typing import Any

import segno
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.accounts import HANDLE_RULE
from wallet.identity.errors import HandleAlreadyChosen, HandleTaken
from wallet.identity.handles import address_of
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field
from .wallet import WalletViews


def receive_url(request: Request, handle: str) -> str:
    """The address on a person's QR code: on the user app's public address."""
    base = request_services(request).settings.user_app_url
    return f"{base}/to/{handle}" if base else request.route_url("to_handle", handle=handle)


@view_defaults(route_name="my_qr", renderer="my_qr.jinja2", permission="authenticated")
class MyQrViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity

    def _page(self, errors: dict[str, str] | None = None, value: str = "",
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        handle = self.user.handle
        if handle is None:
            return {"handle": None, "errors": errors or {}, "value": value,
                    "rule": HANDLE_RULE}
        url = receive_url(self.request, handle)
        return {"handle": handle, "address": address_of(handle), "url": url,
                "qr": segno.make(url, error="m").svg_data_uri(scale=6, border=2),
                "errors": errors or {}, "value": value, "rule": HANDLE_RULE}

    @view_config(request_method="GET")
    def show(self) -> dict[str, Any]:
        return self._page()

    @view_config(request_method="POST")
    def choose(self) -> dict[str, Any] | Response:
        value = field(self.request, "handle", max_chars=40)
        try:
            request_services(self.request).handles.choose(self.user, value)
        except WalletError as exc:
            taken = isinstance(exc, HandleTaken | HandleAlreadyChosen)
            return self._page(exc.errors, value, 409 if taken else 400)
        self.request.session.flash(f"Your handle is {address_of(self.user.handle or '')}: "
                                   "share your QR code to be paid.")
        return HTTPSeeOther(self.request.route_url("my_qr"))


@view_config(route_name="to_handle", renderer="send.jinja2", permission="authenticated",
             request_method="GET")
def send_to_handle(request: Request) -> dict[str, Any] | Response:
    """The send page for the person a scanned QR code names; no such
    handle: a 404 page that says so; one's own: one's own QR page."""
    handle: str = request.matchdict["handle"][:40].lower()
    user: User = request.identity
    if user.handle is not None and user.handle == handle:
        request.session.flash("That is your own QR code: others scan it to send you money.")
        return HTTPSeeOther(request.route_url("my_qr"))
    return WalletViews(request).send_to(handle)
