"""Merchant app pages: thin -- parse, call the domain, render."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import segno
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember

from ledgerlib import format_paise
from wallet.core.codes import IST
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantStore
from wallet.core.text import whole_number
from wallet.identity.errors import AccountError, LoginThrottled, PinRefused
from wallet.merchants.errors import PaymentNotFound
from wallet.merchants.payment_search import MAX_SEARCH_CHARS, PaymentSearch, parse_search
from wallet.merchants.refund_quotes import RefundQuote
from wallet.merchants.reports import MerchantReports, PaymentDetail
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from webcommon import request_read_services, request_services
from webcommon.security import store_scope, today_only
from webcommon.views import view_config, view_defaults

from ..views.auth import same_site_path
from ..views.forms import field, new_request_key, parse_rupees
from .acting import audit, landing_url
from .charts import day_tick, figures_chart, month_tick


def today_ist() -> dt.date:
    return dt.datetime.now(IST).date()


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


@dataclass(frozen=True)
class Filters:
    """The payments list's filters as parsed, and as typed (to show again)."""

    start: dt.date | None
    end: dt.date | None
    search: PaymentSearch | None
    store_ids: list[int] | None  # None: every store
    stores: list[MerchantStore]
    values: dict[str, str]

    def page(self) -> dict[str, Any]:
        """What the page's filter form shows, and the query its links keep."""
        query = {"from": str(self.start or self.values["from"]),
                 "to": str(self.end or self.values["to"]), "q": self.values["q"],
                 "store": self.values["store"]}
        return {"start": self.start, "end": self.end, "values": self.values,
                "stores": self.stores, "query": {k: v for k, v in query.items() if v}}


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
            "daily": figures_chart(board.days, lambda t: t.period_start.strftime("%d %b"),
                                   day_tick(3, len(board.days)), phone_every=3),
            "monthly": figures_chart(board.months, lambda t: t.period_start.strftime("%b %Y"),
                                     month_tick),
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
        found = self._filters(errors)
        if errors:
            return self._payments_refused(found, errors)
        cursor = self.request.params.get("cursor") or None
        if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 19):
            raise HTTPNotFound()
        page = self.reports.payments(self.merchant, found.start, found.end, cursor,
                                     search=found.search, store_ids=found.store_ids)
        totals = self.reports.totals(self.merchant, found.start, found.end,
                                     search=found.search, store_ids=found.store_ids)
        return {**found.page(), "page": page, "totals": totals, "errors": {}}

    def _payments_refused(self, found: Filters, errors: dict[str, str]) -> dict[str, Any]:
        """The payments page with its filters' problems (the CSV's too), nothing listed."""
        self.request.response.status = 400
        return {**found.page(), "page": None, "totals": None, "errors": errors}

    def _filters(self, errors: dict[str, str]) -> Filters:
        """The list's filters as asked (dates, search, store); each problem in ``errors``."""
        params = self.request.params
        start, end = self._date_range(errors)
        try:
            search = parse_search(str(params.get("q", "")), "q")
        except WalletError as exc:
            errors.update(exc.errors)
            search = None
        # A manager's or a cashier's stores only (webcommon.security.store_scope);
        # a cashier's payments of today only, whatever was asked.
        scope = store_scope(self.request)
        stores = [store for store in self.reports.stores(self.merchant)
                  if scope is None or store.id in scope]
        if today_only(self.request):
            start = end = today_ist()
        store_text = str(params.get("store", "")).strip()
        store_ids: list[int] | None = None if scope is None else sorted(scope)
        if store_text:
            chosen = whole_number(store_text)
            if chosen is None or chosen not in {store.id for store in stores}:
                errors["store"] = "Choose one of your stores, or all of them."
            else:
                store_ids = [chosen]
        values = {name: str(params.get(name, ""))[:MAX_SEARCH_CHARS + 10]
                  for name in ("from", "to", "q", "store")}
        return Filters(start, end, search, store_ids, stores, values)

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
        self.request.override_renderer = "merchant/payment.jinja2"
        values = values or {}
        return {"detail": detail, "tx": detail.payment, "errors": errors or {},
                "values": values, "request_key": values.get("request_key") or new_request_key(),
                "balance": request_services(self.request).activity.balance(self.merchant),
                "confirm_above_paise":
                    request_services(self.request).settings.merchant_refund_confirm_above_paise}

    @view_config(route_name="payment", renderer="merchant/payment.jinja2",
                 request_method="GET")
    def payment(self) -> dict[str, Any]:
        return self._refund_form(self._payment())

    @view_config(route_name="payment", renderer="merchant/refund_confirm.jinja2",
                 request_method="POST", permission=Permission.REFUND)
    def refund(self) -> dict[str, Any] | Response:
        """The refund form, then its confirm step ("Refund ₹X to …?", the shop
        PIN above the threshold: wallet.merchants.refund_quotes), then the refund."""
        detail = self._payment(request_services(self.request).merchant_reports)  # the primary
        values = {name: field(self.request, name) for name in ("amount", "reason", "request_key")}
        errors: dict[str, str] = {}
        services = request_services(self.request)
        amount_paise = parse_rupees(values["amount"], errors,
                                    max_paise=services.settings.max_transfer_paise)
        if errors or amount_paise is None:  # (None comes with an error)
            return self._refund_form(detail, errors, values, status=400)
        if "edit" in self.request.POST:
            return self._refund_form(detail, values=values)
        quote = services.app_refunds.quote(self.merchant, detail.payment.id, amount_paise,
                                           values["reason"])
        try:
            if "confirm" not in self.request.POST:
                return self._refund_confirm(quote, values)
            refund = quote.confirm(field(self.request, "pin"), values["request_key"])
        except PaymentNotFound:
            raise HTTPNotFound() from None
        except PinRefused as exc:  # (a normal answer: the wrong try stays counted)
            try:
                return self._refund_confirm(quote, values, {"pin": str(exc)})
            except WalletError as again:
                return self._refund_form(detail, again.errors, values, status=400)
        except WalletError as exc:
            return self._refund_form(detail, exc.errors, values, status=400)
        audit(self.request, StaffAction.REFUND, f"payment TXN{detail.payment.id:08d}",
              f"{format_paise(refund.amount_paise)}: {values['reason']}")
        self.request.session.flash(f"Refunded {format_paise(refund.amount_paise)} to the payer.")
        return HTTPSeeOther(self.request.route_url("payment", id=detail.payment.id))

    def _refund_confirm(self, quote: RefundQuote, values: dict[str, str],
                        errors: dict[str, str] | None = None) -> dict[str, Any]:
        """The confirm page (WalletError from the quote's checks: the form again)."""
        text = quote.preview(values["request_key"])
        pins = request_services(self.request).merchant_pins
        self.request.response.status = 400 if errors else 200
        return {"question": text.question, "details": text.details, "values": values,
                "errors": errors or {}, "needs_pin": quote.needs_pin,
                "has_pin": pins.has_pin(self.merchant) if quote.needs_pin else True,
                "action": self.request.route_url("payment", id=quote.payment_id)}

    @view_config(route_name="payments_csv", renderer="merchant/payments.jinja2")
    def payments_csv(self) -> Response | dict[str, Any]:
        errors: dict[str, str] = {}
        found = self._filters(errors)
        if errors:  # the payments page says what to correct (not a bare 400)
            return self._payments_refused(found, errors)
        # Built inside the request's transaction (a lazy app_iter would run after
        # pyramid_tm closed it); MAX_CSV_ROWS bounds its size.
        response = Response(content_type="text/csv", charset="utf-8")
        # A byte-order mark first: spreadsheets then read the file as UTF-8
        # (₹ and ••••• in masked phones), not in the machine's code page.
        response.text = "\ufeff" + "".join(self.reports.payments_csv(
            self.merchant, found.start, found.end, search=found.search,
            store_ids=found.store_ids))
        name = f"payments-{self.merchant.handle}-{found.start or 'all'}-{found.end or 'all'}.csv"
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
