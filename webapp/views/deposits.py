from __future__ import annotations

import re
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.banks import BankConfig
from wallet.banking.deposits import CANCELLED_BY_USER, MAX_DEPOSIT_PAISE, DepositService
from wallet.core.codes import Status
from wallet.core.errors import WalletError
from wallet.core.models import User
from webcommon import request_services
from webcommon.delays import bank_delays
from webcommon.views import view_config, view_defaults

from .delays import deposit_notes
from .forms import field, new_request_key, parse_rupees


@view_defaults(permission="authenticated")
class DepositViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.banks: dict[str, BankConfig] = request_services(request).banks
        self.deposits: DepositService = request_services(request).deposits

    def _form(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        return {
            "errors": errors or {},
            "values": values or {},
            "banks": self.banks,
            "request_key": new_request_key(),
            "max_deposit_paise": MAX_DEPOSIT_PAISE,
            "bank_notes": deposit_notes(bank_delays(self.request)),
            "room": request_services(self.request).limits.headroom(self.user.id),
        }

    @view_config(route_name="add_money", renderer="add_money.jinja2", request_method="GET")
    def form(self) -> dict[str, Any]:
        # From a checkout that was short: its shortfall filled in, and the
        # way back to it kept (only a payment request's id, never a URL).
        amount = self.request.GET.get("amount", "")
        values = {"amount": amount if _AMOUNT.fullmatch(amount) else "",
                  "then": _then(self.request.GET.get("then"))}
        return self._form(values=values)

    @view_config(route_name="add_money", renderer="add_money.jinja2", request_method="POST")
    def start(self) -> dict[str, Any] | Response:
        values = {"bank": field(self.request, "bank"), "amount": field(self.request, "amount"),
                  "then": _then(field(self.request, "then"))}
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(values["amount"], errors, max_paise=MAX_DEPOSIT_PAISE)
        if values["bank"] not in self.banks:  # with the amount's problem, if any
            errors["bank"] = "Choose one of the listed banks."
        if errors or amount_paise is None:  # (None comes with an error)
            return self._form(errors, values, status=400)
        try:
            tx = self.deposits.start(self.user, values["bank"], amount_paise,
                                     field(self.request, "request_key"))
        except WalletError as exc:
            return self._form(exc.errors, values, status=400)
        return_url = self.request.route_url(
            "deposit", token=tx.token, _query={"then": values["then"]} if values["then"] else {})
        return HTTPSeeOther(self.deposits.netbanking_url(tx, return_url))

    @view_config(route_name="deposit", renderer="deposit.jinja2")
    def status(self) -> dict[str, Any]:
        tx = self.deposits.for_user(self.user, self.request.matchdict["token"])
        if tx is None:
            raise HTTPNotFound()
        expire_after_s = request_services(self.request).settings.deposit_expire_after_s
        return_url = self.request.route_url("deposit", token=tx.token)
        return {
            "tx": tx,
            "bank": None if tx.bank_code is None else self.banks.get(tx.bank_code),
            "balance": request_services(self.request).activity.balance(self.user),
            "cancelled": tx.status == Status.FAILED and tx.status_reason == CANCELLED_BY_USER,
            "expires_at": self.deposits.expires_at(tx, expire_after_s),
            "then": _then(self.request.GET.get("then")),
            "return_to_bank": (self.deposits.netbanking_url(tx, return_url)
                               if tx.status == Status.PENDING and tx.bank_code in self.banks
                               else None),
        }

    @view_config(route_name="deposit_cancel", request_method="POST")
    def cancel(self) -> Response:
        tx = self.deposits.cancel(self.user, self.request.matchdict["token"])
        if tx is None:
            raise HTTPNotFound()
        return HTTPSeeOther(self.request.route_url("deposit", token=tx.token))


_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")
_THEN = re.compile(r"pr_[A-Za-z0-9_-]{1,37}")


def _then(text: object) -> str:
    """A checkout to go back to after adding money: a payment request's id."""
    return text if isinstance(text, str) and _THEN.fullmatch(text) else ""
