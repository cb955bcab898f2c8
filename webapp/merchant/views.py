"""Merchant app pages: thin -- parse, call the domain, render."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any

import segno
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember

from ledgerlib import PeriodTotal, format_paise
from wallet.codes import IST
from wallet.errors import AccountError, LoginThrottled, WalletError
from wallet.models import Merchant
from wallet.reports import MerchantReports
from wallet.withdrawals import MAX_WITHDRAWAL_PAISE
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from ..views.auth import safe_next
from ..views.forms import field, new_request_key, parse_rupees
from ..views.withdrawals import STATUS_TEXT

CHART_HEIGHT = 140


def today_ist() -> dt.date:
    return dt.datetime.now(IST).date()


def bar_chart(totals: Sequence[PeriodTotal],
              label: Callable[[PeriodTotal], str]) -> dict[str, Any]:
    """SVG geometry for a bar chart of credited amounts (drawn by the template)."""
    peak = max((t.credited_paise for t in totals), default=0) or 1
    width = 100 / len(totals)
    bars: list[dict[str, Any]] = []
    for i, total in enumerate(totals):
        height = round(CHART_HEIGHT * total.credited_paise / peak, 1)
        bars.append({"x": round(i * width, 2), "width": round(width * 0.8, 2),
                     "y": CHART_HEIGHT - height, "height": height, "label": label(total),
                     "amount": format_paise(total.credited_paise)})
    return {"bars": bars, "height": CHART_HEIGHT, "peak": format_paise(peak if peak > 1 else 0)}


def parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPBadRequest("Dates look like 2026-11-24.") from None


@view_config(route_name="signup", renderer="merchant/signup.jinja2", request_method="GET")
@view_config(route_name="login", renderer="merchant/login.jinja2", request_method="GET")
def auth_form(request: Request) -> dict[str, Any] | Response:
    if request.identity is not None:
        return HTTPSeeOther(request.route_url("dashboard"))
    return {"errors": {}, "values": {}, "next": request.params.get("next", "")}


@view_config(route_name="signup", renderer="merchant/signup.jinja2", request_method="POST")
def signup(request: Request) -> dict[str, Any] | Response:
    values = {name: field(request, name) for name in ("handle", "name", "email")}
    try:
        merchant = request_services(request).accounts.signup_merchant(
            values["handle"], values["name"], values["email"], field(request, "password"))
    except AccountError as exc:
        request.response.status = 400
        return {"errors": {exc.field or "form": str(exc)}, "values": values, "next": ""}
    return HTTPSeeOther(request.route_url("dashboard"), headers=remember(request, merchant.id))


@view_config(route_name="login", renderer="merchant/login.jinja2", request_method="POST")
def login(request: Request) -> dict[str, Any] | Response:
    values = {"email": field(request, "email")}
    try:
        merchant = request_services(request).accounts.authenticate_merchant(
            values["email"], field(request, "password"), request.remote_addr or "unknown")
    except AccountError as exc:
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return {"errors": {"form": str(exc)}, "values": values,
                "next": request.params.get("next", "")}
    return HTTPSeeOther(safe_next(request), headers=remember(request, merchant.id))


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Response:
    return HTTPSeeOther(request.route_url("login"), headers=forget(request))


@view_defaults(permission="authenticated")
class MerchantViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        self.reports: MerchantReports = request_services(request).merchant_reports

    @view_config(route_name="dashboard", renderer="merchant/dashboard.jinja2")
    def dashboard(self) -> dict[str, Any]:
        board = self.reports.dashboard(self.merchant, today_ist())
        return {
            "board": board,
            "daily": bar_chart(board.days, lambda t: t.period_start.strftime("%d %b")),
            "monthly": bar_chart(board.months, lambda t: t.period_start.strftime("%b %Y")),
            "balance": request_services(self.request).wallet.balance(self.merchant),
            "pay_url": self.pay_url(),
        }

    def pay_url(self) -> str:
        base = request_services(self.request).settings.user_app_url
        return f"{base}/pay/{self.merchant.handle}"

    @view_config(route_name="payments", renderer="merchant/payments.jinja2")
    def payments(self) -> dict[str, Any]:
        start, end = self._date_range()
        cursor = self.request.params.get("cursor") or None
        if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 19):
            raise HTTPNotFound()
        page = self.reports.payments(self.merchant, start, end, cursor)
        return {"page": page, "start": start, "end": end}

    @view_config(route_name="payments_csv")
    def payments_csv(self) -> Response:
        start, end = self._date_range()
        # Built inside the request's transaction (a lazy app_iter would run after
        # pyramid_tm closed it); MAX_CSV_ROWS bounds its size.
        response = Response(content_type="text/csv", charset="utf-8")
        response.text = "".join(self.reports.payments_csv(self.merchant, start, end))
        name = f"payments-{self.merchant.handle}-{start or 'all'}-{end or 'all'}.csv"
        response.content_disposition = f'attachment; filename="{name}"'
        return response

    def _date_range(self) -> tuple[dt.date | None, dt.date | None]:
        """The ``from`` and ``to`` days asked for (each may be absent)."""
        params = self.request.params
        return parse_day(params.get("from")), parse_day(params.get("to"))

    @view_config(route_name="qr")
    def qr(self) -> Response:
        buffer = io.BytesIO()
        segno.make(self.pay_url(), error="m").save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), content_type="image/svg+xml")

    def _settle_form(self, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"errors": errors or {}, "values": values or {},
                "banks": request_services(self.request).banks, "request_key": new_request_key(),
                "max_withdrawal_paise": MAX_WITHDRAWAL_PAISE,
                "balance": request_services(self.request).wallet.balance(self.merchant)}

    @view_config(route_name="settle", renderer="merchant/settle.jinja2", request_method="GET")
    def settle_form(self) -> dict[str, Any]:
        return self._settle_form()

    @view_config(route_name="settle", renderer="merchant/settle.jinja2", request_method="POST")
    def settle(self) -> dict[str, Any] | Response:
        names = ("bank", "account_number", "ifsc", "amount")
        values = {name: field(self.request, name) for name in names}
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(values["amount"], errors, max_paise=MAX_WITHDRAWAL_PAISE)
        if errors or amount_paise is None:  # (None comes with an error)
            return self._settle_form(errors, values, status=400)
        service = request_services(self.request).withdrawals
        try:
            tx = service.request(self.merchant, values["bank"], values["account_number"],
                                 values["ifsc"], amount_paise, field(self.request, "request_key"))
        except WalletError as exc:
            return self._settle_form({exc.field or "form": str(exc)}, values, status=400)
        return HTTPSeeOther(self.request.route_url("settlement", id=tx.id))

    @view_config(route_name="settlement", renderer="merchant/settlement.jinja2")
    def settlement(self) -> dict[str, Any]:
        service = request_services(self.request).withdrawals
        found = service.for_user(self.merchant, int(self.request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        tx, wd = found
        banks = request_services(self.request).banks
        bank = None if tx.bank_code is None else banks.get(tx.bank_code)
        return {"tx": tx, "wd": wd, "bank": bank,
                "status_text": STATUS_TEXT.get(tx.status, tx.status)}
