"""A user's saved bank accounts (/me/bank-accounts): add one -- bank, account
number typed twice, IFSC -- whose holder's name the bank tells us (asked with
no transaction open) and the page shows back before the wallet PIN saves it;
remove one with the PIN. Thin: the rules are the domain's
(wallet.banking.saved_accounts). A refused PIN is shown by a normal
(committed) answer, so its try counts; nothing else is written."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.errors import BankNotAnswering
from wallet.banking.saved_accounts import HolderName, SavedBankAccounts
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.errors import PinRefused
from webcommon import request_services
from webcommon.bank_calls import outside_transaction
from webcommon.views import view_config, view_defaults

from .confirm import confirm_page
from .forms import field
from .per_person import limiter_of
from .stepup import pin_setup

TEMPLATE = "saved_accounts.jinja2"
FIELDS = ("bank", "account_number", "repeat_account_number", "ifsc")


#: Bank look-ups (whose account a number is) one person may ask for a minute.
LOOKUPS_PER_MINUTE = 6


@view_defaults(permission="authenticated")
class SavedAccountViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.accounts: SavedBankAccounts = request_services(request).saved_bank_accounts

    def _page(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        accounts = self.accounts.saved(self.user)
        return {"errors": errors or {}, "values": values or {}, "accounts": accounts,
                "names": {a.id: self.accounts.name(a) for a in accounts},
                "banks": self.accounts.banks}

    @view_config(route_name="saved_accounts", renderer=TEMPLATE, request_method="GET")
    def list(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._page()

    @view_config(route_name="saved_accounts", renderer=TEMPLATE, request_method="POST")
    def add(self) -> dict[str, Any] | Response:
        """The form; then the bank's name for the account with the PIN field;
        then, with the PIN, the account saved (the bank asked again: the name
        saved is always the bank's, never the page's)."""
        if (gate := pin_setup(self.request)) is not None:
            return gate
        values = {name: field(self.request, name) for name in FIELDS}
        if "edit" in self.request.POST:
            return self._page(values=values)
        if not limiter_of(self.request.registry, "bank_lookup.limiter",
                          LOOKUPS_PER_MINUTE).allow(self.user.id):
            # Each try asks the bank whose account a number is: not for harvesting names.
            return self._page({"account_number": "Too many accounts looked up just now: wait a "
                               "minute and try again."}, values, 429)
        try:
            found = outside_transaction(self.request, lambda: self.accounts.look_up(
                values["bank"], values["account_number"], values["repeat_account_number"],
                values["ifsc"]))
        except WalletError as exc:
            return self._page(exc.errors, values,
                              503 if isinstance(exc, BankNotAnswering) else 400)
        if "pin" not in self.request.POST:
            return self._confirm(found, values)
        try:
            account = self.accounts.add(self.user, found, field(self.request, "pin"))
        except PinRefused as exc:
            return self._confirm(found, values, {"pin": str(exc)})
        except WalletError as exc:
            return self._page(exc.errors, values, 400)
        self.request.session.flash(f"{self.accounts.name(account)} ({account.holder_name}) "
                                   "saved.")
        return HTTPSeeOther(self.request.route_url("saved_accounts"))

    def _confirm(self, found: HolderName, values: dict[str, str],
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
        bank = self.accounts.banks[found.bank_code]
        return confirm_page(
            self.request, question=f"Save {bank.name} a/c ••••{found.account_number[-4:]}?",
            details=(f"{bank.name} says this account is in the name of {found.name}.",
                     f"IFSC {found.ifsc}. Not yours? Change the details."),
            action=self.request.route_url("saved_accounts"), values=values,
            button="Save account", errors=errors, status=400 if errors else 200)

    @view_config(route_name="saved_account_remove", renderer="saved_account_remove.jinja2")
    def remove(self) -> dict[str, Any] | Response:
        """A confirm page with the wallet PIN; its submit removes the account."""
        try:
            account = self.accounts.get(self.user, self.request.matchdict["id"])
        except WalletError:
            raise HTTPNotFound() from None
        page = {"account": account, "name": self.accounts.name(account), "errors": {}}
        if self.request.method != "POST":
            return page
        try:
            self.accounts.remove(self.user, account.id, field(self.request, "pin"))
        except WalletError as exc:
            self.request.response.status = 400
            return {**page, "errors": exc.errors}
        self.request.session.flash(f"{page['name']} removed from your saved accounts.")
        return HTTPSeeOther(self.request.route_url("saved_accounts"))
