"""Pages that prove the phone with a code sent by SMS (the rules:
wallet.identity.phone_flows): sign-up's second step, "forgot password", and a
forgotten PIN reset with a code. Each flow's token waits in the browser's
session (signed cookie), never in a URL; the code itself is never stored.
And the device cookie that lets a sign-in from a new browser be told."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import remember

from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.devices import is_device_id, new_device_id
from wallet.identity.errors import AccountError, CodeDead, CodesThrottled
from wallet.identity.phone_codes import SentCode
from wallet.settings import as_bool
from webcommon import request_services
from webcommon.security import current_session_id
from webcommon.views import view_config

from .forms import field

DEVICE_COOKIE = "wallet_device"
DEVICE_COOKIE_MAX_AGE_S = 2 * 365 * 24 * 3600
#: The browser's session keys of the flows under way.
SIGNUP, RESET, PIN = "otp_signup", "otp_password_reset", "otp_pin_reset"


def _remember_flow(request: Request, key: str, sent: SentCode, phone: str = "") -> None:
    request.session[key] = {"token": sent.token, "phone_tail": phone[-4:],
                            "resend_at": sent.resend_at.timestamp()}


def _flow(request: Request, key: str) -> dict[str, Any] | None:
    found = request.session.get(key)
    return found if isinstance(found, dict) and isinstance(found.get("token"), str) else None


def _page(request: Request, flow: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    now = request_services(request).clock().timestamp()
    return {"errors": errors, "phone_tail": flow.get("phone_tail", ""),
            "resend_in_s": max(0, int(float(flow.get("resend_at", 0)) - now + 0.999))}


def _refused(request: Request, key: str, flow: dict[str, Any], exc: WalletError,
             field_name: str = "code") -> dict[str, Any]:
    """A refused code (or resend) on its page; a dead flow is forgotten."""
    request.response.status = 429 if isinstance(exc, CodesThrottled) else 400
    if isinstance(exc, CodeDead):
        request.session.pop(key, None)
    name = exc.field if exc.field in ("code", "pin", "repeat", "password") else "form"
    page = _page(request, flow, {name if name != "code" else field_name: str(exc)})
    return {**page, "dead": isinstance(exc, CodeDead)}


def device_id(request: Request) -> str:
    """This browser's device id (its cookie), or a new one."""
    found = request.cookies.get(DEVICE_COOKIE)
    return found if is_device_id(found) else new_device_id()


def keep_device_cookie(request: Request, response: Response, device: str) -> Response:
    response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_MAX_AGE_S, httponly=True,
                        samesite="Lax", path="/",
                        secure=as_bool(request.registry.settings.get("wallet.secure_cookies",
                                                                     "false")))
    return response


def signed_in(request: Request, user: User, target: str, *, new_account: bool = False
              ) -> Response:
    """Start the session and note the browser (a new one told, unless the account is new)."""
    remember(request, user.id)
    device = device_id(request)
    request_services(request).known_devices.signed_in(user, device, request.user_agent or "",
                                                      notify_new=not new_account)
    return keep_device_cookie(request, HTTPSeeOther(target), device)


# ------------------------------------------------------------------ sign-up


@view_config(route_name="signup", renderer="signup.jinja2", request_method="POST")
def signup(request: Request) -> dict[str, Any] | Response:
    values = {"phone": field(request, "phone"), "name": field(request, "name")}
    try:
        sent = request_services(request).phone_signup.start(
            values["phone"], values["name"], field(request, "password"))
    except AccountError as exc:
        request.response.status = 400
        return {"errors": exc.errors, "values": values, "next": ""}
    except CodesThrottled as exc:
        request.response.status = 429
        return {"errors": {"form": str(exc)}, "values": values, "next": ""}
    _remember_flow(request, SIGNUP, sent, values["phone"].strip())
    return HTTPSeeOther(request.route_url("signup_verify"))


@view_config(route_name="signup_verify", renderer="signup_verify.jinja2")
def signup_verify(request: Request) -> dict[str, Any] | Response:
    flow = _flow(request, SIGNUP)
    if flow is None:
        return HTTPSeeOther(request.route_url("signup"))
    if request.method != "POST":
        return _page(request, flow, {})
    try:
        user = request_services(request).phone_signup.finish(flow["token"],
                                                             field(request, "code"))
    except (WalletError, AccountError) as exc:
        if isinstance(exc, AccountError):  # (the phone was taken meanwhile)
            exc = CodeDead(str(exc))
        return _refused(request, SIGNUP, flow, exc)
    request.session.pop(SIGNUP, None)
    response = signed_in(request, user, request.route_url("dashboard"), new_account=True)
    request.session.flash(f"Welcome, {user.name}! Your wallet is ready.")
    return response


