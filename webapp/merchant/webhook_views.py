"""Merchant app: webhooks to the shop's server. Endpoints (URL and events),
their signing secret (shown on the endpoint's page: the shop's server needs it
to verify our signatures; rotating keeps the old one valid for a grace
period), enable/disable, the delivery log with each delivery's attempts and a
resend button; and the dashboard's notice of an endpoint we disabled.

Thin, like the other merchant views: parse, call wallet.merchants.webhooks,
render. Included by webapp.merchant (its routes and views live here)."""
from __future__ import annotations

import json
from typing import Any

from pyramid.config import Configurator
from pyramid.events import BeforeRender
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import Delivery, Event
from wallet.core.models import Merchant
from wallet.merchants.errors import DeliveryNotFound, EndpointNotFound, WebhookError
from wallet.merchants.models import MerchantEndpoint
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from wallet.merchants.webhooks import MAX_URL_CHARS, MerchantWebhooks, duration_text
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..views.forms import field
from .acting import audit
from .modes import session_livemode

ID = "{id:\\d{1,18}}"
DELIVERY = "{delivery:\\d{1,18}}"
EVENT_TEXT = {
    Event.PAYMENT_REQUEST_PAID: "A payment request was paid",
    Event.PAYMENT_REQUEST_EXPIRED: "A payment request expired unpaid",
    Event.REFUND_SUCCEEDED: "A refund was made",
    Event.MANDATE_APPROVED: "A customer approved an AutoPay mandate",
    Event.MANDATE_PAUSED: "A customer paused an AutoPay mandate",
    Event.MANDATE_RESUMED: "A customer resumed an AutoPay mandate",
    Event.MANDATE_REVOKED: "A customer revoked an AutoPay mandate",
    Event.MANDATE_DEBIT_SUCCEEDED: "An AutoPay debit was paid",
    Event.MANDATE_DEBIT_FAILED: "An AutoPay debit failed or was cancelled",
}
DASHBOARD = "merchant/dashboard.jinja2"


def includeme(config: Configurator) -> None:
    config.add_route("webhooks", "/webhooks")
    config.add_route("webhook", f"/webhooks/{ID}")
    config.add_route("webhook_events", f"/webhooks/{ID}/events")
    config.add_route("webhook_rotate", f"/webhooks/{ID}/rotate")
    config.add_route("webhook_enable", f"/webhooks/{ID}/enable")
    config.add_route("webhook_disable", f"/webhooks/{ID}/disable")
    config.add_route("webhook_delivery", f"/webhooks/{ID}/deliveries/{DELIVERY}")
    config.add_route("webhook_resend", f"/webhooks/{ID}/deliveries/{DELIVERY}/resend")
    config.add_subscriber(disabled_endpoints_notice, BeforeRender)
    config.scan(__name__)


def disabled_endpoints_notice(event: BeforeRender) -> None:
    """The dashboard tells the shop about endpoints we disabled for failing
    (merchant/webhooks_notice.jinja2, included by the dashboard)."""
    if event.get("renderer_name") != DASHBOARD:
        return
    request: Request = event["request"]
    merchant: Merchant | None = request.identity
    if merchant is not None and request.has_permission(Permission.KEYS):
        event["disabled_webhooks"] = request_services(request).merchant_webhooks \
            .disabled_by_failures(merchant.id)


def _int(text: str | None) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise HTTPNotFound()
    return int(text)


