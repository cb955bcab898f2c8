from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from wallet.deposits import MAX_DEPOSIT_PAISE
from wallet.errors import WalletError

from .forms import field, new_request_key, parse_rupees


@view_defaults(permission="authenticated")
class DepositViews:
    def __init__(self, request):
        self.request = request
        self.user = request.identity
        self.banks = request.wallet.banks
        self.deposits = request.wallet.deposits

    def _form(self, errors=None, values=None, status=200):
        self.request.response.status = status
        return {
            "errors": errors or {},
            "values": values or {},
            "banks": self.banks,
            "request_key": new_request_key(),
            "max_deposit_paise": MAX_DEPOSIT_PAISE,
        }

    @view_config(route_name="add_money", renderer="add_money.jinja2", request_method="GET")
    def form(self):
        return self._form()

    @view_config(route_name="add_money", renderer="add_money.jinja2", request_method="POST")
    def start(self):
        values = {"bank": field(self.request, "bank"), "amount": field(self.request, "amount")}
        errors: dict = {}
        amount_paise = parse_rupees(values["amount"], errors, max_paise=MAX_DEPOSIT_PAISE)
        if errors:
            return self._form(errors, values, status=400)
        try:
            tx = self.deposits.start(self.user, values["bank"], amount_paise,
                                     field(self.request, "request_key"))
        except WalletError as exc:
            return self._form({exc.field or "form": str(exc)}, values, status=400)
        return_url = self.request.route_url("deposit", token=tx.token)
        return HTTPSeeOther(self.deposits.netbanking_url(tx, return_url))

    @view_config(route_name="deposit", renderer="deposit.jinja2")
    def status(self):
        tx = self.deposits.for_user(self.user, self.request.matchdict["token"])
        if tx is None:
            raise HTTPNotFound()
        return {
            "tx": tx,
            "bank": self.banks.get(tx.bank_code),
            "balance": self.request.wallet.wallet.balance(self.user),
        }
