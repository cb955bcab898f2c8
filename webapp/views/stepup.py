"""Step-up on the pages: the PIN's own pages (set, change, reset with the
password), the gate that sends users without a PIN to set one, and the KYC
page. The confirm step every payment goes through is webapp/views/confirm.py.
"""
from __future__ import annotations

import re
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import KycLevel
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.errors import AccountError
from wallet.identity.kyc import verified_record
from webcommon import request_services
from webcommon.security import current_session_id
from webcommon.views import view_config

from .forms import field

#: Where the PIN page may send the user back to: one of our paths, nothing else.
_NEXT = re.compile(r"/[A-Za-z0-9/_-]{0,80}", re.ASCII)


def pin_setup(request: Request) -> Response | None:
    """Users without a PIN are sent to set one before their first payment."""
    user: User = request.identity
    if request_services(request).pins.has_pin(user):
        return None
    return HTTPSeeOther(request.route_url("pin", _query={"next": request.path}))


def _next_path(request: Request) -> str:
    target = request.params.get("next", "")
    return target if _NEXT.fullmatch(target) and not target.startswith("//") else ""


@view_config(route_name="pin", renderer="pin.jinja2", permission="authenticated")
def pin_page(request: Request) -> dict[str, Any] | Response:
    """Set the first PIN, or change it with the old one."""
    pins = request_services(request).pins
    user: User = request.identity
    has_pin = pins.has_pin(user)
    page = {"has_pin": has_pin, "errors": {}, "next": _next_path(request),
            "done": request.params.get("done") == "1"}
    if request.method != "POST":
        return page
    try:
        if has_pin:
            pins.change(user, field(request, "old_pin"), field(request, "pin"),
                        field(request, "repeat"))
        else:
            pins.set_first(user, field(request, "pin"), field(request, "repeat"))
    except WalletError as exc:
        request.response.status = 400
        return {**page, "errors": {exc.field or "form": str(exc)}}
    target = page["next"] or request.route_url("pin", _query={"done": "1"})
    return HTTPSeeOther(target)


@view_config(route_name="pin_reset", renderer="pin_reset.jinja2", permission="authenticated")
def pin_reset(request: Request) -> dict[str, Any] | Response:
    """A forgotten PIN: a new one, given the password (throttled as log-ins are)."""
    page: dict[str, Any] = {"errors": {}}
    if request.method != "POST":
        return page
    services = request_services(request)
    user: User = request.identity
    try:
        services.accounts.confirm_password(user, field(request, "password"),
                                           request.remote_addr or "unknown")
    except AccountError as exc:
        request.response.status = 400
        return {"errors": {"password": str(exc)}}
    try:
        services.pins.reset(user, field(request, "pin"), field(request, "repeat"),
                            keep_session_id=current_session_id(request))
    except WalletError as exc:
        request.response.status = 400
        return {"errors": {exc.field or "form": str(exc)}}
    request.session.flash("Your PIN was reset, and you were signed out everywhere else "
                          "(other browsers and the phone app).")
    return HTTPSeeOther(request.route_url("pin", _query={"done": "1"}))


@view_config(route_name="kyc", renderer="kyc.jinja2", permission="authenticated")
def kyc_page(request: Request) -> dict[str, Any] | Response:
    """The wallet's level and limits; the form that moves it to full KYC."""
    services = request_services(request)
    user: User = request.identity
    values = {name: field(request, name) for name in ("name_on_pan", "pan", "date_of_birth")}
    full = user.kyc_level == KycLevel.FULL
    page = {"errors": {}, "full": full, "record": verified_record(request.dbsession, user.id),
            "policy": services.limit_policy, "room": services.limits.headroom(user.id),
            "done": request.params.get("done") == "1",
            # The PAN is never written back into a page: on a refusal it is typed again.
            "values": {name: value for name, value in values.items() if name != "pan"}}
    if request.method != "POST":
        return page
    try:
        services.kyc.upgrade(user, values["name_on_pan"], values["pan"],
                             values["date_of_birth"])
    except WalletError as exc:
        request.response.status = 400
        return {**page, "errors": {exc.field or "form": str(exc)}}
    return HTTPSeeOther(request.route_url("kyc", _query={"done": "1"}))
