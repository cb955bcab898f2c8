"""A user's saved bank accounts (wallet.banking.saved_accounts), as the user
app's /me/bank-accounts: look up whose account it is (the bank answers, with
no transaction open), save it with the PIN, remove it with the PIN, withdraw
to one by its id. Saving, removing and withdrawing run as money requests
(api_app.money: rate limits, an Idempotency-Key, the PIN's refusal answered
so its try counts); the look-up counts against the same rate limits (each is
a call to a bank that names a person)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.banking.models import UserBankAccount
from wallet.banking.saved_accounts import HolderName
from wallet.core.errors import WalletError
from webcommon.bank_calls import outside_transaction
from webcommon.views import view_config

from .. import render
from ..errors import wallet_refused
from ..money import Json, run_amount_request, run_money_request
from ..problems import problem
from ..security import current_caller
from ..validation import json_body


def saved_account(request: Request, account: UserBankAccount) -> Json:
    bank = request.services.banks.get(account.bank_code)
    return {"id": account.id, "bank": account.bank_code,
            "bank_name": bank.name if bank else account.bank_code,
            "account": account.masked, "ifsc": account.ifsc,
            "holder_name": account.holder_name,
            "created_at": render.moment(account.created_at),
            "removed_at": render.moment(account.removed_at)}


def _look_up(request: Request, body: Json) -> HolderName | Response:
    """The bank asked whose account the body names (no transaction open)."""
    saved = request.services.saved_bank_accounts
    try:
        return outside_transaction(request, lambda: saved.look_up(
            body["bank"], body["account_number"], body["repeat_account_number"], body["ifsc"]))
    except WalletError as exc:
        return wallet_refused(exc, request)


def _rate_limited(request: Request) -> Response | None:
    caller = current_caller(request)
    if caller is None or caller.token is None or caller.user is None:
        return problem("unauthorized", "Send a valid token.")
    verdict = request.registry["api.rate_limiter"].money_request(
        caller.token.id, request.remote_addr or "unknown", caller.user.id)
    if verdict.allowed:
        return None
    return problem("rate_limited", "Too many requests; wait and try again.",
                   headers={"Retry-After": str(verdict.retry_after_s)})


@view_config(route_name="bank_accounts", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_saved(request: Request) -> Any:
    saved = request.services.saved_bank_accounts
    return {"items": [saved_account(request, a) for a in saved.saved(request.identity)]}


@view_config(route_name="bank_account_lookup", request_method="POST", openapi=True,
             renderer="json", permission="user")
def look_up(request: Request) -> Any:
    """Whose account this is, as its bank says: shown before the PIN is asked."""
    limited = _rate_limited(request)
    if limited is not None:
        return limited
    found = _look_up(request, json_body(request))
    if isinstance(found, Response):
        return found
    bank = request.services.banks[found.bank_code]
    return {"bank": found.bank_code, "bank_name": bank.name,
            "account": "••••" + found.account_number[-4:], "ifsc": found.ifsc,
            "holder_name": found.name}


@view_config(route_name="bank_accounts", request_method="POST", openapi=True,
             permission="user")
def add_saved(request: Request) -> Response:
    """Save an account with the PIN: the bank asked first (its name is saved),
    once the Idempotency-Key is known to be well formed (no bank call for a
    request refused anyway)."""
    request.services.idempotency_keys.check_key(request.headers.get("Idempotency-Key"))
    found = _look_up(request, json_body(request))
    if isinstance(found, Response):
        return found

    def operation(key: str, body: Json) -> tuple[int, Json]:
        account = request.services.saved_bank_accounts.add(request.identity, found,
                                                           body["pin"])
        return 201, saved_account(request, account)

    return run_money_request(request, operation)


@view_config(route_name="bank_account_remove", request_method="POST", openapi=True,
             permission="user")
def remove_saved(request: Request) -> Response:
    def operation(key: str, body: Json) -> tuple[int, Json]:
        account = request.services.saved_bank_accounts.remove(
            request.identity, int(request.matchdict["bank_account_id"]), body["pin"])
        return 200, saved_account(request, account)

    return run_money_request(request, operation)


@view_config(route_name="bank_account_withdrawals", request_method="POST", openapi=True,
             permission="user")
def withdraw_to_saved(request: Request) -> Response:
    """POST /v1/withdrawals to a saved account: its details are the account's."""
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        services = request.services
        account = services.saved_bank_accounts.get(
            request.identity, int(request.matchdict["bank_account_id"]))
        tx = services.withdrawals.quote_saved(request.identity, account, amount).confirm(
            body["pin"], key)
        found = services.withdrawals.for_user(request.identity, tx.id)
        if found is None:
            raise LookupError(f"withdrawal {tx.id} just made is not found")
        return 202, render.withdrawal(found[0], found[1],
                                      services.withdrawals.attempts(tx.id))

    return run_amount_request(request, operation)