@view_config(route_name="signup_resend", renderer="signup_verify.jinja2", request_method="POST")
def signup_resend(request: Request) -> dict[str, Any] | Response:
    flow = _flow(request, SIGNUP)
    if flow is None:
        return HTTPSeeOther(request.route_url("signup"))
    try:
        sent = request_services(request).phone_signup.resend(flow["token"])
    except WalletError as exc:
        return _refused(request, SIGNUP, flow, exc, "form")
    _remember_flow(request, SIGNUP, sent, "..." + flow.get("phone_tail", ""))
    request.session.flash("A new code is on its way.")
    return HTTPSeeOther(request.route_url("signup_verify"))


# ---------------------------------------------------------- forgot password


@view_config(route_name="password_forgot", renderer="password_forgot.jinja2")
def password_forgot(request: Request) -> dict[str, Any] | Response:
    """The same answer whether or not the phone has an account."""
    values = {"phone": field(request, "phone")}
    if request.method != "POST":
        return {"errors": {}, "values": values}
    try:
        sent = request_services(request).password_recovery.start(values["phone"])
    except (AccountError, CodesThrottled) as exc:
        request.response.status = 429 if isinstance(exc, CodesThrottled) else 400
        return {"errors": {exc.field or "form": str(exc)}, "values": values}
    _remember_flow(request, RESET, sent, values["phone"].strip())
    return HTTPSeeOther(request.route_url("password_reset"))


@view_config(route_name="password_reset", renderer="password_reset.jinja2")
def password_reset(request: Request) -> dict[str, Any] | Response:
    flow = _flow(request, RESET)
    if flow is None:
        return HTTPSeeOther(request.route_url("password_forgot"))
    if request.method != "POST":
        return _page(request, flow, {})
    try:
        request_services(request).password_recovery.finish(
            flow["token"], field(request, "code"), field(request, "password"),
            field(request, "repeat"))
    except AccountError as exc:
        request.response.status = 400
        return _page(request, flow, exc.errors)
    except WalletError as exc:
        return _refused(request, RESET, flow, exc)
    request.session.pop(RESET, None)
    request.session.flash("Your password was changed, and every session and the phone app "
                          "were signed out. Log in with the new password.")
    return HTTPSeeOther(request.route_url("login"))


@view_config(route_name="password_resend", renderer="password_reset.jinja2",
             request_method="POST")
def password_resend(request: Request) -> dict[str, Any] | Response:
    flow = _flow(request, RESET)
    if flow is None:
        return HTTPSeeOther(request.route_url("password_forgot"))
    try:
        sent = request_services(request).password_recovery.resend(flow["token"])
    except WalletError as exc:
        return _refused(request, RESET, flow, exc, "form")
    _remember_flow(request, RESET, sent, "..." + flow.get("phone_tail", ""))
    request.session.flash("If this number has a wallet, a new code is on its way.")
    return HTTPSeeOther(request.route_url("password_reset"))


# ------------------------------------------------------- PIN reset by code


@view_config(route_name="pin_reset_send", renderer="pin_reset_code.jinja2",
             request_method="POST", permission="authenticated")
def pin_reset_send(request: Request) -> dict[str, Any] | Response:
    """Send (or send again) a code to the signed-in user's phone."""
    user: User = request.identity
    recovery = request_services(request).pin_recovery
    flow = _flow(request, PIN)
    try:
        sent = (recovery.resend(user, flow["token"]) if flow is not None
                else recovery.start(user))
    except CodeDead:  # (the last flow is over: a new one)
        request.session.pop(PIN, None)
        return pin_reset_send(request)
    except WalletError as exc:
        request.response.status = 429 if isinstance(exc, CodesThrottled) else 400
        page = _page(request, flow or {"phone_tail": user.phone[-4:]}, {"form": str(exc)})
        return {**page, "sent": flow is not None}
    _remember_flow(request, PIN, sent, user.phone)
    request.session.flash(f"A code is on its way to your phone ending {user.phone[-4:]}.")
    return HTTPSeeOther(request.route_url("pin_reset_code"))


@view_config(route_name="pin_reset_code", renderer="pin_reset_code.jinja2",
             permission="authenticated")
def pin_reset_code(request: Request) -> dict[str, Any] | Response:
    user: User = request.identity
    flow = _flow(request, PIN)
    if flow is None:
        return {**_page(request, {"phone_tail": user.phone[-4:]}, {}), "sent": False}
    if request.method != "POST":
        return {**_page(request, flow, {}), "sent": True}
    try:
        request_services(request).pin_recovery.finish(
            user, flow["token"], field(request, "code"), field(request, "pin"),
            field(request, "repeat"), keep_session_id=current_session_id(request))
    except WalletError as exc:
        return {**_refused(request, PIN, flow, exc), "sent": not isinstance(exc, CodeDead)}
    request.session.pop(PIN, None)
    request.session.flash("Your PIN was reset, and you were signed out everywhere else "
                          "(other browsers and the phone app).")
    return HTTPSeeOther(request.route_url("pin", _query={"done": "1"}))

