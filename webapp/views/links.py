"""A shop's payment link, the customer's side: /l/<plink_…>. The page says
what the link asks for (the amount, or the range of one the customer
enters); its POST makes a payment request for the link
(PaymentLinks.open) and goes on to that request's checkout, where it is paid
by the one rule of every checkout (PaymentRequests.pay). A test link's page
says TEST, and its POST makes a test payment request and goes on to the test
checkout (simulated: nothing moves)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import LinkStatus
from wallet.core.errors import WalletError
from wallet.merchants.errors import LinkNotFound, LinkNotPayable
from wallet.merchants.link_rules import REFUSED
from wallet.merchants.models import PaymentRequest
from wallet.merchants.payment_links import LinkView, PaymentLinks, range_text
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .forms import field, made_once, new_request_key

MAX_ID_CHARS = 40


@view_defaults(route_name="payment_link", renderer="payment_link.jinja2",
               permission="authenticated")
class PaymentLinkViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.links: PaymentLinks = request_services(request).payment_links
        public_id: str = request.matchdict["id"]
        self.public_id = public_id if len(public_id) <= MAX_ID_CHARS else ""  # (not found)

    def _page(self, found: LinkView, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"found": found, "link": found.link, "merchant": found.merchant,
                "errors": errors or {}, "values": values or {},
                "request_key": new_request_key(), "range_text": range_text(found.link),
                "status_text": REFUSED.get(found.status, "")
                if found.status != LinkStatus.ACTIVE else ""}

    def _not_found(self) -> dict[str, Any]:
        self.request.override_renderer = "error.jinja2"
        self.request.response.status = 404
        return {"title": "No such payment link",
                "message": "This payment link is not valid. Ask the shop for a new one."}

    @view_config(request_method="GET")
    def show(self) -> dict[str, Any]:
        try:
            return self._page(self.links.view(self.public_id))
        except LinkNotFound:
            return self._not_found()

    @view_config(request_method="POST")
    def pay(self) -> dict[str, Any] | Response:
        """The amount (an open link's) checked, a payment request made for
        the link, once per form, then its checkout."""
        values = {"amount": field(self.request, "amount")}
        made: list[PaymentRequest] = []  # (none on a replay: the checkout forwards a test one)

        def make() -> str:
            made.append(self.links.open(self.public_id, values["amount"]))
            return made[0].public_id

        try:  # (the link is read by open: a refusal reads it again for the page)
            public_id = made_once(self.request, "checkout",
                                  {"link": self.public_id, **values}, make)
        except LinkNotFound:
            return self._not_found()
        except LinkNotPayable as exc:  # paid (single use), expired, cancelled meanwhile
            return self._page(self.links.view(self.public_id), {"form": str(exc)},
                              values, status=409)
        except WalletError as exc:
            return self._page(self.links.view(self.public_id), exc.errors, values,
                              status=400)
        test = bool(made) and not made[0].livemode
        return HTTPSeeOther(self.request.route_url("test_checkout" if test else "checkout",
                                                   id=public_id))
