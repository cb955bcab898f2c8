"""Who of the shop is acting, for the merchant app's pages: where a person
starts, and the audit of what they do (wallet.merchants.staff)."""
from __future__ import annotations

from pyramid.request import Request

from wallet.merchants.roles import Permission
from webcommon import request_services
from webcommon.security import shop_actor


def audit(request: Request, action: str, subject: str, detail: str = "") -> None:
    """Keep what the signed-in person did (in the request's transaction: only
    if it commits). Call it where the action succeeded, never on a refusal."""
    actor = shop_actor(request)
    if actor is not None:
        request_services(request).staff.record_action(actor, action, subject, detail)


def landing_url(request: Request) -> str:
    """Where a signed-in person starts: the dashboard, or what their role
    opens (a cashier: the payments)."""
    if request.has_permission(Permission.REPORTS):
        return str(request.route_url("dashboard"))
    return str(request.route_url("payments"))
