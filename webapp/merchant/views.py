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

from ledgerlib import format_paise
from wallet.core.codes import IST
from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.identity.errors import AccountError, LoginThrottled
from wallet.merchants.errors import PaymentNotFound
from wallet.merchants.reports import MerchantReports, PaymentDetail, PeriodFigures
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from webcommon import request_read_services, request_services
from webcommon.security import store_scope, today_only
from webcommon.views import view_config, view_defaults

from ..views.auth import same_site_path
from ..views.forms import field, new_request_key, parse_rupees
from .acting import audit, landing_url

CHART_HEIGHT = 140


def today_ist() -> dt.date:
    return dt.datetime.now(IST).date()


#: The chart's series: (attribute of PeriodFigures, its name).
SERIES = (("gross_paise", "Payments in"), ("refunds_paise", "Refunds"), ("net_paise", "Net"))


def figures_chart(figures: Sequence[PeriodFigures],
                  label: Callable[[PeriodFigures], str]) -> dict[str, Any]:
    """SVG geometry of a bar chart of gross, refunds and net per period, three
    bars side by side (drawn by the template); net may go below the zero line."""
    values = [[int(getattr(f, name)) for name, _ in SERIES] for f in figures]
    top = max((v for row in values for v in row), default=0)
    bottom = min(0, *(v for row in values for v in row))
    span = (top - bottom) or 1
    zero_y = round(CHART_HEIGHT * top / span, 1)
    slot = 100 / len(figures)
    width = slot * 0.84 / len(SERIES)
    bars: list[dict[str, Any]] = []
    for i, (figure, row) in enumerate(zip(figures, values, strict=True)):
        for j, ((name, title), value) in enumerate(zip(SERIES, row, strict=True)):
            height = round(CHART_HEIGHT * abs(value) / span, 1)
            bars.append({"x": round(i * slot + j * width, 2), "width": round(width * 0.9, 2),
                         "y": zero_y - height if value >= 0 else zero_y, "height": height,
                         "series": name.removesuffix("_paise"),
                         "label": f"{label(figure)} · {title}", "amount": format_paise(value)})
    return {"bars": bars, "height": CHART_HEIGHT, "zero_y": zero_y,
            "first": label(figures[0]), "last": label(figures[-1]),
            "series": [(name.removesuffix("_paise"), title) for name, title in SERIES],
            "peak": format_paise(top)}


def parse_day(text: str | None, errors: dict[str, str], name: str) -> dt.date | None:
    """A day of the filter, or None (absent; or refused: ``errors[name]`` says why)."""
    if not text:
        return None
    try:
        if len(text) != 10:  # (fromisoformat takes other shapes too, like 20261124)
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = "Enter a date like 2026-11-24."
        return None


@view_config(route_name="signup", renderer="merchant/signup.jinja2", request_method="GET")
@view_config(route_name="login", renderer="merchant/login.jinja2", request_method="GET")
def auth_form(request: Request) -> dict[str, Any] | Response:
    if request.identity is not None:
        return HTTPSeeOther(landing_url(request))
    return {"errors": {}, "values": {}, "next": same_site_path(request)}


@view_config(route_name="signup", renderer="merchant/signup.jinja2", request_method="POST")
def signup(request: Request) -> dict[str, Any] | Response:
    values = {name: field(request, name) for name in ("handle", "name", "email")}
    try:
        merchant = request_services(request).accounts.signup_merchant(
            values["handle"], values["name"], values["email"], field(request, "password"))
    except AccountError as exc:
        request.response.status = 400
        return {"errors": exc.errors, "values": values, "next": ""}
    return HTTPSeeOther(request.route_url("dashboard"), headers=remember(request, merchant.id))


@view_config(route_name="login", renderer="merchant/login.jinja2", request_method="POST")
def login(request: Request) -> dict[str, Any] | Response:
    """The shop's own login (its email), or a person of a shop (their email
    or phone): wallet.merchants.staff."""
    values = {"email": field(request, "email")}
    try:
        signed_in = request_services(request).staff.authenticate(
            values["email"], field(request, "password"), request.remote_addr or "unknown")
    except AccountError as exc:
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return {"errors": {"form": str(exc)}, "values": values,
                "next": same_site_path(request)}
    headers = remember(request, signed_in.principal_id, kind=signed_in.kind)
    return HTTPSeeOther(same_site_path(request) or landing_url(request), headers=headers)


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Response:
    return HTTPSeeOther(request.route_url("login"), headers=forget(request))


