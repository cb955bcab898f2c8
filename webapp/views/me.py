"""The "Me" tab of the user app (a phone's bottom tab bar, the desktop's top
navigation): who is signed in, their KYC level, and links to the PIN, the
password, notifications and the other settings pages; signing out."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request

from webcommon.views import view_config


@view_config(route_name="me", renderer="me.jinja2", permission="authenticated")
def me(request: Request) -> dict[str, Any]:
    # (everything shown is the signed-in person's own record: request.identity)
    return {"user": request.identity}
