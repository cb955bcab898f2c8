"""KYC and the PIN's reset, as the user app's /kyc and /pin/reset do: the
wallet's level and limits, the details that move it to full KYC (checked
with the PAN registry: wallet.identity.kyc), and a forgotten PIN reset with
the password (AccountService.confirm_password, throttled as sign-ins; every
other session and token of the user ends, this token lives on)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.identity.errors import AccountError
from wallet.identity.kyc import verified_record
from webcommon.views import view_config

from .. import render
from ..errors import account_refused
from ..money import Json
from ..security import current_token
from ..validation import json_body


def kyc_status(request: Request) -> Json:
    user = request.identity
    record = verified_record(request.dbsession, user.id)
    room = request.services.limits.headroom(user.id)
    return {"level": user.kyc_level,
            "verified": None if record is None else {
                "name_on_pan": record.name_on_pan, "pan": record.pan_masked,
                "verified_at": render.moment(record.verified_at)},
            "max_balance": render.money(room.max_balance_paise),
            "deposit_left": render.money(room.deposit_left_paise),
            "bank_left_this_month": (None if room.bank_left_paise is None
                                     else render.money(room.bank_left_paise))}


@view_config(route_name="kyc", request_method="GET", openapi=True, renderer="json",
             permission="user")
def kyc(request: Request) -> Any:
    return kyc_status(request)


@view_config(route_name="kyc", request_method="POST", openapi=True, renderer="json",
             permission="user")
def submit_kyc(request: Request) -> Any:
    """Full KYC: the details checked with the PAN registry (a refusal: 422)."""
    body = json_body(request)
    request.services.kyc.upgrade(request.identity, body["name_on_pan"], body["pan"],
                                 body["date_of_birth"])
    return kyc_status(request)


@view_config(route_name="pin_reset", request_method="POST", openapi=True, permission="user")
def reset_pin(request: Request) -> Response:
    """A new PIN given the password. A wrong password is answered, not
    raised, so that it counts against the throttle."""
    body = json_body(request)
    services = request.services
    try:
        services.accounts.confirm_password(request.identity, body["password"],
                                           request.remote_addr or "unknown")
    except AccountError as exc:
        return account_refused(exc, request)
    token = current_token(request)
    services.pins.reset(request.identity, body["pin"], body["pin"],
                        keep_token_id=token.id if token else None)
    return Response(status=204)
