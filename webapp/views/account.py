"""The account page of the user app and the merchant app (both scan this
module): change the password, sign out everywhere else. The rules -- which
sessions end, and that a password change ends them -- are the domain's
(wallet.identity.accounts, wallet.identity.web_sessions)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import Merchant
from wallet.identity.errors import AccountError, LoginThrottled
from webcommon import request_services
from webcommon.security import (
    current_session_id,
    end_other_sessions,
    other_sessions_count,
    signed_in_staff,
)
from webcommon.views import view_config

from .forms import field

TEMPLATE = "account.jinja2"


def account_page(request: Request, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"errors": errors or {}, "others": other_sessions_count(request),
            "is_shop": isinstance(request.identity, Merchant)}


@view_config(route_name="account", renderer=TEMPLATE, request_method="GET",
             permission="authenticated")
def account(request: Request) -> dict[str, Any]:
    return account_page(request)


@view_config(route_name="account_password", renderer=TEMPLATE, request_method="POST",
             permission="authenticated")
def change_password(request: Request) -> dict[str, Any] | Response:
    """A new password, given the current one; every other session ends."""
    accounts = request_services(request).accounts
    identity = request.identity
    typed = (field(request, "current_password"), field(request, "password"),
             field(request, "repeat"), request.remote_addr or "unknown")
    keep = current_session_id(request)
    staff = signed_in_staff(request)  # a person of a shop: their own password
    try:
        if staff is not None:
            request_services(request).staff.change_password(staff, *typed,
                                                             keep_session_id=keep)
        elif isinstance(identity, Merchant):
            accounts.change_merchant_password(identity, *typed, keep_session_id=keep)
        else:
            accounts.change_password(identity, *typed, keep_session_id=keep)
    except AccountError as exc:  # (a wrong current password is counted: commit the answer)
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return account_page(request, exc.errors)
    request.session.flash("Your password was changed, and you were signed out everywhere "
                          "else.")
    return HTTPSeeOther(request.route_url("account"))


@view_config(route_name="account_sign_out_others", request_method="POST",
             permission="authenticated")
def sign_out_others(request: Request) -> Response:
    ended = end_other_sessions(request)
    request.session.flash("Signed out everywhere else." if ended else
                          "You were not signed in anywhere else.")
    return HTTPSeeOther(request.route_url("account"))
