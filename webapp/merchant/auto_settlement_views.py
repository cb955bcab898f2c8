"""Merchant app: automatic settlement (wallet.banking.auto_settlement) -- the
schedule (when, the minimum kept, to which registered account; saved with
the shop PIN), "Settle all now" (the PIN above the threshold), the history of
settlements and each one's report, on the page and as CSV. Thin: the rules
are the domain's; a refused PIN is a normal (committed) answer, so the try counts."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.auto_settlement import AutoSettlements
from wallet.banking.errors import NothingToSettle, SettlementNotFound
from wallet.banking.merchant_bank_accounts import moment_text
from wallet.banking.settlement_reports import SettlementReport, report_csv
from wallet.banking.settlement_times import T_PLUS_1_AT
from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.core.text import whole_number
from webcommon import request_services
from webcommon.views import view_config

from ..views.forms import field, new_request_key
from .settlement_views import pin_setup

PAGE = 30
PUBLIC_ID = "{id:stl_[A-Za-z0-9_-]{4,40}}"


def includeme(config: Configurator) -> None:
    config.add_route("settlements", "/settlements")
    config.add_route("settlement_schedule", "/settlements/schedule")
    config.add_route("settle_all", "/settlements/settle-all")
    config.add_route("settlement_report", f"/settlements/{PUBLIC_ID}")
    config.add_route("settlement_report_csv", f"/settlements/{PUBLIC_ID}/report.csv")
    config.scan(__name__)


def _service(request: Request) -> AutoSettlements:
    return request_services(request).auto_settlements


def _schedule_page(request: Request, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
    request.response.status = status
    merchant: Merchant = request.identity
    services = request_services(request)
    auto, accounts = services.auto_settlements, services.merchant_bank_accounts
    schedule = auto.schedule_of(merchant)
    registered = accounts.registered(merchant)
    available = services.activity.balance(merchant).available_paise
    if values is None:
        values = {"mode": schedule.mode if schedule else "off",
                  "times": (schedule.times.replace(",", ", ") if schedule and schedule.times
                            else "11:00, 17:00"),
                  "min_balance": (f"{schedule.min_balance_paise / 100:.2f}"
                                  if schedule and schedule.min_balance_paise else ""),
                  "account": str(schedule.bank_account_id or "") if schedule else ""}
    return {"errors": errors or {}, "values": values, "schedule": schedule,
            "described": auto.describe(schedule) if schedule else "off",
            "next_run": (moment_text(schedule.next_run_at)
                         if schedule and schedule.next_run_at else ""),
            "accounts": registered, "names": {a.id: accounts.name(a) for a in registered},
            "waiting": {a.id: moment_text(a.usable_from) for a in registered
                        if not accounts.usable(a)},
            "t_plus_1_at": f"{T_PLUS_1_AT:%H:%M}", "available": available,
            "needs_pin": auto.needs_pin(available), "request_key": new_request_key()}


@view_config(route_name="settlement_schedule", renderer="merchant/settlement_schedule.jinja2",
             permission="merchant:settle", request_method="GET")
def schedule_form(request: Request) -> dict[str, Any] | Response:
    return pin_setup(request) or _schedule_page(request)


@view_config(route_name="settlement_schedule", renderer="merchant/settlement_schedule.jinja2",
             permission="merchant:settle", request_method="POST")
def save_schedule(request: Request) -> dict[str, Any] | Response:
    if (gate := pin_setup(request)) is not None:
        return gate
    values = {name: field(request, name) for name in ("mode", "times", "min_balance",
                                                      "account")}
    auto = _service(request)
    try:
        new = auto.read_schedule(values["mode"], values["times"], values["min_balance"],
                                 values["account"])
        auto.set_schedule(request.identity, new, field(request, "pin"))
    except WalletError as exc:
        return _schedule_page(request, exc.errors, values, status=400)
    request.session.flash("Automatic settlement saved.")
    return HTTPSeeOther(request.route_url("settlement_schedule"))


@view_config(route_name="settle_all", renderer="merchant/settlement_schedule.jinja2",
             permission="merchant:settle", request_method="POST")
def settle_all(request: Request) -> dict[str, Any] | Response:
    if (gate := pin_setup(request)) is not None:
        return gate
    try:
        made = _service(request).settle_all(request.identity, field(request, "account"),
                                            field(request, "request_key"),
                                            field(request, "pin"))
    except WalletError as exc:
        errors = {f"settle_{name}": text for name, text in exc.errors.items()}
        return _schedule_page(request, errors,
                              status=409 if isinstance(exc, NothingToSettle) else 400)
    return HTTPSeeOther(request.route_url("settlement_report", id=made.public_id))


@view_config(route_name="settlements", renderer="merchant/settlements.jinja2",
             permission="merchant:settle", request_method="GET")
def history(request: Request) -> dict[str, Any]:
    before = whole_number(request.params.get("before", ""))
    rows = _service(request).history(request.identity, limit=PAGE + 1, before_id=before)
    return {"settlements": rows[:PAGE],
            "next_before": rows[PAGE - 1].id if len(rows) > PAGE else None}


def _report(request: Request) -> SettlementReport:
    try:
        return _service(request).report(request.identity, request.matchdict["id"])
    except SettlementNotFound:
        raise HTTPNotFound() from None


@view_config(route_name="settlement_report", renderer="merchant/settlement_report.jinja2",
             permission="merchant:settle", request_method="GET")
def report(request: Request) -> dict[str, Any]:
    return {"report": _report(request)}


@view_config(route_name="settlement_report_csv", permission="merchant:settle",
             request_method="GET")
def report_file(request: Request) -> Response:
    found = _report(request)
    response = Response(content_type="text/csv", charset="utf-8")
    response.text = "\ufeff" + report_csv(found)  # (a BOM: spreadsheets read UTF-8)
    response.content_disposition = (
        f'attachment; filename="settlement-{found.settlement.public_id}.csv"')
    return response
