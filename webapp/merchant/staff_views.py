"""Merchant app: the shop's people (an owner's page): who they are, their
role, stores, status and last sign-in; invite someone by email or phone
(the link shown once: no e-mail is sent), change a role or stores, remove
someone (signed out at once); and what the shop's people did lately. The
invited person's page (``/invite/<token>``) sets their password. Thin: the
rules are wallet.merchants.staff's."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.identity.errors import AccountError
from wallet.merchants.errors import StaffError, StaffNotFound
from wallet.merchants.roles import Permission, Role
from wallet.merchants.staff import StaffService
from webcommon import request_services
from webcommon.security import shop_actor
from webcommon.views import view_config, view_defaults

from ..views.forms import field
from .acting import landing_url

ID = "{id:\\d{1,18}}"
#: What each role may do, in words (the invite form says it).
ROLE_TEXT = {
    Role.OWNER: "everything: settle, refund, keys, settings and people",
    Role.MANAGER: "payments, refunds, reports, links and disputes of their stores",
    Role.CASHIER: "its store's payments today and the counter; no refunds or settings",
}


def includeme(config: Configurator) -> None:
    config.add_route("staff", "/staff")
    config.add_route("staff_member", f"/staff/{ID}")
    config.add_route("staff_remove", f"/staff/{ID}/remove")
    config.add_route("staff_invite", "/invite/{token}")
    config.scan(__name__)


def _stores(request: Request) -> list[str]:
    return [value for value in request.POST.getall("stores") if isinstance(value, str)][:201]


@view_defaults(permission=Permission.STAFF)
class StaffViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.staff: StaffService = request_services(request).staff
        actor = shop_actor(request)
        if actor is None:  # (the permission asked for one)
            raise HTTPNotFound()
        self.actor = actor

    def _page(self, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
              status: int = 200, invited: tuple[str, str] | None = None) -> dict[str, Any]:
        self.request.response.status = status
        if invited is not None:  # the link is on this page only: keep it out of caches
            self.request.response.cache_control = "no-store"
        merchant_id = self.actor.merchant_id
        return {"people": self.staff.people(merchant_id),
                "stores": self.staff.stores(merchant_id),
                "actions": self.staff.actions(merchant_id),
                "names": self.staff.names(merchant_id),
                "roles": ROLE_TEXT, "errors": errors or {},
                "values": values or {"role": Role.CASHIER, "stores": []},
                "invited": invited, "me": self.actor.staff_id}

    @view_config(route_name="staff", renderer="merchant/staff.jinja2", request_method="GET")
    def people(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="staff", renderer="merchant/staff.jinja2", request_method="POST")
    def invite(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: field(self.request, name)
                                  for name in ("name", "email", "phone", "role")}
        values["stores"] = _stores(self.request)
        try:
            invitation = self.staff.invite(
                self.actor, values["name"], values["email"], values["phone"], values["role"],
                values["stores"],
                lambda token: self.request.route_url("staff_invite", token=token))
        except StaffError as exc:
            return self._page(exc.errors, values, status=400)
        return self._page(invited=(invitation.staff.name, invitation.link))

    @view_config(route_name="staff_member", renderer="merchant/staff.jinja2",
                 request_method="POST")
    def change(self) -> dict[str, Any] | Response:
        try:
            person = self.staff.change(self.actor, int(self.request.matchdict["id"]),
                                       field(self.request, "role"), _stores(self.request))
        except StaffNotFound:
            raise HTTPNotFound() from None
        except StaffError as exc:
            return self._page(exc.errors, status=400)
        self.request.session.flash(f"{person.name} is now {person.role}.")
        return HTTPSeeOther(self.request.route_url("staff"))

    @view_config(route_name="staff_remove", renderer="merchant/staff.jinja2",
                 request_method="POST")
    def remove(self) -> dict[str, Any] | Response:
        staff_id = int(self.request.matchdict["id"])
        try:
            self.staff.remove(self.actor, staff_id)
        except StaffNotFound:
            raise HTTPNotFound() from None
        except StaffError as exc:
            return self._page(exc.errors, status=400)
        self.request.session.flash("Removed: they were signed out everywhere, and can sign in "
                                   "no more.")
        return HTTPSeeOther(self.request.route_url("staff"))


@view_config(route_name="staff_invite", renderer="merchant/invite.jinja2")
def accept_invitation(request: Request) -> dict[str, Any] | Response:
    """The invited person's page: their password, then the log-in page."""
    staff = request_services(request).staff
    token = request.matchdict["token"]
    try:
        person = staff.invitation(token)
    except StaffNotFound as exc:
        request.response.status = 404
        return {"person": None, "errors": {"form": str(exc)}}
    page = {"person": person, "errors": {}}
    if request.method != "POST":
        return page
    try:
        staff.accept(token, field(request, "password"), field(request, "repeat"))
    except AccountError as exc:  # (the password's problem)
        request.response.status = 400
        return {**page, "errors": exc.errors}
    request.session.flash(f"Welcome, {person.name}: your password is set. Sign in with "
                          f"{person.email or person.phone}.")
    if request.identity is not None:  # (someone else signed in in this browser)
        return HTTPSeeOther(landing_url(request))
    return HTTPSeeOther(request.route_url("login"))
