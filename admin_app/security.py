"""Who may reach the console (the allow-list) and who is acting."""
from __future__ import annotations

from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from wallet.care.ticket_actions import TicketActions
from wallet.core.models import Operator
from wallet.operations.audit import Actor
from wallet.operations.operator_actions import OperatorActions
from webcommon import request_services
from webcommon.observability import Handler

from .settings import AdminSettings


def allow_list_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Refuse (403) every address off ``admin.allowed_networks``: the console
    lives on an internal network. remote_addr, never X-Forwarded-For (behind a
    proxy, waitress's trusted_proxy settings rewrite remote_addr)."""
    settings: AdminSettings = registry["admin_settings"]

    def tween(request: Request) -> Response:
        if not settings.allows(request.remote_addr):
            return Response("This console is not served to your address.", status=403,
                            content_type="text/plain")
        return handler(request)

    return tween


def current_operator(request: Request) -> Operator:
    found: Operator = request.identity
    return found


def actor(request: Request) -> Actor:
    operator = current_operator(request)
    return Actor(operator.name, operator.role, "console")


def operator_actions(request: Request) -> OperatorActions:
    return request_services(request).operator_actions(actor(request))


def ticket_actions(request: Request) -> TicketActions:
    return request_services(request).ticket_actions(actor(request),
                                                    current_operator(request).id)
