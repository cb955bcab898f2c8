"""The steps every request that moves money goes through, in this order:
a live token (a user's, or a shop's key: their budgets and keys are apart),
the rate limits, an ``Idempotency-Key``, the operation -- the domain's, given
the key as its own request key, so a repeat moves no money and returns the
first movement -- and the answer stored with the key, in the same database
transaction as the money.

A request that carries a wallet PIN looks its key up *first* (read with the
user's token, in the same query: api_app.security): a repeat gets
its stored answer and a key used for another request its 409 before any PIN is
compared (a PIN is only ever compared for a request that can run; its try is
counted durably even if the request fails later: wallet.identity.pin_tries). Otherwise
the stored answer is looked up only when it matters, which saves a query on
every first request without a PIN: when storing finds the key taken (a
repeat: answer what was stored, or 409 if the key came with another request,
and the transaction is rolled back either way), or when the operation refused
(a repeat of a request that succeeded then, e.g. after the money was spent
since)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.idempotency import (
    IdempotencyKeys,
    KeyOwner,
    ReplayInstead,
    StoredResponse,
    fingerprint,
)
from wallet.identity.errors import PinRefused
from webcommon import request_services

from .errors import wallet_refused
from .problems import problem, validation_error
from .security import MERCHANT, Caller, current_caller
from .validation import json_body

Json = dict[str, Any]
Operation = Callable[[str, Json], tuple[int, Json]]
REPLAYED_HEADER = "Idempotent-Replayed"


def json_response(status: int, body: Json, *, replayed: bool = False) -> Response:
    response = Response(json_body=body, status=status, charset="utf-8")
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def strict_int(body: Json, name: str) -> int | Response:
    """An integer field as JSON wrote it: 100.0, "100" and true are refused
    (the JSON Schema type "integer" lets 100.0 through)."""
    value = body.get(name)
    if type(value) is not int:
        return validation_error(name, f"{name} must be a whole number of paise, like 12050.")
    return value


AmountOperation = Callable[[str, Json, int], tuple[int, Json]]


def run_amount_request(request: Request, operation: AmountOperation) -> Response:
    """A money request whose body has an ``amount_paise``: refused at once (422)
    unless it is an integer as JSON wrote it; else run as run_money_request."""
    amount = strict_int(json_body(request), "amount_paise")
    if isinstance(amount, Response):
        return amount
    return run_money_request(request, lambda key, body: operation(key, body, amount))


def run_money_request(request: Request, operation: Operation) -> Response:
    caller = current_caller(request)
    if caller is None:  # (the view's permission already said so)
        return problem("unauthorized", "Send a valid token.")
    limiter = request.registry["api.rate_limiter"]
    ip = request.remote_addr or "unknown"
    if caller.kind == MERCHANT and caller.merchant is not None:
        # A shop's keys share its budget and its Idempotency-Keys.
        verdict = limiter.merchant_request(caller.merchant.id, ip)
        owner = KeyOwner.merchant(caller.merchant.id)
    elif caller.token is not None and caller.user is not None:
        verdict = limiter.money_request(caller.token.id, ip, caller.user.id)
        owner = KeyOwner.user(caller.user.id)
    else:
        return problem("unauthorized", "Send a valid token.")
    if not verdict.allowed:
        return problem("rate_limited", "Too many money requests; wait and try again.",
                       headers={"Retry-After": str(verdict.retry_after_s)})
    keys = request_services(request).idempotency_keys
    key = keys.check_key(request.headers.get("Idempotency-Key"))
    body: Json = json_body(request)
    # The PIN is no part of what the key remembers: never stored, even hashed
    # (4 digits behind a plain hash are no secret), and a retry may correct it.
    request_sha256 = fingerprint(request.method, request.path,
                                 {name: value for name, value in body.items() if name != "pin"})
    if "pin" in body:
        stored = _stored_before_pin(keys, caller, owner, key, request_sha256)
        if stored is not None:
            return json_response(stored.status, stored.body, replayed=True)
    try:
        status, payload = operation(key, body)
    except WalletError as exc:
        # Refused now: was it a repeat of a request that succeeded then (or a
        # twin's, stored meanwhile)? (If the key came with another request,
        # IdempotencyKeyReused says so.)
        stored = keys.replay(owner, key, request_sha256)
        if stored is not None:
            return json_response(stored.status, stored.body, replayed=True)
        if isinstance(exc, PinRefused):
            # Answered, not raised (the try is counted either way).
            return wallet_refused(exc, request)
        raise
    try:
        keys.store(owner, key, request_sha256, StoredResponse(status, payload))
    except ReplayInstead as first:  # a repeat, or a twin that committed first
        request.tm.doom()  # whatever this run did is rolled back
        return json_response(first.response.status, first.response.body, replayed=True)
    return json_response(status, payload)


def _stored_before_pin(keys: IdempotencyKeys, caller: Caller, owner: KeyOwner, key: str,
                       request_sha256: str) -> StoredResponse | None:
    """A PIN request's key, looked up before its PIN is compared: the stored
    answer of a repeat, or IdempotencyKeyReused (a 409) for a key that came
    with another request. A user's token read it already (api_app.security):
    no query of its own."""
    if caller.idempotency_key == key and caller.kind != MERCHANT:
        return keys.answer(caller.stored, request_sha256)
    return keys.replay(owner, key, request_sha256)
