from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from wallet.errors import WalletError
from wallet.withdrawals import MAX_WITHDRAWAL_PAISE

from .forms import field, new_request_key, parse_rupees

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
    def __init__(self, request):
        self.request = request
        self.user = request.identity
        self.banks = request.wallet.banks
        self.service = request.wallet.withdrawals

    def _form(self, errors=None, values=None, status=200):
        self.request.response.status = status
        return {"errors": errors or {}, "values": values or {}, "banks": self.banks,
                "request_key": new_request_key(), "max_withdrawal_paise": MAX_WITHDRAWAL_PAISE,
                "balance": self.request.wallet.wallet.balance(self.user)}

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="GET")
    def form(self):
        return self._form()

    @view_config(route_name="withdraw", renderer="withdraw.jinja2", request_method="POST")
    def submit(self):
        names = ("bank", "account_number", "ifsc", "amount")
        values = {name: field(self.request, name) for name in names}
        errors: dict = {}
        amount_paise = parse_rupees(values["amount"], errors, max_paise=MAX_WITHDRAWAL_PAISE)
        if errors:
            return self._form(errors, values, status=400)
        try:
            tx = self.service.request(self.user, values["bank"], values["account_number"],
                                      values["ifsc"], amount_paise,
                                      field(self.request, "request_key"))
        except WalletError as exc:
            return self._form({exc.field or "form": str(exc)}, values, status=400)
        return HTTPSeeOther(self.request.route_url("withdrawal", id=tx.id))

    @view_config(route_name="withdrawal", renderer="withdrawal.jinja2")
    def status(self):
        found = self.service.for_user(self.user, int(self.request.matchdict["id"]))
        if found is None:
            raise HTTPNotFound()
        tx, wd = found
        return {"tx": tx, "wd": wd, "bank": self.banks.get(tx.bank_code),
                "status_text": STATUS_TEXT.get(tx.status, tx.status),
                "attempts": self.service.attempts(tx.id)}
