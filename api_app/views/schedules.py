"""Scheduled and recurring payments (wallet.money.schedules), for a user's
token: made with the PIN and an Idempotency-Key (the money-request runner),
listed, paused, resumed, cancelled, a run skipped, and a run above the
per-run cap paid with the PIN."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.money.activity import describe
from wallet.money.models import PaymentSchedule
from wallet.money.schedule_quotes import RunQuote, quote_schedule
from wallet.money.schedules import PaymentSchedules
from webcommon.views import view_config

from .. import render
from ..money import Json, run_amount_request, run_money_request


def _schedules(request: Request) -> PaymentSchedules:
    schedules: PaymentSchedules = request.services.payment_schedules
    return schedules


def shown(request: Request, schedule: PaymentSchedule) -> Json:
    schedules = _schedules(request)
    return render.schedule(schedule, schedules.payee_of(schedule),
                           schedules.next_run(schedule), schedules.runs(schedule, limit=12))


@view_config(route_name="schedules", request_method="POST", openapi=True, permission="user")
def create_schedule(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        quote = quote_schedule(
            _schedules(request), request.identity, to_phone=body.get("to_phone"),
            merchant_handle=body.get("merchant_handle"), amount=amount,
            frequency=body["frequency"], start_date=body["start_date"],
            end_date=body.get("end_date"), count=body.get("count"), note=body.get("note", ""))
        return 201, shown(request, quote.confirm(body["pin"], key))

    return run_amount_request(request, operation)


@view_config(route_name="schedules", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_schedules(request: Request) -> Any:
    params = request.params
    cursor = params.get("cursor")
    rows, next_cursor = _schedules(request).page(
        request.identity, cursor=int(cursor) if cursor else None,
        limit=int(params.get("limit", 20)))
    return {"items": [shown(request, row) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


def _id(request: Request) -> str:
    return str(request.matchdict["schedule_id"])


@view_config(route_name="schedule", request_method="GET", openapi=True, renderer="json",
             permission="user")
def get_schedule(request: Request) -> Any:
    return shown(request, _schedules(request).get(request.identity, _id(request)))


@view_config(route_name="schedule_pause", request_method="POST", openapi=True,
             renderer="json", permission="user")
def pause_schedule(request: Request) -> Any:
    return shown(request, _schedules(request).pause(request.identity, _id(request)))


@view_config(route_name="schedule_resume", request_method="POST", openapi=True,
             renderer="json", permission="user")
def resume_schedule(request: Request) -> Any:
    return shown(request, _schedules(request).resume(request.identity, _id(request)))


@view_config(route_name="schedule_cancel", request_method="POST", openapi=True,
             renderer="json", permission="user")
def cancel_schedule(request: Request) -> Any:
    return shown(request, _schedules(request).cancel(request.identity, _id(request)))


@view_config(route_name="schedule_run_skip", request_method="POST", openapi=True,
             renderer="json", permission="user")
def skip_run(request: Request) -> Any:
    schedules = _schedules(request)
    schedules.skip(request.identity, _id(request), int(request.matchdict["run_number"]))
    return shown(request, schedules.get(request.identity, _id(request)))


@view_config(route_name="schedule_run_pay", request_method="POST", openapi=True,
             permission="user")
def pay_run(request: Request) -> Response:
    def operation(key: str, body: Json) -> tuple[int, Json]:
        quote = RunQuote(_schedules(request), request.identity, _id(request),
                         int(request.matchdict["run_number"]))
        tx = quote.confirm(body["pin"], key)
        return 201, render.activity(describe(request.identity, tx))

    return run_money_request(request, operation)
