"""Merchant app: settling the shop's balance to its bank -- only to an account
it registered, through the money pages' confirm step (webapp/views/confirm.py:
"Settle ₹X to HDFC Bank ••••1234?") that asks for the shop PIN -- and the
registered accounts themselves (added with the account number typed twice and
the shop PIN, removed with the shop PIN). Thin: the rules are the domain's
(wallet.banking.withdrawals, wallet.banking.merchant_bank_accounts,
wallet.identity.merchant_pins). A refused PIN is shown by a normal (committed)
answer, so the wrong try counts."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.banking.banks import BankConfig
from wallet.banking.merchant_bank_accounts import MerchantBankAccounts, moment_text
from wallet.banking.withdrawals import MAX_WITHDRAWAL_PAISE, WithdrawalService
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, Transaction
from wallet.identity.merchant_pins import MerchantPins
from wallet.merchants.roles import Permission
from wallet.merchants.staff import StaffAction
from wallet.merchants.webhooks import duration_text
from webcommon import request_services
from webcommon.delays import bank_delays
from webcommon.views import view_config, view_defaults

from ..views.confirm import ConfirmStep, confirm_step
from ..views.delays import payout_notes
from ..views.forms import field, new_request_key
from ..views.withdrawals import payout_page
from .acting import audit

PIN_LABEL = "Shop PIN"


def includeme(config: Configurator) -> None:
    config.add_route("settle", "/settle")
    config.add_route("settlement", "/settlements/{id:\\d{1,18}}")
    config.add_route("bank_accounts", "/bank-accounts")
    config.add_route("bank_account_remove", "/bank-accounts/{id:\\d{1,18}}/remove")
    config.scan(__name__)


def pin_setup(request: Request) -> Response | None:
    """A shop without a PIN is sent to set one (with its password) first."""
    if request_services(request).merchant_pins.has_pin(request.identity):
        return None
    return HTTPSeeOther(request.route_url("pin", _query={"next": request.path}))


@view_defaults(permission=Permission.SETTLE)
class SettlementViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.merchant: Merchant = request.identity
        services = request_services(request)
        self.banks: dict[str, BankConfig] = services.banks
        self.accounts: MerchantBankAccounts = services.merchant_bank_accounts
        self.pins: MerchantPins = services.merchant_pins
        self.service: WithdrawalService = services.withdrawals

    # ------------------------------------------------------------ settling

    def _form(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        accounts = self.accounts.registered(self.merchant)
        return {"errors": errors or {}, "values": values or {}, "accounts": accounts,
                "names": {a.id: self.accounts.name(a) for a in accounts},
                "waiting": {a.id: moment_text(a.usable_from) for a in accounts
                            if not self.accounts.usable(a)},
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "max_withdrawal_paise": MAX_WITHDRAWAL_PAISE,
                "balance": request_services(self.request).activity.balance(self.merchant),
                "bank_notes": payout_notes(bank_delays(self.request))}

    @view_config(route_name="settle", renderer="merchant/settle.jinja2", request_method="GET")
    def settle_form(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._form()

    @view_config(route_name="settle", renderer="merchant/settle.jinja2", request_method="POST")
    def settle(self) -> dict[str, Any] | Response:
        """The form, then its confirm step (the account, the amount, the shop PIN)."""
        if (gate := pin_setup(self.request)) is not None:  # before the form is read
            return gate
        values = {name: field(self.request, name) for name in ("account", "amount",
                                                              "request_key")}
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("settle"), "Settle now", values, pins=self.pins,
                        pin_label=PIN_LABEL, gate=None),  # (gated above)
            lambda: self.service.quote_settlement(self.merchant, values["account"],
                                                  values["amount"]),
            form=lambda errors, status: self._form(errors, values, status),
            done=self._settled)

    def _settled(self, tx: Transaction) -> Response:
        """In the settlements' history too (wallet.banking.auto_settlement)."""
        request_services(self.request).auto_settlements.record_manual(self.merchant, tx)
        audit(self.request, StaffAction.SETTLEMENT, f"settlement {tx.id}",
              f"{format_paise(tx.amount_paise)} to {tx.bank_code or 'the bank'}")
        return HTTPSeeOther(self.request.route_url("settlement", id=tx.id))

    @view_config(route_name="settlement", renderer="merchant/settlement.jinja2")
    def settlement(self) -> dict[str, Any]:
        found = self.service.for_user(self.merchant, int(self.request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        return payout_page(self.service, self.banks, *found, bank_delays(self.request),
                           show_bank_calls=True)

    # ------------------------------------------------- registered accounts

    def _accounts_page(self, errors: dict[str, str] | None = None,
                       values: dict[str, str] | None = None,
                       status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        accounts = self.accounts.registered(self.merchant)
        return {"errors": errors or {}, "values": values or {}, "banks": self.banks,
                "accounts": accounts, "names": {a.id: self.accounts.name(a) for a in accounts},
                "waiting": {a.id: moment_text(a.usable_from) for a in accounts
                            if not self.accounts.usable(a)},
                "cooling_off": (duration_text(self.accounts.policy.cooling_off_s)
                                if self.accounts.policy.cooling_off_s else "")}

    @view_config(route_name="bank_accounts", renderer="merchant/bank_accounts.jinja2",
                 request_method="GET")
    def bank_accounts(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._accounts_page()

    @view_config(route_name="bank_accounts", renderer="merchant/bank_accounts.jinja2",
                 request_method="POST")
    def add_bank_account(self) -> dict[str, Any] | Response:
        if (gate := pin_setup(self.request)) is not None:
            return gate
        values = {name: field(self.request, name)
                  for name in ("bank", "account_number", "repeat_account_number", "ifsc")}
        try:
            account = self.accounts.add(self.merchant, values["bank"], values["account_number"],
                                        values["repeat_account_number"], values["ifsc"],
                                        field(self.request, "pin"))
        except WalletError as exc:
            return self._accounts_page(exc.errors, values, status=400)
        audit(self.request, StaffAction.BANK_ACCOUNT_ADDED, self.accounts.name(account))
        self.request.session.flash(f"{self.accounts.name(account)} added.")
        return HTTPSeeOther(self.request.route_url("bank_accounts"))

    @view_config(route_name="bank_account_remove",
                 renderer="merchant/bank_account_remove.jinja2")
    def remove_bank_account(self) -> dict[str, Any] | Response:
        """A confirm page with the shop PIN; its submit removes the account."""
        try:
            account = self.accounts.get(self.merchant, int(self.request.matchdict["id"]))
        except WalletError:
            raise HTTPNotFound() from None
        page = {"account": account, "name": self.accounts.name(account), "errors": {}}
        if self.request.method != "POST":
            return page
        try:
            self.accounts.remove(self.merchant, account.id, field(self.request, "pin"))
        except WalletError as exc:
            self.request.response.status = 400
            return {**page, "errors": exc.errors}
        audit(self.request, StaffAction.BANK_ACCOUNT_REMOVED, str(page["name"]))
        self.request.session.flash(f"{page['name']} removed: settlements no longer go there.")
        return HTTPSeeOther(self.request.route_url("bank_accounts"))
