"""The bell: a user's notifications (written by the domain with their events)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.models import User
from wallet.core.text import whole_number
from webcommon import request_services
from webcommon.views import view_config, view_defaults


@view_defaults(permission="authenticated")
class NotificationViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity

    @view_config(route_name="notifications", renderer="notifications.jinja2",
                 request_method="GET")
    def list(self) -> dict[str, Any]:
        service = request_services(self.request).notifications
        items = service.latest(self.user.id)
        return {"items": items, "newest_id": items[0].id if items else 0}

    @view_config(route_name="notifications_read", request_method="POST")
    def mark_read(self) -> Response:
        text = self.request.POST.get("up_to", "")
        up_to = whole_number(text)
        request_services(self.request).notifications.mark_read(self.user.id, up_to)
        return HTTPSeeOther(self.request.route_url("notifications"))
