"""Users' tickets in the console: the queue by due time with its SLA clock,
one ticket with its transaction's whole story (wallet.care.story), and the
operators' answers (wallet.care.ticket_actions: audited, each a line of the
ticket's timeline). A viewer reads; the forms are an operator's alone."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response

from wallet.care.story import QueueFilter, TicketStory
from wallet.care.ticket_actions import MAX_REASON_CHARS
from wallet.care.tickets import CATEGORY_LABELS
from wallet.core.codes import TicketStatus
from wallet.operations.operator_actions import ActionResult
from wallet.operations.operators import Role
from webcommon import request_services
from webcommon.views import view_config

from ..security import current_operator, ticket_actions
from . import field

ACTION: dict[str, Any] = {"permission": "authenticated", "request_method": "POST"}


def _story(request: Request) -> TicketStory:
    story = request_services(request).ticket_stories.story(request.matchdict["public_id"])
    if story is None:
        raise HTTPNotFound()
    return story


def _page(request: Request, story: TicketStory, **extra: Any) -> dict[str, Any]:
    return {"s": story, "may_act": Role.may_act(current_operator(request).role),
            "max_reason": MAX_REASON_CHARS, "error": "", "error_field": "",
            "amount": "", "categories": CATEGORY_LABELS, **extra}


@view_config(route_name="tickets", renderer="tickets.jinja2", permission="authenticated")
def queue(request: Request) -> dict[str, Any]:
    stories = request_services(request).ticket_stories
    chosen = QueueFilter.parse(request.params)
    return {"items": stories.queue(chosen), "counts": stories.counts(), "f": chosen,
            "categories": CATEGORY_LABELS, "statuses": TicketStatus.LIVE}


@view_config(route_name="ticket", renderer="ticket.jinja2", permission="authenticated",
             request_method="GET")
def ticket(request: Request) -> dict[str, Any]:
    return _page(request, _story(request))


@view_config(route_name="ticket_take", **ACTION)
@view_config(route_name="ticket_reverse", **ACTION)
@view_config(route_name="ticket_refund", **ACTION)
@view_config(route_name="ticket_reject", **ACTION)
@view_config(route_name="ticket_resolve", **ACTION)
@view_config(route_name="ticket_escalate", **ACTION)
def act(request: Request) -> Response:
    public_id = request.matchdict["public_id"]
    action = request.matched_route.name.removeprefix("ticket_")
    _story(request)  # (no such ticket: 404, nothing audited)
    actions = ticket_actions(request)
    reason = field(request, "reason", 600)
    result: ActionResult
    if action == "refund":
        result = actions.refund(public_id, field(request, "amount", 40), reason)
    else:
        result = getattr(actions, action)(public_id, reason)
    if result.ok:
        request.session.flash(f"Done: {result.message}")
        return HTTPSeeOther(request.route_url("ticket", public_id=public_id))
    # A form error on the ticket's page: what was refused, and why.
    page = _page(request, _story(request), error=result.message,
                 error_field=result.field or "", error_action=action,
                 amount=field(request, "amount", 40))
    response = render_to_response("ticket.jinja2", page, request=request)
    response.status = 403 if result.forbidden else 400 if result.field else 409
    return response