@view_defaults(permission=Permission.VIEW_PAYMENTS)
class MerchantViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        # Dashboard, reports and lists only read: a standby may serve them.
        self.reports: MerchantReports = request_read_services(request).merchant_reports

    @view_config(route_name="dashboard", renderer="merchant/dashboard.jinja2",
                 permission=Permission.REPORTS)
    def dashboard(self) -> dict[str, Any]:
        board = self.reports.dashboard(self.merchant, today_ist())
        return {
            "board": board,
            "daily": figures_chart(board.days, lambda t: t.period_start.strftime("%d %b")),
            "monthly": figures_chart(board.months, lambda t: t.period_start.strftime("%b %Y")),
            "balance": request_services(self.request).activity.balance(self.merchant),
            "pay_url": self.pay_url(),
            "unread_notices": request_services(self.request).notifications
            .merchant_unread_count(self.merchant.id)
            if self.request.has_permission(Permission.SETTINGS) else 0,
        }

    def pay_url(self) -> str:
        base = request_services(self.request).settings.user_app_url
        return f"{base}/pay/{self.merchant.handle}"

    @view_config(route_name="payments", renderer="merchant/payments.jinja2")
    def payments(self) -> dict[str, Any]:
        errors: dict[str, str] = {}
        start, end = self._date_range(errors)
        values = {name: str(self.request.params.get(name, ""))[:40] for name in ("from", "to")}
        if errors:
            self.request.response.status = 400
            return {"page": None, "start": start, "end": end, "errors": errors, "values": values}
        cursor = self.request.params.get("cursor") or None
        if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 19):
            raise HTTPNotFound()
        page = self.reports.payments(self.merchant, start, end, cursor,
                                     stores=store_scope(self.request))
        return {"page": page, "start": start, "end": end, "errors": {}, "values": values}

    def _payment(self, reports: MerchantReports | None = None) -> PaymentDetail:
        detail = (reports or self.reports).payment(self.merchant,
                                                   int(self.request.matchdict["id"]),
                                                   stores=store_scope(self.request))
        if detail is None:  # another shop's, or no such payment: the same answer
            raise HTTPNotFound()
        if (today_only(self.request)  # a cashier: today's payments only
                and detail.payment.created_at.astimezone(IST).date() != today_ist()):
            raise HTTPNotFound()
        return detail

    def _refund_form(self, detail: PaymentDetail, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None,
                     status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {"detail": detail, "tx": detail.payment, "errors": errors or {},
                "values": values or {}, "request_key": new_request_key(),
                "balance": request_services(self.request).activity.balance(self.merchant)}

    @view_config(route_name="payment", renderer="merchant/payment.jinja2",
                 request_method="GET")
    def payment(self) -> dict[str, Any]:
        return self._refund_form(self._payment())

    @view_config(route_name="payment", renderer="merchant/payment.jinja2",
                 request_method="POST", permission=Permission.REFUND)
    def refund(self) -> dict[str, Any] | Response:
        detail = self._payment(request_services(self.request).merchant_reports)  # the primary
        values = {"amount": field(self.request, "amount"), "reason": field(self.request, "reason")}
        errors: dict[str, str] = {}
        services = request_services(self.request)
        amount_paise = parse_rupees(values["amount"], errors,
                                    max_paise=services.settings.max_transfer_paise)
        if errors or amount_paise is None:  # (None comes with an error)
            return self._refund_form(detail, errors, values, status=400)
        try:
            refund = services.refunds.refund(self.merchant, detail.payment.id, amount_paise,
                                             field(self.request, "request_key"), values["reason"])
        except PaymentNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._refund_form(detail, exc.errors, values,
                                     status=400)
        audit(self.request, StaffAction.REFUND, f"payment TXN{detail.payment.id:08d}",
              f"{format_paise(refund.amount_paise)}: {values['reason']}")
        self.request.session.flash(f"Refunded {format_paise(refund.amount_paise)} to the payer.")
        return HTTPSeeOther(self.request.route_url("payment", id=detail.payment.id))

    @view_config(route_name="payments_csv")
    def payments_csv(self) -> Response:
        errors: dict[str, str] = {}
        start, end = self._date_range(errors)
        if errors:
            raise HTTPBadRequest(" ".join(errors.values()))
        # Built inside the request's transaction (a lazy app_iter would run after
        # pyramid_tm closed it); MAX_CSV_ROWS bounds its size.
        response = Response(content_type="text/csv", charset="utf-8")
        # A byte-order mark first: spreadsheets then read the file as UTF-8
        # (₹ and ••••• in masked phones), not in the machine's code page.
        response.text = "\ufeff" + "".join(self.reports.payments_csv(
            self.merchant, start, end, stores=store_scope(self.request)))
        name = f"payments-{self.merchant.handle}-{start or 'all'}-{end or 'all'}.csv"
        response.content_disposition = f'attachment; filename="{name}"'
        return response

    def _date_range(self, errors: dict[str, str]) -> tuple[dt.date | None, dt.date | None]:
        """The ``from`` and ``to`` days asked for (each may be absent); problems
        in ``errors``, each field's at once."""
        params = self.request.params
        if today_only(self.request):  # a cashier: today's payments, whatever was asked
            return today_ist(), today_ist()
        start = parse_day(params.get("from"), errors, "from")
        end = parse_day(params.get("to"), errors, "to")
        if start is not None and end is not None and start > end:
            errors["to"] = (f"“To” ({end:%d %b %Y}) is before “From” ({start:%d %b %Y}): "
                            "swap them.")
        return start, end

    @view_config(route_name="qr", permission=Permission.COUNTER)
    def qr(self) -> Response:
        buffer = io.BytesIO()
        segno.make(self.pay_url(), error="m").save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), content_type="image/svg+xml")
