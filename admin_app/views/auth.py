"""Sign-in with a password and a TOTP code; sign-out; who may see what."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember

from wallet.identity.errors import AccountError, LoginThrottled
from webcommon import request_services
from webcommon.security import end_other_sessions, other_sessions_count
from webcommon.views import forbidden_view_config, notfound_view_config, view_config

from . import field


@view_config(route_name="login", renderer="login.jinja2", request_method="GET")
def login_form(request: Request) -> dict[str, Any] | Response:
    if request.identity is not None:
        return HTTPSeeOther(request.route_url("overview"))
    return {"error": "", "name": ""}


@view_config(route_name="login", renderer="login.jinja2", request_method="POST")
def login(request: Request) -> dict[str, Any] | Response:
    name = field(request, "name", 40)
    service = request_services(request).operators
    try:
        operator = service.authenticate(name, field(request, "password", 200),
                                        field(request, "code", 10),
                                        request.remote_addr or "unknown")
    except AccountError as exc:  # the failure is counted: the transaction commits
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return {"error": str(exc), "name": name}
    headers = remember(request, operator.id)
    return HTTPSeeOther(request.route_url("overview"), headers=headers)


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Response:
    return HTTPSeeOther(request.route_url("login"), headers=forget(request))


@view_config(route_name="account", renderer="account.jinja2", request_method="GET",
             permission="authenticated")
def account(request: Request) -> dict[str, Any]:
    return {"others": other_sessions_count(request)}


@view_config(route_name="account_sign_out_others", request_method="POST",
             permission="authenticated")
def sign_out_others(request: Request) -> Response:
    """End every other console session of this operator (a browser left
    signed in elsewhere, a copied cookie); this one lives on."""
    ended = end_other_sessions(request)
    request.session.flash(f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
    return HTTPSeeOther(request.route_url("account"))


@forbidden_view_config()
def forbidden(request: Request) -> Response:
    if request.identity is None:  # not signed in (or the session went idle)
        return HTTPSeeOther(request.route_url("login"))
    return Response("Forbidden (a stale form? reload the page).", status=403,
                    content_type="text/plain")


@notfound_view_config(renderer="message.jinja2")
def not_found(request: Request) -> dict[str, Any]:
    request.response.status = 404
    return {"title": "Not found", "message": "There is nothing at this address."}
