from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from ledgerlib import format_paise
from wallet.banks import BankConfig
from wallet.codes import utcnow
from wallet.errors import WalletError
from wallet.models import User
from wallet.pins import PinRefused
from wallet.withdrawals import MAX_WITHDRAWAL_PAISE, WithdrawalService
from webcommon import request_services
from webcommon.delays import bank_delays
from webcommon.views import view_config, view_defaults

from .delays import payout_notes, withdrawal_progress
from .forms import field, new_request_key, parse_rupees
from .stepup import confirm_page, confirming, pin_setup

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
        return {"errors": errors or {}, "values": values or {}, "banks": self.banks,
                "request_key": (values or {}).get("request_key") or new_request_key(),
                "max_withdrawal_paise": MAX_WITHDRAWAL_PAISE,
                "balance": request_services(self.request).wallet.balance(self.user),
                "bank_notes": payout_notes(bank_delays(self.request))}

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="GET")
    def form(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._form()

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="POST")
    def submit(self) -> dict[str, Any] | Response:
        """The form, then its confirm page (bank, masked account, PIN)."""
        names = ("bank", "account_number", "ifsc", "amount", "request_key")
        values = {name: field(self.request, name) for name in names}
        errors: dict[str, str] = {}
        amount_paise = parse_rupees(values["amount"], errors, max_paise=MAX_WITHDRAWAL_PAISE)
        if errors or amount_paise is None or "edit" in self.request.POST:
            return self._form(errors, values, status=400 if errors else 200)
        if (gate := pin_setup(self.request)) is not None:
            return gate
        try:
            account, ifsc = self.service.check(values["bank"], values["account_number"],
                                               values["ifsc"], amount_paise)
            if confirming(self.request):
                tx = self.service.request(self.user, values["bank"], values["account_number"],
                                          values["ifsc"], amount_paise, values["request_key"],
                                          pin=field(self.request, "pin"))
                return HTTPSeeOther(self.request.route_url("withdrawal", id=tx.id))
        except PinRefused as exc:
            return self._confirm(values, amount_paise, account, ifsc, {"pin": str(exc)})
        except WalletError as exc:
            return self._form({exc.field or "form": str(exc)}, values, status=400)
        return self._confirm(values, amount_paise, account, ifsc)

    def _confirm(self, values: dict[str, str], amount_paise: int, account: str, ifsc: str,
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
        bank = self.banks[values["bank"]]
        return confirm_page(
            self.request,
            question=f"Withdraw {format_paise(amount_paise)} to {bank.name} "
                     f"a/c {'•' * 6}{account[-4:]}?",
            details=[f"IFSC {ifsc}", "The amount is held at once and sent to your bank in "
                     "the background."],
            action=self.request.route_url("withdraw"), values=values, button="Withdraw now",
            errors=errors, status=400 if errors else 200)

    @view_config(route_name="withdrawal", renderer="withdrawal.jinja2")
    def status(self) -> dict[str, Any]:
        found = self.service.for_user(self.user, int(self.request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        tx, wd = found
        bank = None if tx.bank_code is None else self.banks.get(tx.bank_code)
        delays = bank_delays(self.request).get(tx.bank_code or "")
        age_s = (utcnow() - tx.created_at).total_seconds()
        took_s = None if tx.settled_at is None else (tx.settled_at - tx.created_at).total_seconds()
        return {"tx": tx, "wd": wd, "bank": bank,
                "progress": withdrawal_progress(delays, tx.status, age_s, took_s),
                "status_text": STATUS_TEXT.get(tx.status, tx.status),
                "attempts": self.service.attempts(tx.id)}
