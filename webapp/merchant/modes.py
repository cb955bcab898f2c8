"""The merchant app's Test/Live switch (wallet.merchants.modes): which mode
the pages listing integration objects show -- API keys, payment requests,
AutoPay mandates, webhook deliveries, payment links -- remembered in the session, live
until switched. Test mode puts an unmistakable banner on those pages (the
partial ``merchant/mode_switch.jinja2``). The payments, dashboard,
settlement and reports pages are live-only whatever the switch says (they
read transactions and the ledger, which test objects never touch) and say so.

``session_livemode(request)`` is the one place a page reads the mode; the
pages pass it to the domain's query helpers, as the API passes its key's."""
from __future__ import annotations

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.merchants.roles import Permission
from webcommon.views import view_config

from ..views.forms import field

SESSION_KEY = "merchant.livemode"
#: The pages with the switch: where "switch" sends the browser back to.
SWITCHABLE = ("api_keys", "payment_requests", "mandates", "webhooks", "links")
MODES = {"live": True, "test": False}


def session_livemode(request: Request) -> bool:
    return request.session.get(SESSION_KEY, True) is not False


def includeme(config: Configurator) -> None:
    config.add_route("mode", "/mode")
    config.scan(__name__)


@view_config(route_name="mode", request_method="POST", permission=Permission.REPORTS)
def switch_mode(request: Request) -> Response:
    mode, back = field(request, "mode"), field(request, "next")
    if mode in MODES:
        request.session[SESSION_KEY] = MODES[mode]
        request.session.flash("Test mode: you see test objects only; no money moves."
                              if mode == "test" else "Live mode.")
    return HTTPSeeOther(request.route_url(back if back in SWITCHABLE else "api_keys"))
