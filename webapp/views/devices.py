"""Your devices (/me/devices): the browsers signed in to the user app and the
phone apps holding a token, each with its browser and system, its network
(masked), where if known, when last used, "this device" marked; "Sign out"
ends one at once (its next request is refused), "Sign out everywhere else"
every other. The rules are the domain's (wallet.identity.signed_in_devices)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import User
from wallet.identity.signed_in_devices import Devices, is_device_id
from webcommon import request_services
from webcommon.security import SessionSettings, current_session_id
from webcommon.views import view_config, view_defaults


def devices_of(request: Request) -> Devices:
    """The user app's browsers by its own session policy; tokens until they
    expire or are revoked (their idle timeout is the API app's setting)."""
    settings: SessionSettings = request.registry["web_sessions"]
    return request_services(request).devices(settings.policy, token_idle_s=None)


@view_defaults(permission="authenticated")
class DeviceViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.devices = devices_of(request)

    @view_config(route_name="devices", renderer="devices.jinja2", request_method="GET")
    def list(self) -> dict[str, Any]:
        return {"devices": self.devices.of_user(
            self.user, current_session_id=current_session_id(self.request))}

    @view_config(route_name="device_sign_out", request_method="POST")
    def sign_out(self) -> Response:
        """End one device (not this one: "Log out" does that)."""
        device = self.request.matchdict["id"]
        if not is_device_id(device):
            raise HTTPNotFound()
        current = current_session_id(self.request)
        if current is not None and device == f"web_{current}":
            self.request.session.flash("That is this device: use Log out.")
        elif self.devices.sign_out(self.user, device):
            self.request.session.flash("Signed out on that device.")
        else:
            self.request.session.flash("That device was signed out already.")
        return HTTPSeeOther(self.request.route_url("devices"))

    @view_config(route_name="devices_sign_out_others", request_method="POST")
    def sign_out_others(self) -> Response:
        ended = self.devices.sign_out_others(
            self.user, current_session_id=current_session_id(self.request))
        self.request.session.flash("Signed out everywhere else." if ended else
                                   "You were not signed in anywhere else.")
        return HTTPSeeOther(self.request.route_url("devices"))
