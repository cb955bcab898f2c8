"""One-time codes by SMS in the API (the pages' flows, the same domain:
wallet.identity.phone_flows): sign up, or reset a forgotten password. A
refused code is answered, not raised: its counted try must be committed."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import OtpPurpose
from wallet.core.errors import WalletError
from wallet.identity.errors import AccountError
from wallet.identity.phone_codes import SentCode
from webcommon.views import view_config

from .. import render
from ..errors import account_refused, wallet_refused
from ..problems import problem
from ..validation import json_body


def _sent(request: Request, purpose: str, sent: SentCode) -> dict[str, Any]:
    request.response.status = 202
    return {"purpose": purpose, "verification_id": sent.token,
            "expires_at": render.moment(sent.expires_at),
            "resend_after": render.moment(sent.resend_at)}


@view_config(route_name="otp", request_method="POST", openapi=True, renderer="json",
             permission="public")
def send_otp(request: Request) -> Any:
    body = json_body(request)
    services = request.services
    try:
        if body["purpose"] == OtpPurpose.SIGNUP:
            sent = services.phone_signup.start(body["phone"], body.get("name", ""),
                                               body.get("password", ""))
        else:
            sent = services.password_recovery.start(body["phone"])
    except AccountError as exc:
        return _fields(exc, request)
    except WalletError as exc:
        return wallet_refused(exc, request)
    return _sent(request, body["purpose"], sent)


@view_config(route_name="otp_resend", request_method="POST", openapi=True, renderer="json",
             permission="public")
def resend_otp(request: Request) -> Any:
    body = json_body(request)
    flows = (request.services.phone_signup if body["purpose"] == OtpPurpose.SIGNUP
             else request.services.password_recovery)
    try:
        sent = flows.resend(body["verification_id"])
    except WalletError as exc:
        return wallet_refused(exc, request)
    return _sent(request, body["purpose"], sent)


@view_config(route_name="otp_verify", request_method="POST", openapi=True, renderer="json",
             permission="public")
def verify_otp(request: Request) -> Any:
    body = json_body(request)
    services = request.services
    try:
        if body["purpose"] == OtpPurpose.SIGNUP:
            user = services.phone_signup.finish(body["verification_id"], body["code"])
            request.response.status = 201
            return {"purpose": body["purpose"], "user_id": user.id, "name": user.name}
        services.password_recovery.finish(body["verification_id"], body["code"],
                                          body.get("password", ""), body.get("repeat", ""))
    except AccountError as exc:
        return _fields(exc, request)
    except WalletError as exc:  # (answered, not raised: a wrong code's try is committed)
        return wallet_refused(exc, request)
    return {"purpose": body["purpose"]}


def _fields(exc: AccountError, request: Request) -> Response:
    """Every field's problem at once (a sign-up's name, phone and password)."""
    if len(exc.errors) > 1:
        return problem("validation_error", str(exc), errors=[
            {"field": name, "message": message} for name, message in exc.errors.items()])
    return account_refused(exc, request)
