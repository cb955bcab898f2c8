"""Fraud reports to decide (wallet.care.fraud): the list, and the two
decisions -- return the held money to the sender, or release it to the
recipient -- each audited by the domain (FraudReview through OperatorActions)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..security import actor
from .actions import Actions


@view_defaults(permission="authenticated")
class FraudPages:
    def __init__(self, request: Request) -> None:
        self.request = request

    @view_config(route_name="fraud_holds", renderer="fraud_holds.jinja2")
    def listing(self) -> dict[str, Any]:
        return {"rows": request_services(self.request).fraud_reports.open_holds()}


class FraudActions(Actions):
    def _review(self) -> Any:
        return request_services(self.request).fraud_review(actor(self.request))

    @view_config(route_name="fraud_return", permission="authenticated",
                 request_method="POST")
    def return_to_sender(self) -> Response:
        return self.answer(self._review().return_to_sender(self.id, self.reason),
                           self.request.route_url("fraud_holds"))

    @view_config(route_name="fraud_release", permission="authenticated",
                 request_method="POST")
    def release(self) -> Response:
        return self.answer(self._review().release(self.id, self.reason),
                           self.request.route_url("fraud_holds"))
