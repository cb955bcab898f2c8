"""Shops' settlements, for shops' servers (permission ``merchant:reports``: a
shop's secret key): the history, one settlement with its payouts and report
figures, and its report as CSV (wallet.banking.auto_settlement). Live-only:
a test key lists none and finds none (404, as an unknown id)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.models import Settlement
from wallet.banking.settlement_reports import SettlementReport, report_csv
from wallet.core.models import Merchant
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json
from ..security import caller_livemode


def _shop(request: Request) -> Merchant:
    merchant: Merchant = request.identity
    return merchant


def shown(settlement: Settlement) -> Json:
    references = settlement.bank_references.split()
    return {"id": settlement.public_id, "status": settlement.status,
            "trigger": settlement.trigger, "amount": render.money(settlement.amount_paise),
            "bank_code": settlement.bank_code, "bank_references": references,
            "period_start": render.moment(settlement.period_start),
            "period_end": render.moment(settlement.period_end),
            "kept": render.money(settlement.kept_paise),
            "disputes_held": render.money(settlement.disputes_held_paise),
            "failure_reason": settlement.failure_reason or None,
            "created_at": render.moment(settlement.created_at),
            "settled_at": render.moment(settlement.settled_at),
            "livemode": True}  # (live-only: a test key finds none)


def with_report(report: SettlementReport) -> Json:
    return {"settlement": shown(report.settlement),
            "payments": {"count": report.payments,
                         "total": render.money(report.payments_paise),
                         "by_store": [{"name": line.name, "handle": line.handle,
                                       "count": line.payments,
                                       "total": render.money(line.paise)}
                                      for line in report.stores]},
            "refunds": {"count": report.refunds, "total": render.money(report.refunds_paise)},
            "fees": render.money(report.fees_paise), "net": render.money(report.net_paise),
            "payouts": [{"reference": p.reference, "amount": render.money(p.paise),
                         "status": p.status} for p in report.payouts]}


def _report(request: Request) -> SettlementReport:
    return request_services(request).auto_settlements.report(
        _shop(request), request.matchdict["settlement_id"], livemode=caller_livemode(request))


@view_config(route_name="settlements", request_method="GET", openapi=True, renderer="json",
             permission="merchant:reports")
def list_settlements(request: Request) -> Any:
    params = request.params
    limit = int(params.get("limit", 20))
    cursor = params.get("cursor")
    rows = request_services(request).auto_settlements.history(
        _shop(request), limit=limit + 1, before_id=int(cursor) if cursor else None,
        livemode=caller_livemode(request))
    return {"items": [shown(row) for row in rows[:limit]],
            "next_cursor": str(rows[limit - 1].id) if len(rows) > limit else None}


@view_config(route_name="settlement", request_method="GET", openapi=True, renderer="json",
             permission="merchant:reports")
def get_settlement(request: Request) -> Any:
    return with_report(_report(request))


@view_config(route_name="settlement_report", request_method="GET", openapi=True,
             permission="merchant:reports")
def settlement_report_csv(request: Request) -> Response:
    found = _report(request)
    response = Response(content_type="text/csv", charset="utf-8")
    response.text = report_csv(found)
    response.content_disposition = (
        f'attachment; filename="settlement-{found.settlement.public_id}.csv"')
    return response
