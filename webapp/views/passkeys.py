"""Passkeys in the user app: the list at /me/passkeys (add, rename, remove)
and "Sign in with a passkey" on the log-in page. The rules are the domain's
(wallet.identity.passkeys); here the ceremony's challenge is kept for the
browser that asked for it (its session), and the browser's side runs in
static/passkeys.js (no inline script: the CSP forbids them).

Each ceremony is two requests: a POST for the options (JSON, answered to the
script; CSRF in the X-CSRF-Token header), then the form the script fills
with the authenticator's answer, posted as any form is."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import remember
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from wallet.identity.errors import AccountError, LoginThrottled, PinLocked, PinRefused
from wallet.identity.passkeys import MAX_CREDENTIAL_CHARS, MAX_NAME_CHARS, Passkeys
from webcommon import request_services, wallet_settings
from webcommon.views import view_config

from .auth import safe_next, same_site_path
from .forms import field

#: The session's key for the challenge of this browser's ceremony under way.
CHALLENGE_KEY = "passkey_challenge"
TEMPLATE = "passkeys.jinja2"


def passkeys_on(request: Request) -> bool:
    """Whether this site has a relying party configured (templates ask)."""
    return wallet_settings(request).passkeys is not None


def _service(request: Request) -> Passkeys:
    if not passkeys_on(request):
        raise HTTPNotFound()
    return request_services(request).passkeys


def _options(request: Request, purpose: str, options_json: str, challenge: bytes) -> Response:
    request.session[CHALLENGE_KEY] = f"{purpose}:{bytes_to_base64url(challenge)}"
    return Response(options_json, content_type="application/json", charset="utf-8")


def _kept_challenge(request: Request, purpose: str) -> bytes:
    """The challenge handed to this browser for ``purpose``, taken from its
    session (a second answer finds none; the database refuses it anyway)."""
    kept = request.session.pop(CHALLENGE_KEY, "")
    kind, _, text = str(kept).partition(":")
    try:
        return base64url_to_bytes(text) if kind == purpose and text else b""
    except ValueError:
        return b""


# ------------------------------------------------------------ the user's list


def passkeys_page(request: Request, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> dict[str, Any]:
    service = _service(request)
    return {"passkeys": service.of_user(request.identity), "errors": errors or {},
            "values": values or {}, "max_name": MAX_NAME_CHARS,
            "max_credential": MAX_CREDENTIAL_CHARS}


def _refused(request: Request, exc: AccountError | PinRefused,
             values: dict[str, str] | None = None) -> dict[str, Any]:
    # A refusal is committed (a used challenge, a counted PIN or password try).
    request.response.status = 429 if isinstance(exc, LoginThrottled | PinLocked) else 400
    return passkeys_page(request, {"form": str(exc)}, values)


@view_config(route_name="passkeys", renderer=TEMPLATE, request_method="GET",
             permission="authenticated")
def passkeys(request: Request) -> dict[str, Any]:
    return passkeys_page(request)


@view_config(route_name="passkeys_options", request_method="POST", permission="authenticated")
def passkeys_options(request: Request) -> Response:
    try:
        ceremony = _service(request).registration_options(request.identity)
    except AccountError as exc:  # (too many: the script says why)
        return Response(json_body={"error": str(exc)}, status=400, charset="utf-8")
    return _options(request, "register", ceremony.options_json, ceremony.challenge)


@view_config(route_name="passkeys", renderer=TEMPLATE, request_method="POST",
             permission="authenticated")
def add_passkey(request: Request) -> dict[str, Any] | Response:
    name = field(request, "name", max_chars=MAX_NAME_CHARS + 1)
    credential = field(request, "credential", max_chars=MAX_CREDENTIAL_CHARS + 1)
    try:
        added = _service(request).register(
            request.identity, credential, name, _kept_challenge(request, "register"),
            pin=field(request, "pin"), password=field(request, "password"),
            ip=request.remote_addr or "unknown")
    except AccountError as exc:
        return _refused(request, exc, {"name": name})
    request.session.flash(f"Passkey “{added.name}” added: you can sign in with it now.")
    return HTTPSeeOther(request.route_url("passkeys"))


def _passkey_id(request: Request) -> int:
    return int(request.matchdict["id"])


@view_config(route_name="passkey_rename", renderer=TEMPLATE, request_method="POST",
             permission="authenticated")
def rename_passkey(request: Request) -> dict[str, Any] | Response:
    try:
        renamed = _service(request).rename(request.identity, _passkey_id(request),
                                           field(request, "name", max_chars=MAX_NAME_CHARS + 1))
    except AccountError as exc:
        return _refused(request, exc)
    request.session.flash(f"Renamed to “{renamed.name}”.")
    return HTTPSeeOther(request.route_url("passkeys"))


@view_config(route_name="passkey_remove", renderer=TEMPLATE, request_method="POST",
             permission="authenticated")
def remove_passkey(request: Request) -> dict[str, Any] | Response:
    try:
        _service(request).remove(request.identity, _passkey_id(request),
                                 pin=field(request, "pin"), password=field(request, "password"),
                                 ip=request.remote_addr or "unknown")
    except (AccountError, PinRefused) as exc:  # (said above the list: one form of many)
        return _refused(request, exc)
    request.session.flash("Passkey removed: it no longer signs you in.")
    return HTTPSeeOther(request.route_url("passkeys"))


# --------------------------------------------------------------- signing in


@view_config(route_name="login_passkey_options", request_method="POST")
def login_passkey_options(request: Request) -> Response:
    ceremony = _service(request).sign_in_options()
    return _options(request, "sign_in", ceremony.options_json, ceremony.challenge)


@view_config(route_name="login_passkey", renderer="login.jinja2", request_method="POST")
def login_passkey(request: Request) -> dict[str, Any] | Response:
    """Signed in as the passkey's owner: a session like a password's."""
    credential = field(request, "credential", max_chars=MAX_CREDENTIAL_CHARS + 1)
    try:
        user = _service(request).sign_in(credential, _kept_challenge(request, "sign_in"))
    except AccountError as exc:
        request.response.status = 400
        return {"errors": {"form": str(exc)}, "values": {}, "next": same_site_path(request)}
    headers = remember(request, user.id)
    return HTTPSeeOther(safe_next(request), headers=headers)
