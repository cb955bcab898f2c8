from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget

from wallet.identity.errors import AccountError, LoginThrottled
from webcommon import request_services
from webcommon.views import view_config

from .forms import field
from .phone import signed_in


def same_site_path(request: Request) -> str:
    """The ``next`` target if it is a path of this site, else "": never another
    host or scheme, and nothing a Location header cannot carry (control
    characters, U+2028...), so the redirect after log-in cannot fail."""
    target = request.params.get("next", "")
    if not isinstance(target, str) or len(target) > 500:
        return ""
    if not (target.isascii() and target.isprintable()):
        return ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""
    return target


def safe_next(request: Request) -> str:
    """Where to go after log-in: the asked-for page of this site, or the dashboard."""
    dashboard: str = request.route_url("dashboard")
    return same_site_path(request) or dashboard


@view_config(route_name="signup", renderer="signup.jinja2", request_method="GET")
@view_config(route_name="login", renderer="login.jinja2", request_method="GET")
def auth_form(request: Request) -> dict[str, Any] | Response:
    if request.identity is not None:
        return HTTPSeeOther(request.route_url("dashboard"))
    return {"errors": {}, "values": {}, "next": same_site_path(request)}


@view_config(route_name="login", renderer="login.jinja2", request_method="POST")
def login(request: Request) -> dict[str, Any] | Response:
    values = {"phone": field(request, "phone")}
    try:
        user = request_services(request).accounts.authenticate(
            values["phone"], field(request, "password"), request.remote_addr or "unknown"
        )
    except AccountError as exc:
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return {"errors": {"form": str(exc)}, "values": values,
                "next": same_site_path(request)}
    # (the sign-up's POST, with its code: webapp/views/phone.py)
    return signed_in(request, user, safe_next(request))


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Response:
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)
