"""Operators' actions: each asks for a reason and is run by the domain
(wallet.operations.operator_actions), which checks the role, applies the rules and
writes the one audit row. The bank is asked with no transaction open."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.bank_client import BankUnavailable
from wallet.core.errors import WalletError
from wallet.identity.web_sessions import PrincipalKind
from wallet.operations.audit import Outcome
from wallet.operations.operator_actions import (
    ActionResult,
    ask_deposit_status,
    ask_payout_status,
    bank_statements,
    deposit_to_ask,
    payout_to_ask,
)
from webcommon import request_services, wallet_settings
from webcommon.views import view_config, view_defaults

from ..security import operator_actions
from . import field

T = TypeVar("T")


@view_defaults(permission="authenticated", request_method="POST")
class Actions:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.actions = operator_actions(request)
        self.reason = field(request, "reason", 600)
        self.bank_timeout_s = wallet_settings(request).bank_timeout_s
        self.observer = request_services(request).observer  # who hears of the bank calls
        id_text = request.matchdict.get("id") if request.matchdict else None
        self.id = int(id_text) if id_text else 0

    def answer(self, result: ActionResult, back: str, status: int = 409) -> Response:
        if result.ok:
            self.request.session.flash(f"Done: {result.message}")
            return HTTPSeeOther(back)
        if result.forbidden:
            status = 403
        elif result.field:
            status = 400
        response = render_to_response("message.jinja2", {
            "title": "Not done", "message": result.message, "back": back},
            request=self.request)
        response.status = status
        return response

    def outside_transaction(self, ask: Callable[[], T]) -> T:
        """Run ``ask`` (a call to the bank) with this request's transaction
        committed, then carry on in a new one."""
        tm = self.request.tm
        tm.commit()
        try:
            return ask()
        finally:
            tm.begin()

    def with_bank(self, action: str, object_type: str, object_id: object, back: str,
                  target: Callable[[], T], ask: Callable[[T], Any],
                  apply: Callable[[Any], ActionResult]) -> Response:
        """check -> what to ask (read) -> ask the bank (no transaction) -> apply."""
        refused = self.actions.check(action, object_type, object_id, self.reason)
        if refused is not None:
            return self.answer(refused, back)
        try:
            what = target()
        except WalletError as exc:
            return self.answer(self.actions.refuse(action, object_type, object_id,
                                                   self.reason, str(exc)), back)
        try:
            word = self.outside_transaction(lambda: ask(what))
        except BankUnavailable as exc:
            result = self.actions.refuse(action, object_type, object_id, self.reason,
                                         f"could not ask the bank: {exc}", outcome=Outcome.ERROR)
            return self.answer(result, back, status=503)
        return self.answer(apply(word), back)

    # -- payouts

    @view_config(route_name="payout_retry")
    def retry(self) -> Response:
        return self.answer(self.actions.retry_payout(self.id, self.reason),
                           self.request.route_url("payout", id=self.id))

    @view_config(route_name="payout_resolve")
    def resolve(self) -> Response:
        back = self.request.route_url("payout", id=self.id)
        paid_text = field(self.request, "paid", 10)
        if paid_text not in ("paid", "not_paid"):
            return self.answer(self.actions.refuse(
                "resolve", "withdrawal", self.id, self.reason,
                "Choose paid or not paid.", field="paid"), back)
        paid = paid_text == "paid"
        db, banks = self.request.dbsession, self.actions.banks
        return self.with_bank(
            "resolve_paid" if paid else "resolve_not_paid", "withdrawal", self.id, back,
            lambda: payout_to_ask(db, banks, self.id),
            lambda t: ask_payout_status(t[0], t[1], self.bank_timeout_s, observer=self.observer),
            lambda record: self.actions.resolve_payout(
                self.id, paid, record, self.reason))

    # -- deposits

    @view_config(route_name="deposit_ask")
    def ask_bank(self) -> Response:
        db, banks = self.request.dbsession, self.actions.banks
        return self.with_bank(
            "ask_bank", "deposit", self.id, self.request.route_url("deposits"),
            lambda: deposit_to_ask(db, banks, self.id),
            lambda t: ask_deposit_status(t[0], t[1], self.bank_timeout_s,
                                         observer=self.observer),
            lambda record: self.actions.check_deposit(
                self.id, record, self.reason))

    # -- wallets

    def _lookup(self) -> str:
        url: str = self.request.route_url("lookup", _query={"q": field(self.request, "q", 40)})
        return url

    @view_config(route_name="dispute_decide")
    def decide_dispute(self) -> Response:
        """A contested dispute decided: for the customer (refunded from the
        hold) or for the shop (the hold released)."""
        outcome = self.request.POST.get("for", "")
        if outcome not in ("customer", "shop"):
            response = render_to_response("message.jinja2", {
                "title": "Not done", "message": "Decide for the customer or for the shop.",
                "back": self.request.route_url("disputes")}, request=self.request)
            response.status = 400
            return response
        return self.answer(self.actions.decide_dispute(self.id, outcome == "customer",
                                                       self.reason),
                           self.request.route_url("disputes"))

    @view_config(route_name="freeze")
    def freeze(self) -> Response:
        return self.answer(self.actions.freeze_wallet(self.id, self.reason), self._lookup())

    @view_config(route_name="unfreeze")
    def unfreeze(self) -> Response:
        return self.answer(self.actions.unfreeze_wallet(self.id, self.reason), self._lookup())

    @view_config(route_name="sign_out_user")
    def sign_out_user(self) -> Response:
        return self.answer(self.actions.sign_out_everywhere(PrincipalKind.USER, self.id,
                                                            self.reason), self._lookup())

    @view_config(route_name="sign_out_shop")
    def sign_out_shop(self) -> Response:
        return self.answer(self.actions.sign_out_everywhere(PrincipalKind.MERCHANT, self.id,
                                                            self.reason), self._lookup())

    # -- reconciliation

    @view_config(route_name="reconciliation", request_method="POST")
    def reconcile(self) -> Response:
        back = self.request.route_url("reconciliation")
        bank_code = field(self.request, "bank", 32)
        try:
            day = dt.date.fromisoformat(field(self.request, "date", 10))
        except ValueError:
            return self.answer(self.actions.refuse(
                "reconcile", "bank_day", bank_code, self.reason,
                "Enter the day as YYYY-MM-DD.", field="date"), back)
        object_id = f"{bank_code}:{day.isoformat()}"

        def target() -> str:
            if bank_code not in self.actions.banks:
                raise WalletError(f"unknown bank {bank_code!r}")
            return bank_code

        def apply(statements: Any) -> ActionResult:
            return self.actions.reconcile(bank_code, day, statements, self.reason)

        return self.with_bank(
            "reconcile", "bank_day", object_id, back, target,
            lambda code: bank_statements(self.actions.banks[code], day, self.bank_timeout_s,
                                         observer=self.observer),
            apply)
