from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.bank_delays import BankDelays
from wallet.banking.banks import BankConfig
from wallet.banking.models import Withdrawal
from wallet.banking.withdrawal_quotes import WithdrawalQuote
from wallet.banking.withdrawals import MAX_WITHDRAWAL_PAISE, WithdrawalService
from wallet.core.codes import Status, utcnow
from wallet.core.models import Transaction, User
from webcommon import request_services
from webcommon.delays import bank_delays
from webcommon.views import view_config, view_defaults

from .confirm import ConfirmStep, confirm_step
from .delays import payout_notes, withdrawal_progress
from .forms import field, new_request_key
from .stepup import pin_setup

#: The withdraw form's choice of typed details rather than a saved account.
NEW_ACCOUNT = "new"
#: How long a paid withdrawal's page keeps watching for the bank returning it.
WATCH_FOR_RETURN = dt.timedelta(minutes=10)
STATUS_TEXT = {
    "queued": "Queued: it goes to your bank in a moment",
    "sending": "On its way to your bank",
    "completed": "Sent to your bank",
    "failed": "Your bank refused it: the money is back in your wallet",
    "reversed": "Returned by your bank: the money is back in your wallet",
    "needs_review": "Taking longer than usual: our team is checking with the bank",
}


@view_defaults(permission="authenticated")
class WithdrawalViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        self.banks: dict[str, BankConfig] = request_services(request).banks
        self.service: WithdrawalService = request_services(request).withdrawals

    def _form(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.response.status = status
        saved = request_services(self.request).saved_bank_accounts.saved(self.user)
        return {"errors": errors or {}, "values": values or {}, "banks": self.banks,
                # Saved accounts first (wallet.banking.saved_accounts); typed details still work.
                "saved": saved,
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "max_withdrawal_paise": MAX_WITHDRAWAL_PAISE,
                "balance": request_services(self.request).activity.balance(self.user),
                "bank_notes": payout_notes(bank_delays(self.request))}

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="GET")
    def form(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._form()

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="POST")
    def submit(self) -> dict[str, Any] | Response:
        """The form, then its confirm page (bank, masked account, PIN)."""
        names = ("account", "bank", "account_number", "ifsc", "amount", "request_key")
        values = {name: field(self.request, name) for name in names}
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("withdraw"), "Withdraw now", values),
            lambda: self._quote(values),
            form=lambda errors, status: self._form(errors, values, status),
            done=lambda tx: HTTPSeeOther(self.request.route_url("withdrawal", id=tx.id)))

    def _quote(self, values: dict[str, str]) -> WithdrawalQuote:
        """To the saved account chosen (``account``: its id), else to the details typed."""
        if values["account"] not in ("", NEW_ACCOUNT):
            saved = request_services(self.request).saved_bank_accounts
            return self.service.quote_saved(self.user, saved.get(self.user, values["account"]),
                                            values["amount"])
        return self.service.quote(self.user, values["bank"], values["account_number"],
                                  values["ifsc"], values["amount"])

    @view_config(route_name="withdrawal", renderer="withdrawal.jinja2")
    def status(self) -> dict[str, Any]:
        found = self.service.for_user(self.user, int(self.request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        return payout_page(self.service, self.banks, *found, bank_delays(self.request))


def payout_page(service: WithdrawalService, banks: dict[str, BankConfig], tx: Transaction,
                wd: Withdrawal, delays: dict[str, BankDelays], *,
                show_bank_calls: bool = False) -> dict[str, Any]:
    """What a withdrawal's (a settlement's) page shows; it reloads itself until
    the payout is final, and a while after it was paid (a bank may still return it)."""
    progress = service.progress(tx)
    refresh_s: int | None = None
    if tx.status in Status.PAYOUT_OPEN:
        refresh_s = 3
    elif tx.status == Status.NEEDS_REVIEW:
        refresh_s = 15
    elif (tx.status == Status.COMPLETED and tx.settled_at is not None
          and utcnow() - tx.settled_at < WATCH_FOR_RETURN):
        refresh_s = 5
    bank = None if tx.bank_code is None else banks.get(tx.bank_code)
    text = STATUS_TEXT.get(tx.status, tx.status)
    if progress.bank_not_answering:
        text = f"Waiting for {bank.name if bank else 'the bank'} to answer"
    took_s = None if tx.settled_at is None else (tx.settled_at - tx.created_at).total_seconds()
    delay_note = withdrawal_progress(delays.get(tx.bank_code or ""), tx.status,
                                     (utcnow() - tx.created_at).total_seconds(), took_s)
    return {"tx": tx, "wd": wd, "bank": bank, "status_text": text, "delay_note": delay_note,
            "bank_calls": progress.bank_calls, "bank_trouble": progress.bank_not_answering,
            "refresh_s": refresh_s,
            # How often we called the bank: a shop's settlement page shows it
            # (its accountant asks); a person withdrawing is not helped by it.
            "show_bank_calls": show_bank_calls}
