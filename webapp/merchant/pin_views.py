"""Merchant app: the shop PIN's pages (set with the password on first use,
change with the old PIN, reset with the password) and the shop's notices
(each such change, and each change of its bank accounts). Thin: the rules
are wallet.identity.merchant_pins'."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.core.text import whole_number
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..views.forms import field
from .acting import audit

#: Where the PIN page may send the shop back to (nothing else): path -> route.
NEXT_ROUTES = {"/settle": "settle", "/bank-accounts": "bank_accounts"}


def includeme(config: Configurator) -> None:
    config.add_route("pin", "/pin")
    config.add_route("pin_reset", "/pin/reset")
    config.add_route("notices", "/notices")
    config.add_route("notices_read", "/notices/read")
    config.scan(__name__)


@view_defaults(permission=Permission.SETTLE)  # the shop PIN guards settling
class PinViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        self.pins = request_services(request).merchant_pins

    def _next(self) -> str:
        target = self.request.params.get("next", "")
        return target if target in NEXT_ROUTES else ""

    @view_config(route_name="pin", renderer="merchant/pin.jinja2")
    def pin(self) -> dict[str, Any] | Response:
        """Set the first PIN (with the password), or change it (with the old PIN)."""
        has_pin = self.pins.has_pin(self.merchant)
        page = {"has_pin": has_pin, "errors": {}, "next": self._next(),
                "done": self.request.params.get("done") == "1"}
        if self.request.method != "POST":
            return page
        pin, repeat = field(self.request, "pin"), field(self.request, "repeat")
        try:
            if has_pin:
                self.pins.change_with_pin(self.merchant, field(self.request, "old_pin"), pin,
                                          repeat)
            else:
                self._with_password(pin, repeat)
        except WalletError as exc:
            self.request.response.status = 400
            return {**page, "errors": exc.errors}
        audit(self.request, StaffAction.PIN_CHANGED, "shop PIN", "changed" if has_pin else "set")
        if page["next"]:
            return HTTPSeeOther(self.request.route_url(NEXT_ROUTES[page["next"]]))
        return HTTPSeeOther(self.request.route_url("pin", _query={"done": "1"}))

    @view_config(route_name="pin_reset", renderer="merchant/pin_reset.jinja2")
    def reset(self) -> dict[str, Any] | Response:
        """A forgotten PIN: a new one, given the password (throttled as log-ins are)."""
        if self.request.method != "POST":
            return {"errors": {}}
        try:
            self._with_password(field(self.request, "pin"), field(self.request, "repeat"))
        except WalletError as exc:
            self.request.response.status = 400
            return {"errors": exc.errors}
        audit(self.request, StaffAction.PIN_CHANGED, "shop PIN", "reset with the password")
        return HTTPSeeOther(self.request.route_url("pin", _query={"done": "1"}))

    def _with_password(self, pin: str, repeat: str) -> None:
        self.pins.set_with_password(self.merchant, request_services(self.request).accounts,
                                    field(self.request, "password"),
                                    self.request.remote_addr or "unknown", pin, repeat)


@view_defaults(permission=Permission.SETTINGS)
class NoticeViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity

    @view_config(route_name="notices", renderer="merchant/notices.jinja2",
                 request_method="GET")
    def notices(self) -> dict[str, Any]:
        items = request_services(self.request).notifications.of_merchant(self.merchant.id)
        return {"items": items, "newest_id": items[0].id if items else 0}

    @view_config(route_name="notices_read", request_method="POST")
    def mark_read(self) -> Response:
        text = self.request.POST.get("up_to", "")
        up_to = whole_number(text)
        if up_to is not None:
            request_services(self.request).notifications.mark_merchant_read(
                self.merchant.id, up_to)
        return HTTPSeeOther(self.request.route_url("notices"))
