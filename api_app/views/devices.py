"""A user's devices (wallet.identity.signed_in_devices), as the user app's /me/devices:
the browsers signed in and the phone apps holding a token, and one ended at
once. A browser's session is read by the user app's idle timeout (its
default: this app has no page sessions of its own)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from wallet.identity.signed_in_devices import Device, Devices
from wallet.identity.web_sessions import SessionPolicy
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json
from ..security import current_token
from ..settings import api_settings


def devices_of(request: Request) -> Devices:
    return request_services(request).devices(SessionPolicy(),
                                    token_idle_s=api_settings(request).token_idle_s)


def device(found: Device) -> Json:
    return {"id": found.id, "kind": found.kind, "name": found.name,
            "browser": found.agent.browser, "system": found.agent.system,
            "network": found.ip or None, "location": found.location,
            "signed_in_at": render.moment(found.signed_in_at),
            "last_used_at": render.moment(found.last_used_at), "current": found.current}


@view_config(route_name="devices", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_devices(request: Request) -> Any:
    token = current_token(request)
    return {"items": [device(d) for d in devices_of(request).of_user(
        request.identity, current_token_id=token.id if token else None)]}


@view_config(route_name="device", request_method="DELETE", openapi=True, permission="user")
def sign_out_device(request: Request) -> Response:
    """End a device at once (this one too: the token then stops working)."""
    if not devices_of(request).sign_out(request.identity, request.matchdict["device_id"]):
        raise HTTPNotFound()
    return Response(status=204)