@view_defaults(permission=Permission.KEYS)  # the shop's server: signing secrets
class WebhookViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        self.webhooks: MerchantWebhooks = request_services(request).merchant_webhooks

    # ----------------------------------------------------------- endpoints

    def _list(self, errors: dict[str, str] | None = None,
              values: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"endpoints": self.webhooks.endpoints(self.merchant.id),
                "livemode": session_livemode(self.request), "here": "webhooks",
                "events": EVENT_TEXT, "errors": errors or {},
                "values": values or {"events": list(Event.ALL)},
                "https_only": self.webhooks.policy.require_https}

    @view_config(route_name="webhooks", renderer="merchant/webhooks.jinja2",
                 request_method="GET")
    def endpoints(self) -> dict[str, Any]:
        return self._list()

    @view_config(route_name="webhooks", renderer="merchant/webhooks.jinja2",
                 request_method="POST")
    def create(self) -> dict[str, Any] | Response:
        url, events = field(self.request, "url", max_chars=MAX_URL_CHARS + 1), self._events()
        try:
            endpoint = self.webhooks.create(self.merchant.id, url, events)
        except WebhookError as exc:
            return self._list(exc.errors, {"url": url, "events": events},
                              status=400)
        audit(self.request, StaffAction.WEBHOOK_CHANGED, f"endpoint {endpoint.id}",
              f"added: {endpoint.url}")
        self.request.session.flash("Endpoint added. Give its signing secret (below) to your "
                                   "server, so it can check that webhooks come from us.")
        return HTTPSeeOther(self.request.route_url("webhook", id=endpoint.id))

    def _events(self) -> list[str]:
        return [value for value in self.request.POST.getall("events")
                if isinstance(value, str)][:len(Event.ALL) + 1]

    def _endpoint(self) -> MerchantEndpoint:
        try:
            return self.webhooks.endpoint(self.merchant.id, int(self.request.matchdict["id"]))
        except EndpointNotFound:
            raise HTTPNotFound() from None

    def _page(self, endpoint: MerchantEndpoint, errors: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        cursor = _int(self.request.params.get("cursor"))
        livemode = session_livemode(self.request)
        log = self.webhooks.log(self.merchant.id, endpoint.id, cursor=cursor, livemode=livemode)
        return {"endpoint": endpoint, "log": log, "events": EVENT_TEXT,
                "livemode": livemode, "here": "webhooks",
                "chosen": endpoint.events.split(), "errors": errors or {},
                "open": (Delivery.PENDING, Delivery.RETRYING),
                "grace": duration_text(self.webhooks.policy.secret_grace_s),
                "now": self.webhooks.clock()}

    @view_config(route_name="webhook", renderer="merchant/webhook.jinja2",
                 request_method="GET")
    def endpoint(self) -> dict[str, Any]:
        return self._page(self._endpoint())

    @view_config(route_name="webhook_events", renderer="merchant/webhook.jinja2",
                 request_method="POST")
    def update_events(self) -> dict[str, Any] | Response:
        endpoint = self._endpoint()
        try:
            self.webhooks.update_events(self.merchant.id, endpoint.id, self._events())
        except WebhookError as exc:
            return self._page(endpoint, exc.errors, status=400)
        audit(self.request, StaffAction.WEBHOOK_CHANGED, f"endpoint {endpoint.id}",
              "events: " + " ".join(self._events()))
        self.request.session.flash("Events saved.")
        return self._back(endpoint)

    @view_config(route_name="webhook_rotate", request_method="POST")
    def rotate(self) -> Response:
        endpoint = self.webhooks.rotate_secret(self.merchant.id, self._endpoint().id)
        audit(self.request, StaffAction.WEBHOOK_CHANGED, f"endpoint {endpoint.id}",
              "signing secret rotated")
        self.request.session.flash(
            "New signing secret made. Until the old one expires, every webhook carries a "
            "signature by each: switch your server over before then.")
        return self._back(endpoint)

    @view_config(route_name="webhook_disable", request_method="POST")
    def disable(self) -> Response:
        endpoint = self.webhooks.disable(self.merchant.id, self._endpoint().id)
        audit(self.request, StaffAction.WEBHOOK_CHANGED, f"endpoint {endpoint.id}", "disabled")
        self.request.session.flash("Endpoint disabled: it gets no webhooks until you enable it.")
        return self._back(endpoint)

    @view_config(route_name="webhook_enable", request_method="POST")
    def enable(self) -> Response:
        endpoint = self.webhooks.enable(self.merchant.id, self._endpoint().id)
        audit(self.request, StaffAction.WEBHOOK_CHANGED, f"endpoint {endpoint.id}", "enabled")
        self.request.session.flash("Endpoint enabled. Webhooks that failed meanwhile can be "
                                   "sent again from the log.")
        return self._back(endpoint)

    def _back(self, endpoint: MerchantEndpoint) -> Response:
        return HTTPSeeOther(self.request.route_url("webhook", id=endpoint.id))

    # ----------------------------------------------------------- deliveries

    def _delivery_id(self) -> int:
        return int(self.request.matchdict["delivery"])

    @view_config(route_name="webhook_delivery", renderer="merchant/webhook_delivery.jinja2")
    def delivery(self) -> dict[str, Any]:
        endpoint = self._endpoint()
        try:
            detail = self.webhooks.delivery(self.merchant.id, self._delivery_id(),
                                            livemode=session_livemode(self.request))
        except DeliveryNotFound:
            raise HTTPNotFound() from None
        if detail.endpoint.id != endpoint.id:
            raise HTTPNotFound()
        try:
            payload = json.dumps(json.loads(detail.event.payload), indent=2, ensure_ascii=False)
        except ValueError:
            payload = detail.event.payload
        return {"detail": detail, "endpoint": endpoint, "payload": payload,
                "events": EVENT_TEXT, "open": (Delivery.PENDING, Delivery.RETRYING)}

    @view_config(route_name="webhook_resend", request_method="POST")
    def resend(self) -> Response:
        endpoint = self._endpoint()
        try:
            livemode = session_livemode(self.request)
            detail = self.webhooks.delivery(self.merchant.id, self._delivery_id(),
                                            livemode=livemode)
            if detail.endpoint.id != endpoint.id:
                raise HTTPNotFound()
            again = self.webhooks.resend(self.merchant.id, detail.delivery.id,
                                         livemode=livemode)
        except DeliveryNotFound:
            raise HTTPNotFound() from None
        except WebhookError as exc:
            self.request.session.flash(str(exc))
            return self._back(endpoint)
        self.request.session.flash(f"Sent again, as delivery {again.id}.")
        return self._back(endpoint)
