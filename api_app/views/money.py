from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import Kind, Status
from wallet.core.models import Transaction
from wallet.money.activity import describe
from webcommon.views import view_config

from .. import render
from ..money import Json, run_amount_request
from ..problems import validation_error
from ..validation import json_body

# Money out of the wallet goes through the domain's quotes (wallet.money.quotes),
# as the pages' confirm step does: the amount is read and range-checked there,
# once for both; the API has no confirm page, so it confirms at once.

# Where the bank sends a user back after paying, when the app gives no link of
# its own: the deposit's page in the user app.
DEFAULT_RETURN_PATH = "/deposits/{reference}"
#: An app's link back: http(s) only (banks refuse other schemes), no spaces or
#: controls; use an https app link.
_RETURN_URL = re.compile(r"https?://[!-~]{1,492}", re.ASCII)  # 500 characters in all


def _activity(request: Request, tx: Transaction) -> tuple[int, Json]:
    return 201, render.activity(describe(request.identity, tx))


def held_transfer(request: Request, tx: Transaction,
                  lands_at: dt.datetime | None = None) -> Json:
    """A transfer as its party sees it, with ``lands_at`` while it is held
    for its undo window (wallet.money.transfer_holds; read unless given)."""
    if lands_at is None and tx.kind == Kind.TRANSFER and tx.status == Status.PENDING:
        lands_at = request.services.transfer_holds.lands_at([tx.id]).get(tx.id)
    return {**render.activity(describe(request.identity, tx)),
            "lands_at": render.moment(lands_at)}


@view_config(route_name="transfers", request_method="POST", openapi=True, permission="user")
def send_money(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        quote = request.services.transfers.quote_transfer(
            request.identity, body["to_phone"], amount, body.get("note", ""))
        sent = quote.confirm_sent(body["pin"], key)
        return 201, {**held_transfer(request, sent.transaction, sent.lands_at),
                     "first_payment": sent.payee.first_payment,
                     "payee_verified_name": sent.payee.verified_name}

    return run_amount_request(request, operation)


@view_config(route_name="transfer_undo", request_method="POST", openapi=True,
             renderer="json", permission="user")
def undo_transfer(request: Request) -> Any:
    """Undo a held transfer within its window. No Idempotency-Key: undoing is
    idempotent by nature (a second undo answers the cancelled transfer, moving
    nothing), and it moves no money but the sender's own back."""
    tx = request.services.transfer_holds.undo(request.identity,
                                              int(request.matchdict["transaction_id"]))
    return held_transfer(request, tx)


@view_config(route_name="payments", request_method="POST", openapi=True, permission="user")
def pay_shop(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        quote = request.services.shop_payments.quote_payment(
            request.identity, body["merchant_handle"], amount, body.get("note", ""))
        return _activity(request, quote.confirm(body["pin"], key))

    return run_amount_request(request, operation)


@view_config(route_name="deposits", request_method="POST", openapi=True, permission="user")
def start_deposit(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        deposits = request.services.deposits
        tx = deposits.start(request.identity, body["bank"], amount, key)
        return_url = body.get("return_url") or (
            (request.services.settings.user_app_url or request.application_url)
            + DEFAULT_RETURN_PATH.format(reference=tx.token))
        return 201, render.deposit(tx, deposits.netbanking_url(tx, return_url))

    return_url = json_body(request).get("return_url")
    if return_url is not None and not _RETURN_URL.fullmatch(return_url):
        return validation_error("return_url", "return_url must be a link like "
                                "https://app.example/paid (at most 500 characters).")
    return run_amount_request(request, operation)


@view_config(route_name="deposit", request_method="GET", openapi=True, renderer="json",
             permission="user")
def deposit(request: Request) -> Any:
    tx = request.services.deposits.for_user(request.identity, request.matchdict["reference"])
    if tx is None:
        raise HTTPNotFound()
    return render.deposit(tx)


@view_config(route_name="withdrawals", request_method="POST", openapi=True, permission="user")
def withdraw(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        withdrawals = request.services.withdrawals
        tx = withdrawals.quote(request.identity, body["bank"], body["account_number"],
                               body["ifsc"], amount).confirm(body["pin"], key)
        found = withdrawals.for_user(request.identity, tx.id)
        if found is None or found[1] is None:
            raise LookupError(f"withdrawal {tx.id} just made is not found")
        return 202, render.withdrawal(found[0], found[1], withdrawals.attempts(tx.id))

    return run_amount_request(request, operation)


@view_config(route_name="withdrawal", request_method="GET", openapi=True, renderer="json",
             permission="user")
def withdrawal(request: Request) -> Any:
    withdrawals = request.services.withdrawals
    found = withdrawals.for_user(request.identity, int(request.matchdict["withdrawal_id"]))
    if found is None or found[1] is None:
        raise HTTPNotFound()
    return render.withdrawal(found[0], found[1], withdrawals.attempts(found[0].id))
